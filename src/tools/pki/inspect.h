// Reading certificates and keys back (libcrypto) and describing them: what `pki list` prints,
// what `audit` checks a config's CA and client certificate files with, and what the unit tests
// use to check every field the issuer wrote.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::pki {

using CertPtr = std::shared_ptr<X509>;
using KeyPtr = std::shared_ptr<EVP_PKEY>;

struct CertInfo {
  std::string subject, issuer;  // RFC 2253 one-line form
  std::string common_name;
  std::string serial_hex;
  std::time_t not_before = 0, not_after = 0;
  bool self_signed = false;
  bool is_ca = false;           // basicConstraints cA=TRUE
  int path_length = -1;         // pathLenConstraint, -1 = none
  bool key_usage_cert_sign = false;
  bool eku_server = false, eku_client = false;  // extendedKeyUsage present with serverAuth / clientAuth
  bool has_eku = false;
  std::string key_type;         // "EC P-256", "RSA 2048", ...
  int key_bits = 0;
  std::string signature;        // "ecdsa-with-SHA256", "sha256WithRSAEncryption", ...
  std::vector<std::string> dns, ips, uris;  // subjectAltName
};

CertInfo inspect(X509* cert);

// All certificates of a PEM file (one or more) or of a DER file (one). Errors: pki-io (cannot
// read), pki-parse (no certificate in it).
Result<std::vector<CertPtr>> load_certs(const std::string& path);
// A private key (PEM, optionally encrypted with passphrase; or DER).
Result<KeyPtr> load_key(const std::string& path, const std::string& passphrase = "");

bool key_matches(X509* cert, EVP_PKEY* key);

// Whole days from now until t (negative when past).
long days_until(std::time_t t, std::time_t now);
// "2026-05-01T12:00:00Z"
std::string iso_time(std::time_t t);

}  // namespace exphone::pki
