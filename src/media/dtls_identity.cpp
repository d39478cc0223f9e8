#include "media/dtls_identity.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "core/random.h"

namespace exphone::media {
namespace {

Error fail(std::string what) { return make_error("dtls-identity-failed", "DTLS certificate: " + what); }

X509* self_signed(EVP_PKEY* key) {
  X509* x = X509_new();
  if (!x) return nullptr;
  X509_set_version(x, 2);
  auto serial = random_bytes(16);
  serial[0] &= 0x7F;  // positive (RFC 5280 4.1.2.2)
  BIGNUM* bn = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  // Valid from a day ago (peers with a slightly late clock) for ten years: the fingerprint, not
  // the dates, is what peers check (RFC 8827 6.5 leaves the dates to us).
  X509_gmtime_adj(X509_getm_notBefore(x), -86400L);
  X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("exphone-dtls"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  if (X509_sign(x, key, EVP_sha256()) == 0) {
    X509_free(x);
    return nullptr;
  }
  return x;
}

}  // namespace

std::vector<std::uint8_t> certificate_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!cert || X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  return {md, md + n};
}

DtlsIdentity::DtlsIdentity(X509* cert, EVP_PKEY* key) : cert_(cert), key_(key), fingerprint_(certificate_sha256(cert)) {}

DtlsIdentity::~DtlsIdentity() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
}

Result<std::shared_ptr<DtlsIdentity>> DtlsIdentity::generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return fail("cannot generate an ECDSA P-256 key");
  X509* cert = self_signed(key);
  if (!cert) {
    EVP_PKEY_free(key);
    return fail("cannot sign the certificate");
  }
  return std::shared_ptr<DtlsIdentity>(new DtlsIdentity(cert, key));
}

Result<std::shared_ptr<DtlsIdentity>> DtlsIdentity::load_or_create(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    EVP_PKEY* key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    X509* cert = key ? PEM_read_X509(f, nullptr, nullptr, nullptr) : nullptr;
    std::fclose(f);
    if (!key || !cert || X509_check_private_key(cert, key) != 1) {
      EVP_PKEY_free(key);
      X509_free(cert);
      return make_error("dtls-identity-unreadable",
                        path + ": not a private key followed by its certificate (remove it to generate a new one)");
    }
    return std::shared_ptr<DtlsIdentity>(new DtlsIdentity(cert, key));
  }
  auto id = generate();
  if (!id) return id;
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("cannot write " + tmp);
  FILE* f = ::fdopen(fd, "w");
  bool ok = f && PEM_write_PrivateKey(f, (*id)->key(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
            PEM_write_X509(f, (*id)->certificate()) == 1 && std::fflush(f) == 0 && ::fsync(fd) == 0;
  if (f) std::fclose(f);
  else ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return fail("cannot write " + path);
  }
  return id;
}

}  // namespace exphone::media
