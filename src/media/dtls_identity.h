// The device's DTLS certificate for DTLS-SRTP (RFC 5763 section 5): a self-signed ECDSA P-256
// certificate whose SHA-256 fingerprint goes into a=fingerprint. Peers identify it by that
// fingerprint, carried in SDP over TLS/WSS, not by a CA. Generated once and kept in a 0600 PEM file
// (key + certificate) so the device keeps one identity across restarts; OpenSSL generates it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace exphone::media {

class DtlsIdentity {
 public:
  // A fresh identity (not stored). Errors: dtls-identity-failed.
  static Result<std::shared_ptr<DtlsIdentity>> generate();
  // Loads `path`, or generates and writes it (0600, via a temporary file and rename) when it
  // does not exist. Errors: dtls-identity-failed, dtls-identity-unreadable (exists but bad).
  static Result<std::shared_ptr<DtlsIdentity>> load_or_create(const std::string& path);

  ~DtlsIdentity();
  DtlsIdentity(const DtlsIdentity&) = delete;
  DtlsIdentity& operator=(const DtlsIdentity&) = delete;

  X509* certificate() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  // SHA-256 of the DER certificate (RFC 8122 section 5).
  const std::vector<std::uint8_t>& fingerprint_sha256() const { return fingerprint_; }

 private:
  DtlsIdentity(X509* cert, EVP_PKEY* key);
  X509* cert_;
  EVP_PKEY* key_;
  std::vector<std::uint8_t> fingerprint_;
};

// SHA-256 fingerprint of any certificate (the peer's, after the handshake).
std::vector<std::uint8_t> certificate_sha256(X509* cert);

}  // namespace exphone::media
