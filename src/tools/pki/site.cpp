#include "tools/pki/site.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/text.h"

namespace exphone::pki {

namespace fs = std::filesystem;

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

Status refuse_existing(const std::vector<std::string>& paths, Overwrite mode) {
  if (mode == Overwrite::kForce) return Ok{};
  for (const auto& p : paths)
    if (exists(p)) return make_error("pki-exists", p + " exists; not overwritten (use --force to replace it)");
  return Ok{};
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// RFC 1123 host name: LDH labels of 1..63, 253 at most. Wildcards are refused: RFC 5922
// section 7.2 says a SIP client never matches them.
bool is_dns_name(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t label = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (label == 0 || s[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (!(text::is_alnum(c) || c == '-')) return false;
    if (c == '-' && label == 0) return false;
    if (++label > 63) return false;
  }
  return label > 0 && s.back() != '-';
}

std::optional<KeyType> key_type_of(EVP_PKEY* k) {
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) return KeyType::kEcP256;
  if (EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA) return EVP_PKEY_get_bits(k) >= 3072 ? KeyType::kRsa3072 : KeyType::kRsa2048;
  return std::nullopt;
}

Result<Issued> load_pair(const std::string& cert_path, const std::string& key_path) {
  auto certs = load_certs(cert_path);
  if (!certs) return certs.error();
  auto key = load_key(key_path);
  if (!key) return key.error();
  if (!key_matches(certs->front().get(), key->get()))
    return make_error("pki-mismatch", key_path + " is not the key of " + cert_path);
  return Issued{*key, certs->front()};
}

Result<IssuedFiles> write_leaf(const Site& site, const Issued& leaf, const std::string& base, Overwrite mode,
                               bool fullchain) {
  IssuedFiles f{base + ".crt", base + ".key", fullchain ? base + ".fullchain.pem" : "", inspect(leaf.cert.get())};
  std::vector<std::string> targets{f.cert, f.key};
  if (fullchain) targets.push_back(f.fullchain);
  if (Status s = refuse_existing(targets, mode); !s) return s.error();
  if (Status s = write_pem(leaf, f.cert, f.key, Overwrite::kForce); !s) return s.error();
  if (fullchain)
    if (Status s = write_file(f.fullchain, cert_pem(leaf.cert.get()) + site.intermediate_pem, 0644, Overwrite::kForce); !s)
      return s.error();
  return f;
}

}  // namespace

Status make_dirs(const std::string& path) {
  std::error_code ec;
  fs::path p(path);
  fs::path cur;
  for (const auto& part : p) {
    cur /= part;
    if (cur.empty() || fs::is_directory(cur, ec)) continue;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error("pki-io", cur.string() + ": " + std::strerror(errno));
  }
  return Ok{};
}

Result<std::vector<std::string>> init_site(const InitOptions& o) {
  if (o.dir.empty()) return make_error("pki-usage", "--dir is required");
  if (o.name.empty()) return make_error("pki-bad-name", "--name must not be empty");
  SitePaths p{o.dir};
  std::vector<std::string> targets{p.root_cert(), p.root_key(), p.chain()};
  if (o.intermediate) targets.insert(targets.end(), {p.intermediate_cert(), p.intermediate_key()});
  // a site that has a root must never get a second one silently: its phones trust the old one
  if (Status s = refuse_existing({p.root_cert(), p.root_key(), p.intermediate_cert(), p.intermediate_key()}, o.overwrite); !s)
    return s.error();
  if (Status s = make_dirs(p.ca_dir()); !s) return s.error();
  CaSpec root_spec{o.name, "", o.root_days, o.intermediate ? 1 : 0, o.key};
  auto root = make_ca(root_spec);
  if (!root) return root.error();
  std::string chain = cert_pem(root->cert.get());
  if (Status s = write_pem(*root, p.root_cert(), p.root_key(), o.overwrite); !s) return s.error();
  if (o.intermediate) {
    CaSpec spec{o.name + " Issuing CA 1", "", o.intermediate_days, 0, o.key};
    if (spec.common_name.size() > 64) spec.common_name = "Issuing CA 1";
    auto inter = make_ca(spec, &*root);
    if (!inter) return inter.error();
    if (Status s = write_pem(*inter, p.intermediate_cert(), p.intermediate_key(), o.overwrite); !s) return s.error();
    chain += cert_pem(inter->cert.get());
  } else if (o.overwrite == Overwrite::kForce) {
    // a re-initialised site without an intermediate must not keep the old one as its signer
    std::error_code ec;
    fs::remove(p.intermediate_cert(), ec);
    fs::remove(p.intermediate_key(), ec);
  }
  if (Status s = write_file(p.chain(), chain, 0644, Overwrite::kForce); !s) return s.error();
  return targets;
}

Result<Site> open_site(const std::string& dir) {
  Site site;
  site.paths = SitePaths{dir};
  const SitePaths& p = site.paths;
  if (!exists(p.root_cert()))
    return make_error("pki-no-site", dir + " has no site CA (" + p.root_cert() + "): run `exphone pki init --dir " + dir + "` first");
  auto root = load_certs(p.root_cert());
  if (!root) return root.error();
  site.root = root->front();
  site.chain_pem = cert_pem(site.root.get());
  if (exists(p.intermediate_cert())) {
    auto inter = load_pair(p.intermediate_cert(), p.intermediate_key());
    if (!inter) return inter.error();
    site.intermediate = *inter;
    site.signer = *inter;
    site.intermediate_pem = cert_pem(inter->cert.get());
    site.chain_pem += site.intermediate_pem;
  } else {
    auto pair = load_pair(p.root_cert(), p.root_key());
    if (!pair) return pair.error();
    site.signer = *pair;
  }
  if (auto k = key_type_of(site.signer.key.get())) site.key = *k;
  return site;
}

Result<LeafSpec> server_spec(const ServerOptions& o) {
  if (o.hosts.empty()) return make_error("pki-usage", "--host is required (the address the phones use for the SIP server)");
  LeafSpec spec;
  spec.organization = "";
  spec.server = true;
  spec.client = true;  // a SIP server also opens TLS connections (to other servers, to phones' listeners)
  spec.days = o.days;
  spec.common_name = o.hosts.front();
  for (const auto& h : o.hosts) {
    if (is_ip(h)) spec.ips.push_back(h);
    else if (is_dns_name(h)) spec.dns.push_back(text::to_lower(h));
    else return make_error("pki-bad-name", "--host '" + h + "' is neither a DNS name nor an IP address (wildcards are not allowed: RFC 5922 7.2)");
  }
  for (const auto& ip : o.ips) {
    if (!is_ip(ip)) return make_error("pki-bad-name", "--ip '" + ip + "' is not an IP address");
    if (std::find(spec.ips.begin(), spec.ips.end(), ip) == spec.ips.end()) spec.ips.push_back(ip);
  }
  return spec;
}

Result<IssuedFiles> issue_server(const Site& site, const ServerOptions& o) {
  auto spec = server_spec(o);
  if (!spec) return spec.error();
  spec->key = o.key.value_or(site.key);
  std::string file = text::to_lower(o.hosts.front());
  if (Status s = make_dirs(site.paths.servers_dir()); !s) return s.error();
  std::string base = site.paths.servers_dir() + "/" + file;
  if (Status s = refuse_existing({base + ".crt", base + ".key"}, o.overwrite); !s) return s.error();
  auto leaf = make_leaf(*spec, site.signer);
  if (!leaf) return leaf.error();
  return write_leaf(site, *leaf, base, o.overwrite, true);
}

Result<DeviceId> parse_device_id(const std::string& raw, std::optional<long> pen) {
  std::string id(text::trim(raw));
  if (id.empty()) return make_error("pki-bad-id", "the device id is empty");
  // MAC-48 as 00:1A:2B:3C:4D:5E, 00-1A-..., 001A.2B3C.4D5E or 001A2B3C4D5E
  std::string hex;
  bool mac_chars = true;
  for (char c : id) {
    if (text::is_hex(c)) hex += text::to_lower(c);
    else if (c != ':' && c != '-' && c != '.') mac_chars = false;
  }
  DeviceId d;
  if (mac_chars && hex.size() == 12 && id.size() <= 17) {
    d.mac = true;
    for (std::size_t i = 0; i < 12; i += 2) d.cn += (i ? ":" : "") + hex.substr(i, 2);
    d.file = hex;
    d.urn = "urn:dev:mac:" + hex;  // RFC 9039 section 4.1
    return d;
  }
  if (id.size() > 64) return make_error("pki-bad-id", "device id '" + id + "' is longer than 64 characters");
  for (char c : id)
    if (!(text::is_alnum(c) || c == '.' || c == '_' || c == '-'))
      return make_error("pki-bad-id", "device id '" + id + "': only letters, digits, '.', '_' and '-' are allowed (or a MAC address)");
  if (!pen)
    return make_error("pki-bad-id", "device id '" + id + "' is not a MAC address: give the manufacturer's IANA enterprise "
                                    "number with --pen N for its RFC 9039 urn:dev:os URI");
  if (*pen < 0) return make_error("pki-bad-id", "--pen must be a non-negative number");
  d.cn = id;
  d.file = id;
  d.urn = "urn:dev:os:" + std::to_string(*pen) + "-" + id;  // RFC 9039 section 4.4
  return d;
}

Result<LeafSpec> device_spec(const DeviceOptions& o, KeyType site_key) {
  auto id = parse_device_id(o.id, o.pen);
  if (!id) return id.error();
  LeafSpec spec;
  spec.organization = "";
  spec.common_name = id->cn;
  spec.uris = {id->urn};
  spec.client = true;              // RFC 5280 4.2.1.12 id-kp-clientAuth: mutual TLS to the PBX
  spec.server = o.server_auth;
  spec.days = o.days;
  spec.key = o.key.value_or(site_key);
  return spec;
}

Result<IssuedFiles> issue_device(const Site& site, const DeviceOptions& o) {
  auto spec = device_spec(o, site.key);
  if (!spec) return spec.error();
  auto id = parse_device_id(o.id, o.pen);
  if (Status s = make_dirs(site.paths.devices_dir()); !s) return s.error();
  std::string base = site.paths.devices_dir() + "/" + id->file;
  // one certificate per device: a second one for the same id only with --force
  if (Status s = refuse_existing({base + ".crt", base + ".key"}, o.overwrite); !s) return s.error();
  auto leaf = make_leaf(*spec, site.signer);
  if (!leaf) return leaf.error();
  return write_leaf(site, *leaf, base, o.overwrite, false);
}

Result<std::vector<ListEntry>> list_site(const std::string& dir, std::time_t now, long warn_days) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error("pki-no-site", dir + " is not a folder");
  std::vector<ListEntry> out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().extension() != ".crt") continue;
    auto certs = load_certs(it->path().string());
    if (!certs) return certs.error();
    ListEntry e;
    e.path = it->path().string();
    e.info = inspect(certs->front().get());
    e.days_left = days_until(e.info.not_after, now);
    if (now > e.info.not_after) e.status = "expired";
    else if (now < e.info.not_before) e.status = "not-yet-valid";
    else if (e.days_left < warn_days) e.status = "expiring";
    else e.status = "ok";
    out.push_back(std::move(e));
  }
  if (ec) return make_error("pki-io", dir + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const ListEntry& a, const ListEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace exphone::pki
