#include "tools/pki/issuer.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>

namespace exphone::pki {

namespace {

Error pki_error(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return make_error("pki-failed", what + (e ? std::string(" (") + buf + ")" : ""));
}

bool add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

Result<Issued> issue(const std::string& cn, long days, const Issued* ca, const LeafSpec* leaf) {
  Issued out;
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!k) return pki_error("key generation");
  out.key.reset(k, EVP_PKEY_free);
  X509* x = X509_new();
  if (!x) return pki_error("certificate allocation");
  out.cert.reset(x, X509_free);
  X509_set_version(x, 2);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return pki_error("serial number");
  serial[0] &= 0x7f;  // positive (RFC 5280 section 4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), -300);
  X509_gmtime_adj(X509_getm_notAfter(x), days * 24 * 3600);
  X509_set_pubkey(x, k);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("exphone"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  bool ok = true;
  if (!leaf) {
    ok = ok && add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    ok = ok && add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && add_ext(x, issuer, NID_key_usage, "critical,digitalSignature");
    std::string eku = std::string(leaf->server ? "serverAuth" : "") + (leaf->server && leaf->client ? "," : "") +
                      (leaf->client ? "clientAuth" : "");
    if (!eku.empty()) ok = ok && add_ext(x, issuer, NID_ext_key_usage, eku);
    std::string san;
    auto append = [&san](const char* prefix, const std::vector<std::string>& v) {
      for (const auto& s : v) san += (san.empty() ? "" : ",") + std::string(prefix) + s;
    };
    append("DNS:", leaf->dns);
    append("IP:", leaf->ips);
    append("URI:", leaf->uris);
    if (!san.empty()) ok = ok && add_ext(x, issuer, NID_subject_alt_name, san);
  }
  ok = ok && add_ext(x, issuer, NID_subject_key_identifier, "hash");
  if (ca) ok = ok && add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
  if (!ok) return pki_error("certificate extensions");
  if (X509_sign(x, ca ? ca->key.get() : k, EVP_sha256()) <= 0) return pki_error("signing");
  return out;
}

}  // namespace

Result<Issued> make_root_ca(const std::string& common_name, long days) { return issue(common_name, days, nullptr, nullptr); }

Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca) { return issue(spec.common_name, spec.days, &ca, &spec); }

Status write_pem(const Issued& item, const std::string& cert_path, const std::string& key_path) {
  FILE* cf = std::fopen(cert_path.c_str(), "wx");
  if (!cf) return make_error("pki-failed", cert_path + ": cannot create (exists?)");
  bool ok = PEM_write_X509(cf, item.cert.get()) == 1;
  std::fclose(cf);
  if (!ok) return pki_error(cert_path);
  int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);  // never overwrite a key
  if (fd < 0) return make_error("pki-failed", key_path + ": cannot create (exists?)");
  FILE* kf = fdopen(fd, "w");
  ok = kf && PEM_write_PrivateKey(kf, item.key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (kf) std::fclose(kf);
  if (!ok) return pki_error(key_path);
  return Ok{};
}

}  // namespace exphone::pki
