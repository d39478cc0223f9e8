#include "web/admin.h"

#include <openssl/pem.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <openssl/err.h>

#include <cctype>
#include <ctime>
#include <filesystem>
#include <sys/types.h>
#include <unistd.h>

#include <system_error>
#include <vector>

#include "core/durable_file.h"
#include "net/tls/tls_inspect.h"
#include "tools/audit/audit.h"
#include "tools/pki/csr.h"
#include "tools/pki/issuer.h"

namespace exphone::web {

using json = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

Status edit_and_save(const std::string& config_path, const phone::TomlChange& change) {
  auto doc = phone::read_config_document(config_path);
  if (!doc) return doc.error();
  auto text = phone::edit_config(*doc, change);
  if (!text) return text.error();
  return phone::save_config(*doc, *text);
}

json describe(X509* cert) {
  auto i = net::tls::describe_certificate(cert);
  return {{"subject", i.subject},
          {"issuer", i.issuer},
          {"not_before", net::tls::format_utc(i.not_before)},
          {"not_after", net::tls::format_utc(i.not_after)},
          {"days_left", pki::days_until(i.not_after, std::time(nullptr))},
          {"sha256_fingerprint", i.sha256_fingerprint},
          {"is_ca", i.is_ca},
          {"self_signed", i.self_signed}};
}

json describe_file(const std::string& shown_as, const std::string& path) {
  json f = {{"file", shown_as}};
  auto certs = pki::load_certs(path);
  if (!certs) {
    f["error"] = {{"code", certs.error().code}, {"message", certs.error().message}};
    return f;
  }
  f["certificates"] = json::array();
  for (const auto& c : *certs) f["certificates"].push_back(describe(c.get()));
  return f;
}

}  // namespace

json accounts_json(const phone::Config& c) {
  // srtp / key_exchange at the top: [phone]'s, the device default; in an account: its own
  // setting ("" = the default) and the policy its calls follow (effective_*)
  json j = {{"srtp", ua::to_string(c.media.srtp)}, {"key_exchange", ua::to_string(c.media.key_exchange)}, {"accounts", json::array()}};
  for (std::size_t i = 0; i < c.accounts.size(); ++i) {
    const auto& a = c.accounts[i];
    const phone::AccountMedia m = i < c.account_media.size() ? c.account_media[i] : phone::AccountMedia{};
    const ua::MediaPolicy effective = c.media_for(i);
    j["accounts"].push_back({{"index", i},
                             {"name", a.name},
                             {"registrar", a.registrar},
                             {"domain", a.domain},
                             {"user", a.user},
                             {"auth_user", a.auth_user},
                             {"transport", a.transport ? std::string(net::to_string(*a.transport)) : std::string()},
                             {"password_set", !a.password.empty()},
                             {"srtp", m.srtp ? ua::to_string(*m.srtp) : ""},
                             {"key_exchange", m.key_exchange ? ua::to_string(*m.key_exchange) : ""},
                             {"effective_srtp", ua::to_string(effective.srtp)},
                             {"effective_key_exchange", ua::to_string(effective.key_exchange)}});
  }
  return j;
}

Status apply_account(const std::string& config_path, const phone::AccountChange& change) {
  return edit_and_save(config_path, phone::account_change(change));
}

Result<std::vector<pki::CertPtr>> parse_ca_upload(std::string_view bytes) {
  if (bytes.empty()) return make_error("web-not-certificate", "the upload is empty");
  std::vector<pki::CertPtr> certs;
  BIO* bio = BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size()));
  if (bio == nullptr) return make_error("web-not-certificate", "out of memory");
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.emplace_back(x, X509_free);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(bytes.size()));
    if (x != nullptr) {
      certs.emplace_back(x, X509_free);
      if (p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) certs.clear();  // trailing bytes
    }
  }
  BIO_free(bio);
  ERR_clear_error();
  if (certs.empty()) return make_error("web-not-certificate", "not a certificate (PEM or DER expected)");
  if (certs.size() > 8) return make_error("web-not-certificate", "more than 8 certificates in one upload");
  for (const auto& c : certs) {
    auto info = net::tls::describe_certificate(c.get());
    if (!info.is_ca)
      return make_error("web-not-ca", "'" + info.subject +
                                          "' is not a CA certificate (no basicConstraints cA=TRUE): upload the CA that "
                                          "issued the server's certificate, not the server's own");
  }
  return certs;
}

