#include "tools/pki/fleet.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>

#include "core/text.h"
#include "phone/config.h"

namespace exphone::pki {

namespace {

Error csv_error(int line, const std::string& msg) { return make_error("pki-csv", "line " + std::to_string(line) + ": " + msg); }

bool blank(const CsvRow& r) {
  for (const auto& f : r)
    if (!text::trim(f).empty()) return false;
  return true;
}

}  // namespace

Result<std::vector<CsvRow>> parse_csv(std::string_view s) {
  // RFC 4180 section 2, tolerant of LF line ends and a UTF-8 byte order mark
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  bool quoted = false, was_quoted = false;
  int line = 1, row_line = 1;
  auto end_field = [&] {
    row.push_back(was_quoted ? field : std::string(text::trim(field)));
    field.clear();
    was_quoted = false;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < s.size() && s[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!text::trim(field).empty()) return csv_error(line, "a quote inside an unquoted field");
      field.clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      end_field();
      if (!blank(row)) rows.push_back(std::move(row));
      row.clear();
      row_line = ++line;
    } else {
      if (was_quoted && !text::is_ws(c)) return csv_error(line, "text after a closing quote");
      if (!was_quoted) field += c;
    }
  }
  if (quoted) return csv_error(row_line, "a quoted field is not closed");
  end_field();
  if (!blank(row)) rows.push_back(std::move(row));
  return rows;
}

std::string toml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out;
}

Result<ConfigTemplate> ConfigTemplate::parse(std::string_view t) {
  ConfigTemplate tpl;
  int line = 1;
  std::size_t i = 0;
  while (i < t.size()) {
    std::size_t open = t.find("{{", i);
    std::string_view lit = t.substr(i, open == std::string_view::npos ? std::string_view::npos : open - i);
    if (!lit.empty()) tpl.parts_.push_back({false, std::string(lit), line});
    for (char c : lit) line += c == '\n';
    if (open == std::string_view::npos) break;
    std::size_t close = t.find("}}", open + 2);
    if (close == std::string_view::npos)
      return make_error("pki-template", "line " + std::to_string(line) + ": '{{' without '}}'");
    std::string name(text::trim(t.substr(open + 2, close - open - 2)));
    if (name.empty() || name.find_first_of("{}\n") != std::string::npos)
      return make_error("pki-template", "line " + std::to_string(line) + ": bad placeholder '{{" + name + "}}'");
    tpl.parts_.push_back({true, name, line});
    i = close + 2;
  }
  return tpl;
}

Result<std::string> ConfigTemplate::render(const std::map<std::string, std::string>& vars) const {
  std::string out;
  for (const auto& p : parts_) {
    if (!p.placeholder) {
      out += p.text;
      continue;
    }
    auto it = vars.find(p.text);
    if (it == vars.end())
      return make_error("pki-template", "line " + std::to_string(p.line) + ": {{" + p.text + "}} is neither a CSV column nor a built-in");
    out += toml_escape(it->second);
  }
  return out;
}

std::vector<std::string> ConfigTemplate::names() const {
  std::vector<std::string> out;
  for (const auto& p : parts_)
    if (p.placeholder) out.push_back(p.text);
  return out;
}

