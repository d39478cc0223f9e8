#include "test_pki.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace exphone::testpki {

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    ERR_print_errors_fp(stderr);
    throw std::runtime_error(std::string("test_pki: ") + what);
  }
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

}  // namespace

std::shared_ptr<EVP_PKEY> new_key() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  check(k != nullptr, "keygen");
  return std::shared_ptr<EVP_PKEY>(k, PkeyFree{});
}

std::shared_ptr<EVP_PKEY> new_rsa_key(unsigned bits) {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  check(k != nullptr, "rsa keygen");
  return std::shared_ptr<EVP_PKEY>(k, PkeyFree{});
}

Cert make_cert(const CertSpec& spec, const Cert* issuer) {
  static long serial = 1000;
  Cert out;
  out.key = spec.key ? spec.key : new_key();
  X509* x = X509_new();
  out.cert = std::shared_ptr<X509>(x, X509Free{});
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after);
  X509_set_pubkey(x, out.key.get());

  X509_NAME* name = X509_get_subject_name(x);
  if (!spec.org.empty())
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.org.c_str()), -1, -1, 0);
  if (!spec.cn.empty())
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer != nullptr ? issuer->x509() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));

  if (spec.ca) {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE");
    if (spec.key_usage) add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else if (!spec.key_usage) {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
  } else {
    add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x, issuer_cert, NID_key_usage, "critical,digitalSignature");
    add_ext(x, issuer_cert, NID_ext_key_usage, spec.client ? "clientAuth" : "serverAuth");
  }
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");

  std::string san;
  auto append = [&san](const std::string& prefix, const std::vector<std::string>& v) {
    for (const auto& s : v) san += (san.empty() ? "" : ",") + prefix + s;
  };
  append("DNS:", spec.dns);
  append("IP:", spec.ips);
  append("URI:", spec.uris);
  if (!san.empty()) add_ext(x, issuer_cert, NID_subject_alt_name, san);

  EVP_PKEY* signer = issuer != nullptr ? issuer->pkey() : out.key.get();
  EVP_MD* md = EVP_MD_fetch(nullptr, spec.digest.c_str(), nullptr);
  check(md != nullptr, "digest");
  check(X509_sign(x, signer, md) > 0, "sign");
  EVP_MD_free(md);
  return out;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "exphone-tls-XXXXXX").string();
  check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& data) const {
  std::string p = file(name);
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  check(static_cast<bool>(out), "write file");
  return p;
}

std::string to_pem(const std::vector<const Cert*>& certs) {
  BIO* bio = BIO_new(BIO_s_mem());
  for (const Cert* c : certs) PEM_write_bio_X509(bio, c->x509());
  return bio_string(bio);
}

std::string to_der(const Cert& c) {
  unsigned char* der = nullptr;
  int len = i2d_X509(c.x509(), &der);
  check(len > 0, "i2d_X509");
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string key_to_pem(const Cert& c, const std::string& passphrase) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (passphrase.empty()) {
    PEM_write_bio_PKCS8PrivateKey(bio, c.pkey(), nullptr, nullptr, 0, nullptr, nullptr);
  } else {
    std::string pass = passphrase;
    PEM_write_bio_PKCS8PrivateKey(bio, c.pkey(), EVP_aes_256_cbc(), pass.data(),
                                  static_cast<int>(pass.size()), nullptr, nullptr);
  }
  return bio_string(bio);
}

}  // namespace exphone::testpki