namespace {

constexpr const char* kCsrKey = "device-csr.key";

std::string fingerprint_id(X509* cert) {
  std::string id;
  for (char ch : net::tls::describe_certificate(cert).sha256_fingerprint)
    if (ch != ':' && id.size() < 16) id += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return id;
}

Result<pki::KeyPtr> parse_key(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return make_error("web-bad-key", "out of memory");
  // no passphrase callback: an encrypted key fails instead of prompting
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  BIO_free(bio);
  ERR_clear_error();
  if (k == nullptr) return make_error("web-bad-key", "not an unencrypted PEM private key");
  return pki::KeyPtr(k, EVP_PKEY_free);
}

// The files a change writes beside the config before it is saved (the saved config is checked
// with them in place). Those that did not exist before go again unless the change was saved:
// a refused change leaves the folder as it was.
class NewFiles {
 public:
  NewFiles() = default;
  NewFiles(const NewFiles&) = delete;
  NewFiles& operator=(const NewFiles&) = delete;
  ~NewFiles() {
    for (const auto& p : written_) ::unlink(p.c_str());
  }
  Status write(const std::string& path, const std::string& text, mode_t mode) {
    std::error_code ec;
    const bool existed = fs::exists(path, ec);
    if (Status s = write_file_atomic(path, text, mode, "config-io"); !s) return s;
    if (!existed) written_.push_back(path);
    return Ok{};
  }
  void keep() { written_.clear(); }

 private:
  std::vector<std::string> written_;
};

}  // namespace

Result<json> add_trusted_ca(const std::string& config_path, std::string_view bytes) {
  auto certs = parse_ca_upload(bytes);
  if (!certs) return certs.error();
  auto doc = phone::read_config_document(config_path);
  if (!doc) return doc.error();
  json d = describe(certs->front().get());
  const std::string name = "trusted-ca-" + fingerprint_id(certs->front().get()) + ".pem";
  const std::string path = (fs::path(doc->base_dir) / name).string();
  std::string pem;
  for (const auto& c : *certs) pem += pki::cert_pem(c.get());
  NewFiles files;
  if (Status s = files.write(path, pem, 0644); !s) return s.error();
  auto text = phone::edit_config(*doc, phone::add_ca_file(name));
  if (!text) return text.error();
  if (Status s = phone::save_config(*doc, *text); !s) return s.error();
  files.keep();
  d["file"] = name;
  d["certificates"] = certs->size();
  return d;
}

Status remove_trusted_ca(const std::string& config_path, const std::string& file) {
  return edit_and_save(config_path, phone::remove_ca_file(file));
}

json certificates_json(const std::string& config_path) {
  json j = {{"trusted_cas", json::array()}};
  auto doc = phone::read_config_document(config_path);
  if (!doc) return j;
  auto config = phone::parse_config(doc->text, doc->base_dir, doc->path);
  if (!config) return j;
  const auto& tls = config->transport.tls;
  for (const auto& path : tls.ca_files) j["trusted_cas"].push_back(describe_file(phone::config_relative(*doc, path), path));
  if (!tls.client_cert.empty()) j["device_certificate"] = describe_file(phone::config_relative(*doc, tls.client_cert), tls.client_cert);
  j["key_export"] = {{"tls_keylog_file", phone::config_relative(*doc, tls.keylog_file)},
                     {"srtp_keylog_file", phone::config_relative(*doc, config->srtp_keylog_file)}};
  return j;
}