Result<FleetResult> issue_fleet(const FleetOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.out.empty()) return make_error("pki-usage", "--out is required");
  auto site = open_site(o.dir);
  if (!site) return site.error();
  auto rows = parse_csv(o.devices);
  if (!rows) return make_error("pki-csv", o.devices_name + ": " + rows.error().message);
  if (rows->size() < 2) return make_error("pki-csv", o.devices_name + ": needs a header row and at least one device");
  auto tpl = ConfigTemplate::parse(o.config_template);
  if (!tpl) return tpl.error();

  const CsvRow& header = rows->front();
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) {
    std::string name = text::to_lower(header[i]);
    if (name == "cert_file" || name == "key_file" || name == "ca_file")
      return make_error("pki-csv", o.devices_name + ": column '" + name + "' clashes with a built-in placeholder");
    if (!column.emplace(name, i).second) return make_error("pki-csv", o.devices_name + ": column '" + name + "' appears twice");
  }
  std::size_t id_col = column.count("id") ? column["id"] : column.count("mac") ? column["mac"] : header.size();
  if (id_col == header.size()) return make_error("pki-csv", o.devices_name + ": no 'id' (or 'mac') column in the header");

  // Pass 1: validate every row, render every config. Nothing is written unless all are good.
  struct Planned {
    DeviceOptions opts;
    DeviceId id;
    LeafSpec spec;
    std::string config;
    std::string bundle;
  };
  std::vector<Planned> plan;
  std::set<std::string> seen;
  for (std::size_t r = 1; r < rows->size(); ++r) {
    const CsvRow& row = (*rows)[r];
    std::string where = o.devices_name + " row " + std::to_string(r + 1);
    if (row.size() != header.size())
      return make_error("pki-csv", where + ": " + std::to_string(row.size()) + " fields, the header has " + std::to_string(header.size()));
    Planned p;
    p.opts.id = row[id_col];
    p.opts.pen = o.pen;
    p.opts.key = o.key;
    p.opts.days = o.days;
    auto id = parse_device_id(p.opts.id, o.pen);
    if (!id) return make_error(id.error().code, where + ": " + id.error().message);
    p.id = *id;
    if (!seen.insert(p.id.file).second) return make_error("pki-duplicate", where + ": device " + p.id.cn + " appears twice");
    auto spec = device_spec(p.opts, site->key);
    if (!spec) return make_error(spec.error().code, where + ": " + spec.error().message);
    p.spec = *spec;
    std::map<std::string, std::string> vars;
    for (const auto& [name, i] : column) vars[name] = row[i];
    vars["id"] = p.id.cn;
    vars["cert_file"] = "device.crt";
    vars["key_file"] = "device.key";
    vars["ca_file"] = "ca.pem";
    auto rendered = tpl->render(vars);
    if (!rendered) return make_error("pki-template", where + ": " + rendered.error().message);
    p.bundle = o.out + "/" + p.id.file;
    auto check = phone::parse_config(*rendered, p.bundle, p.bundle + "/exphone.toml");
    if (!check) return make_error("pki-template", where + ": the rendered config is not valid: " + check.error().message);
    p.config = std::move(*rendered);
    if (o.overwrite == Overwrite::kNever) {
      std::string record = site->paths.devices_dir() + "/" + p.id.file + ".crt";
      for (const auto& f : {record, p.bundle + "/device.key", p.bundle + "/exphone.toml"}) {
        std::error_code ec;
        if (std::filesystem::exists(f, ec))
          return make_error("pki-exists", where + ": " + f + " exists; not overwritten (use --force to re-issue)");
      }
    }
    plan.push_back(std::move(p));
  }

  // Pass 2: issue and write.
  if (Status s = make_dirs(site->paths.devices_dir()); !s) return s.error();
  FleetResult result;
  for (const auto& p : plan) {
    auto leaf = make_leaf(p.spec, site->signer);
    if (!leaf) return leaf.error();
    if (Status s = make_dirs(p.bundle); !s) return s.error();
    std::string cert = cert_pem(leaf->cert.get());
    for (auto [path, data, mode] : {std::tuple{p.bundle + "/device.key", key_pem(leaf->key.get()), 0600u},
                                    {p.bundle + "/device.crt", cert, 0644u},
                                    {p.bundle + "/ca.pem", site->chain_pem, 0644u},
                                    {p.bundle + "/exphone.toml", p.config, 0600u},
                                    {site->paths.devices_dir() + "/" + p.id.file + ".crt", cert, 0644u}})
      if (Status s = write_file(path, data, mode, Overwrite::kForce); !s) return s.error();
    CertInfo info = inspect(leaf->cert.get());
    result.bundles.push_back({p.id.cn, p.bundle, info.serial_hex, info.not_after});
  }
  result.elapsed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace exphone::pki
