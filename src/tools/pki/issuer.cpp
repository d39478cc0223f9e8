#include "tools/pki/issuer.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

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

bool add_name(X509_NAME* name, const char* field, const std::string& value) {
  return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                    -1, -1, 0) == 1;
}

// Fields common to every certificate: v3, a random positive 127-bit serial (RFC 5280 section
// 4.1.2.2: unique per CA, at most 20 octets; CA/B forum asks for 64+ bits of entropy), validity
// from five minutes ago (clock skew between CA host and devices) for `days`.
Result<std::shared_ptr<X509>> new_cert(EVP_PKEY* key, const std::string& org, const std::string& cn, long days) {
  if (cn.empty()) return make_error("pki-bad-name", "the common name must not be empty");
  if (cn.size() > 64) return make_error("pki-bad-name", "the common name is longer than 64 characters (RFC 5280 ub-common-name)");
  X509* x = X509_new();
  if (!x) return pki_error("certificate allocation");
  std::shared_ptr<X509> cert(x, X509_free);
  X509_set_version(x, X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return pki_error("serial number");
  serial[0] &= 0x7f;  // positive
  serial[0] |= 0x01;  // and never zero-length
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  if (!ok) return pki_error("serial number");
  X509_gmtime_adj(X509_getm_notBefore(x), -300);
  X509_gmtime_adj(X509_getm_notAfter(x), days * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  if ((!org.empty() && !add_name(name, "O", org)) || !add_name(name, "CN", cn)) return pki_error("subject name '" + cn + "'");
  return cert;
}

Result<Issued> sign(Issued out, const Issued* issuer) {
  X509* x = out.cert.get();
  EVP_PKEY* signer = issuer ? issuer->key.get() : out.key.get();
  // ECDSA with SHA-256 (RFC 5758) / sha256WithRSAEncryption (RFC 4055): never SHA-1.
  if (X509_sign(x, signer, EVP_sha256()) <= 0) return pki_error("signing");
  return out;
}

}  // namespace

std::optional<KeyType> parse_key_type(std::string_view s) {
  if (s == "ec-p256" || s == "ec" || s == "p256" || s == "ecdsa" || s == "ecdsa-p256") return KeyType::kEcP256;
  if (s == "rsa2048" || s == "rsa-2048") return KeyType::kRsa2048;
  if (s == "rsa3072" || s == "rsa-3072") return KeyType::kRsa3072;
  return std::nullopt;
}

std::string_view to_string(KeyType k) {
  switch (k) {
    case KeyType::kEcP256: return "ec-p256";
    case KeyType::kRsa2048: return "rsa2048";
    case KeyType::kRsa3072: return "rsa3072";
  }
  return "?";
}

Result<std::shared_ptr<EVP_PKEY>> generate_key(KeyType type) {
  EVP_PKEY* k = nullptr;
  switch (type) {
    case KeyType::kEcP256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::kRsa2048: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)); break;
    case KeyType::kRsa3072: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072)); break;
  }
  if (!k) return pki_error("key generation");
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

Result<Issued> make_ca(const CaSpec& spec, const Issued* issuer) {
  auto key = generate_key(spec.key);
  if (!key) return key.error();
  auto cert = new_cert(key->get(), spec.organization, spec.common_name, spec.days);
  if (!cert) return cert.error();
  Issued out{*key, *cert};
  X509* x = out.cert.get();
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  if (issuer && ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer_cert)) > 0)
    X509_set1_notAfter(x, X509_get0_notAfter(issuer_cert));
  // RFC 5280 4.2.1.9 / 4.2.1.3: a CA certificate has basicConstraints cA=TRUE (critical) and
  // keyUsage keyCertSign (critical); cRLSign so a CRL can be issued later.
  bool ok = add_ext(x, issuer_cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:" + std::to_string(spec.path_length)) &&
            add_ext(x, issuer_cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) ok = ok && add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (!ok) return pki_error("CA certificate extensions");
  return sign(std::move(out), issuer);
}

Result<Issued> make_root_ca(const std::string& common_name, long days) {
  CaSpec spec;
  spec.common_name = common_name;
  spec.days = days;
  return make_ca(spec);
}

Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca) {
  auto key = generate_key(spec.key);
  if (!key) return key.error();
  return make_leaf(spec, ca, *key);
}