Result<std::string> generate_csr(const std::string& config_path, const std::string& common_name) {
  auto doc = phone::read_config_document(config_path);
  if (!doc) return doc.error();
  auto key = pki::generate_key(pki::KeyType::kEcP256);
  if (!key) return key.error();
  pki::CsrSpec spec;
  spec.common_name = common_name;
  auto csr = pki::make_csr_pem(key->get(), spec);
  if (!csr) return csr.error();
  if (Status s = write_file_atomic((fs::path(doc->base_dir) / kCsrKey).string(), pki::key_pem(key->get()), 0600, "config-io"); !s)
    return s.error();
  return *csr;
}

Result<json> install_device_certificate(const std::string& config_path, std::string_view cert_pem, std::string_view key_pem) {
  auto doc = phone::read_config_document(config_path);
  if (!doc) return doc.error();
  std::vector<pki::CertPtr> certs;
  if (BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()))) {
    while (certs.size() < 9)
      if (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) certs.emplace_back(x, X509_free);
      else break;
    BIO_free(bio);
    ERR_clear_error();
  }
  if (certs.empty()) return make_error("web-not-certificate", "no PEM certificate in the upload");
  if (certs.size() > 8) return make_error("web-not-certificate", "more than 8 certificates in one upload");
  if (net::tls::describe_certificate(certs[0].get()).is_ca)
    return make_error("web-not-certificate", "the first certificate is a CA: upload the device's own certificate first");
  const std::string csr_key_path = (fs::path(doc->base_dir) / kCsrKey).string();
  pki::KeyPtr key;
  if (!key_pem.empty()) {
    auto k = parse_key(key_pem);
    if (!k) return k.error();
    key = *k;
  } else {
    auto k = pki::load_key(csr_key_path);
    if (!k) return make_error("web-bad-key", "no key uploaded and no key of a CSR made on this phone");
    key = *k;
  }
  if (!pki::key_matches(certs[0].get(), key.get()))
    return make_error("web-key-mismatch", key_pem.empty() ? "the certificate is not for the key of the CSR made on this phone"
                                                          : "the private key does not belong to the certificate");
  const std::string id = fingerprint_id(certs[0].get());
  const std::string crt_name = "device-" + id + ".crt", key_name = "device-" + id + ".key";
  std::string chain;
  for (const auto& c : certs) chain += pki::cert_pem(c.get());
  NewFiles files;
  if (Status s = files.write((fs::path(doc->base_dir) / crt_name).string(), chain, 0644); !s) return s.error();
  if (Status s = files.write((fs::path(doc->base_dir) / key_name).string(), pki::key_pem(key.get()), 0600); !s)
    return s.error();
  auto text = phone::edit_config(*doc, phone::set_device_certificate(crt_name, key_name));
  if (!text) return text.error();
  if (Status s = phone::save_config(*doc, *text); !s) return s.error();
  files.keep();
  if (key_pem.empty()) ::unlink(csr_key_path.c_str());  // now device-<id>.key
  json d = describe(certs[0].get());
  d["file"] = crt_name;
  return d;
}

Status set_key_export(const std::string& config_path, bool on) {
  return edit_and_save(config_path, on ? phone::set_key_export("tls-keys.log", "srtp-keys.log") : phone::set_key_export("", ""));
}

json audit_json(const std::string& config_path) {
  audit::Options o;
  auto r = audit::audit_file(config_path, o);
  if (!r) return {{"error", {{"code", r.error().code}, {"message", r.error().message}}}};
  json j = {{"errors", r->errors}, {"warnings", r->warnings}, {"infos", r->infos}, {"findings", json::array()}};
  for (const auto& f : r->findings)
    j["findings"].push_back({{"id", f.id},
                             {"severity", std::string(audit::to_string(f.severity))},
                             {"line", f.line},
                             {"key", f.key},
                             {"risk", f.risk},
                             {"fix", f.fix}});
  return j;
}

}  // namespace exphone::web
