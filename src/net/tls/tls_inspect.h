// What a TLS peer showed us, for diagnostics (exphone check-server): every certificate of the
// chain as the server sent it, described field by field, and whether the server asked for a
// client certificate. Read-only views of an SSL after (or during a failed) handshake.
#pragma once

#include <openssl/ssl.h>

#include <ctime>
#include <string>
#include <vector>

namespace exphone::net::tls {

// One X.509 certificate (RFC 5280 section 4.1) in the terms an integrator needs.
struct CertificateInfo {
  std::string subject;  // RFC 2253 DN
  std::string issuer;
  std::string serial;   // hex, upper case
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::vector<std::string> san;  // "DNS:pbx.example", "IP:10.0.0.5", "URI:sip:pbx.example"
  std::string key_type;          // "RSA", "EC", "ED25519", "ED448", "DSA", ...
  int key_bits = 0;
  std::string key_group;         // EC curve ("prime256v1"), empty otherwise
  std::string signature_algorithm;  // "sha256WithRSAEncryption", "ecdsa-with-SHA256", ...
  std::string signature_digest;     // "SHA256", "SHA1", "MD5"; empty for Ed25519/Ed448
  std::string sha256_fingerprint;   // "AB:CD:..."
  bool is_ca = false;               // basicConstraints CA:TRUE
  bool self_signed = false;         // issuer == subject and the signature verifies with its own key
};

CertificateInfo describe_certificate(X509* cert);

// The certificates the server sent, leaf first, in the order sent (RFC 8446 section 4.4.2).
// Available after a successful handshake and after one that failed on verification (the
// verify callback of prepare_client_ssl keeps them); empty when the server sent none.
std::vector<CertificateInfo> peer_chain(SSL* ssl);

// Client authentication as the client saw it: the server sent a CertificateRequest
// (RFC 8446 section 4.3.2, RFC 5246 section 7.4.4) and whether we had a certificate to answer.
// Known only for connections prepared with prepare_client_ssl().
struct ClientAuthInfo {
  bool requested = false;
  bool sent = false;
};
ClientAuthInfo client_auth(const SSL* ssl);

// "2025-01-31 12:00:00 UTC"
std::string format_utc(std::time_t t);

}  // namespace exphone::net::tls