Result<Issued> make_leaf(const LeafSpec& spec, const Issued& ca, std::shared_ptr<EVP_PKEY> key) {
  if (!key) return make_error("pki-failed", "no key");
  auto cert = new_cert(key.get(), spec.organization, spec.common_name, spec.days);
  if (!cert) return cert.error();
  Issued out{std::move(key), *cert};
  X509* x = out.cert.get();
  X509* issuer = ca.cert.get();
  X509_set_issuer_name(x, X509_get_subject_name(issuer));
  if (ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(issuer)) > 0)
    X509_set1_notAfter(x, X509_get0_notAfter(issuer));
  // keyUsage per RFC 5246/8446 use: ECDHE signs the handshake (digitalSignature); an RSA key in a
  // TLS 1.2 server may also be used for RSA key transport (keyEncipherment).
  bool rsa = EVP_PKEY_base_id(out.key.get()) == EVP_PKEY_RSA;
  std::string ku = std::string("critical,digitalSignature") + (rsa && spec.server ? ",keyEncipherment" : "");
  bool ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") && add_ext(x, issuer, NID_key_usage, ku);
  std::string eku = std::string(spec.server ? "serverAuth" : "") + (spec.server && spec.client ? "," : "") +
                    (spec.client ? "clientAuth" : "");
  if (!eku.empty()) ok = ok && add_ext(x, issuer, NID_ext_key_usage, eku);
  std::string san;
  auto append = [&san](const char* prefix, const std::vector<std::string>& v) {
    for (const auto& s : v) san += (san.empty() ? "" : ",") + std::string(prefix) + s;
  };
  append("DNS:", spec.dns);
  append("IP:", spec.ips);
  append("URI:", spec.uris);
  if (!san.empty() && !add_ext(x, issuer, NID_subject_alt_name, san))
    return make_error("pki-bad-name", "subjectAltName '" + san + "' is not valid");
  ok = ok && add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
       add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
  if (!ok) return pki_error("certificate extensions");
  return sign(std::move(out), &ca);
}

std::string cert_pem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  std::string out;
  if (b && PEM_write_bio_X509(b, cert) == 1) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    out.assign(p, static_cast<std::size_t>(n));
  }
  BIO_free(b);
  return out;
}

std::string key_pem(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  std::string out;
  if (b && PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    out.assign(p, static_cast<std::size_t>(n));
  }
  BIO_free(b);
  return out;
}

Status write_file(const std::string& path, std::string_view data, unsigned mode, Overwrite overwrite) {
  std::string target = path;
  std::string tmp;
  int fd = -1;
  if (overwrite == Overwrite::kNever) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
      return make_error("pki-exists", path + " exists; not overwritten (use --force to replace it)");
  } else {
    tmp = path + ".tmp-XXXXXX";
    fd = ::mkstemp(tmp.data());
  }
  if (fd < 0) return make_error("pki-io", path + ": " + std::strerror(errno));
  // The mode is set on the descriptor before any byte is written: a key is never readable by
  // others, not even for a moment (umask can only remove bits, fchmod sets them exactly).
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t off = 0;
  while (ok && off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else off += static_cast<std::size_t>(n);
  }
  int saved = errno;
  ok = ::close(fd) == 0 && ok;
  if (ok && !tmp.empty() && ::rename(tmp.c_str(), target.c_str()) != 0) {
    saved = errno;
    ok = false;
  }
  if (!ok) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return make_error("pki-io", path + ": " + std::strerror(saved));
  }
  return Ok{};
}

Status write_pem(const Issued& item, const std::string& cert_path, const std::string& key_path, Overwrite mode) {
  std::string cert = cert_pem(item.cert.get());
  std::string key = key_pem(item.key.get());
  if (cert.empty() || key.empty()) return pki_error("PEM encoding");
  if (mode == Overwrite::kNever) {
    // check both first: a refused key must not leave a new certificate beside the old key
    struct stat st {};
    for (const auto& p : {cert_path, key_path})
      if (::stat(p.c_str(), &st) == 0) return make_error("pki-exists", p + " exists; not overwritten (use --force to replace it)");
  }
  if (Status s = write_file(key_path, key, 0600, mode); !s) return s;
  return write_file(cert_path, cert, 0644, mode);
}

}  // namespace exphone::pki
