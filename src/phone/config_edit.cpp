#include "phone/config_edit.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/durable_file.h"
#include "phone/toml_patch.h"
#include "net/tls/tls_context.h"
#include "ua/registration.h"

namespace exphone::phone {

namespace fs = std::filesystem;

namespace {

Error edit_error(const std::string& msg) { return make_error("config-edit", msg); }

// The table `name` of the root, created when missing; nullptr when `name` is not a table.
toml::table* section(toml::table& root, std::string_view name) {
  if (!root.contains(name)) root.insert(name, toml::table{});
  return root.get_as<toml::table>(name);
}

void set_or_erase(toml::table& t, std::string_view key, const std::string& value) {
  if (value.empty()) t.erase(key);
  else t.insert_or_assign(key, value);
}

// The config's folder-relative spelling of a file in it, else the path as given.
std::string relative_to(const std::string& base_dir, const std::string& file) {
  std::error_code ec;
  fs::path rel = fs::relative(file, base_dir, ec);
  if (!ec && !rel.empty() && rel.begin()->string() != "..") return rel.string();
  return file;
}

// Loads, and can start: the TLS contexts the daemon will build from it build (a TLS account without
// trust anchors loads, but the daemon would refuse to start, and the page would be gone with it).
Status load_and_check(const std::string& text, const ConfigDocument& doc) {
  auto c = parse_config(text, doc.base_dir, doc.path);
  if (!c) return c.error();
  net::tls::TlsClientConfig tls = c->transport.tls;
  tls.keylog_file.clear();  // no files created by a check
  if (needs_tls_client(*c)) {
    if (auto ctx = net::tls::make_client_context(tls); !ctx) return ctx.error();
  }
  if (!c->tls_listen.empty()) {
    if (auto ctx = net::tls::make_server_context(tls, c->require_client_cert); !ctx) return ctx.error();
  }
  return Ok{};
}

}  // namespace

bool needs_tls_client(const Config& c) {
  for (const auto& a : c.accounts) {
    auto r = ua::registrar_address(a);
    if (r && net::uses_tls(r->protocol)) return true;
  }
  return false;
}

Result<ConfigDocument> read_config_document(const std::string& path) {
  ConfigDocument d;
  d.path = path;
  std::error_code ec;
  fs::path real = fs::canonical(path, ec);
  if (ec) return make_error("config-io", path + ": " + ec.message());
  d.real_path = real.string();
  d.base_dir = real.parent_path().string();
  std::ifstream f(d.real_path, std::ios::binary);
  if (!f) return make_error("config-io", "cannot read " + d.real_path);
  std::ostringstream s;
  s << f.rdbuf();
  d.text = s.str();
  return d;
}

Result<std::string> edit_config(const ConfigDocument& doc, const TomlChange& change) {
  toml::table root;
  try {
    root = toml::parse(doc.text, doc.path);
  } catch (const toml::parse_error& e) {
    return make_error("config", doc.path + ": " + std::string(e.description()));
  }
  const toml::table before = root;
  if (Status s = change(root); !s) return s.error();
  // the file's own lines with only the changed keys rewritten (comments and layout kept), else
  // the whole document as toml++ writes it
  std::string text;
  if (auto patched = patch_toml_text(doc.text, before, root)) {
    text = std::move(*patched);
  } else {
    std::ostringstream out;
    out << "# Written by the exphone web admin page; the previous file is " << fs::path(doc.real_path).filename().string()
        << ".prev\n"
        << root << "\n";
    text = out.str();
  }
  if (Status s = load_and_check(text, doc); !s) return s.error();
  return text;
}

Status save_config(const ConfigDocument& doc, const std::string& text) {
  if (Status s = load_and_check(text, doc); !s) return s;
  if (Status s = write_file_atomic(doc.real_path + ".prev", doc.text, 0600, "config-io"); !s) return s;
  return write_file_atomic(doc.real_path, text, 0600, "config-io");
}

TomlChange account_change(const AccountChange& c) {
  return [c](toml::table& root) -> Status {
    toml::array* accounts = root.get_as<toml::array>("account");
    if (accounts == nullptr || c.index >= accounts->size())
      return edit_error("no account " + std::to_string(c.index) + " in the config");
    toml::table* a = accounts->get_as<toml::table>(c.index);
    if (a == nullptr) return edit_error("account " + std::to_string(c.index) + " is not a table");
    set_or_erase(*a, "registrar", c.registrar);
    set_or_erase(*a, "domain", c.domain);
    set_or_erase(*a, "user", c.user);
    set_or_erase(*a, "auth_user", c.auth_user);
    set_or_erase(*a, "transport", c.transport);
    if (c.password) set_or_erase(*a, "password", *c.password);
    set_or_erase(*a, "srtp", c.srtp);
    set_or_erase(*a, "key_exchange", c.key_exchange);
    return Ok{};
  };
}

TomlChange add_ca_file(const std::string& file) {
  return [file](toml::table& root) -> Status {
    toml::table* tls = section(root, "tls");
    if (tls == nullptr) return edit_error("[tls] is not a table");
    if (!tls->contains("ca_files")) tls->insert("ca_files", toml::array{});
    toml::array* list = tls->get_as<toml::array>("ca_files");
    if (list == nullptr) return edit_error("tls.ca_files is not an array");
    for (const auto& item : *list)
      if (item.value<std::string>() == file) return Ok{};  // already trusted
    list->push_back(file);
    return Ok{};
  };
}

TomlChange remove_ca_file(const std::string& file) {
  return [file](toml::table& root) -> Status {
    toml::table* tls = root.get_as<toml::table>("tls");
    toml::array* list = tls ? tls->get_as<toml::array>("ca_files") : nullptr;
    if (list == nullptr) return edit_error("no tls.ca_files in the config");
    for (auto it = list->begin(); it != list->end(); ++it) {
      if (it->value<std::string>() == file) {
        list->erase(it);
        return Ok{};
      }
    }
    return edit_error(file + " is not in tls.ca_files");
  };
}

TomlChange set_device_certificate(const std::string& cert_file, const std::string& key_file) {
  return [cert_file, key_file](toml::table& root) -> Status {
    toml::table* tls = section(root, "tls");
    if (tls == nullptr) return edit_error("[tls] is not a table");
    tls->insert_or_assign("client_cert", cert_file);
    tls->insert_or_assign("client_key", key_file);
    tls->erase("client_key_passphrase");  // keys written by the phone are not encrypted (mode 0600)
    return Ok{};
  };
}

TomlChange set_key_export(const std::string& tls_keylog_file, const std::string& srtp_keylog_file) {
  return [tls_keylog_file, srtp_keylog_file](toml::table& root) -> Status {
    toml::table* diag = section(root, "diagnostics");
    if (diag == nullptr) return edit_error("[diagnostics] is not a table");
    set_or_erase(*diag, "tls_keylog_file", tls_keylog_file);
    set_or_erase(*diag, "srtp_keylog_file", srtp_keylog_file);
    if (toml::table* tls = root.get_as<toml::table>("tls")) tls->erase("keylog_file");  // one switch
    if (diag->empty()) root.erase("diagnostics");
    return Ok{};
  };
}

std::string config_relative(const ConfigDocument& doc, const std::string& file) { return relative_to(doc.base_dir, file); }

}  // namespace exphone::phone
