// Server certificate verification for SIP over TLS: identity rules (RFC 5922 section 7),
// the verify callback that records what failed, failure explanations with stable codes, and
// the peer summary for reports and the padlock.
#pragma once

#include <openssl/ssl.h>

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::net::tls {

// Stable error codes (used in JSON reports).
inline constexpr const char* kErrConfig = "tls-config";
inline constexpr const char* kErrUnknownCa = "tls-unknown-ca";
inline constexpr const char* kErrExpired = "tls-expired";
inline constexpr const char* kErrNotYetValid = "tls-not-yet-valid";
inline constexpr const char* kErrNameMismatch = "tls-name-mismatch";
inline constexpr const char* kErrSelfSigned = "tls-self-signed";
inline constexpr const char* kErrVersion = "tls-version";
inline constexpr const char* kErrClientCertRequired = "tls-client-cert-required";
inline constexpr const char* kErrHandshake = "tls-handshake";
// A certificate OpenSSL's security level refuses: SHA-1/MD5 signature or a too small key.
inline constexpr const char* kErrWeakCertificate = "tls-weak-certificate";

// Explains a failed handshake (or a failure on the first read after it: with TLS 1.3 the
// server rejects a client certificate after the client has finished, RFC 8446 section 4.4.2.4).
//   openssl_err:    ERR_peek_error() taken right after the failing call, or 0
//   ssl_get_error:  SSL_get_error() for that call
//   expected_host:  the host given to prepare_client_ssl (for messages)
// Codes: tls-unknown-ca, tls-expired, tls-not-yet-valid, tls-name-mismatch, tls-self-signed,
// tls-weak-certificate, tls-version, tls-client-cert-required, tls-handshake.
Error explain_handshake_failure(SSL* ssl, unsigned long openssl_err, int ssl_get_error,
                                std::string_view expected_host);

// What the verify callback recorded about the first verification failure (for the TLS server
// checker and diagnostics). Empty when verification did not fail or the SSL was not prepared.
struct VerifyFailure {
  int x509_error = 0;        // X509_V_ERR_*
  int depth = -1;            // 0 = server certificate
  std::string subject;       // of the certificate at that depth (RFC 2253)
  std::string issuer;
  std::vector<std::string> sent_chain;  // subjects of the certificates the server sent, leaf first
  std::time_t verify_time = 0;          // the clock used (device clock or configured verify_time)
};
std::optional<VerifyFailure> verify_failure(const SSL* ssl);

struct TlsPeerInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // IANA name, "TLS_AES_128_GCM_SHA256"
  bool verified = false;  // chain to a trusted root and server identity matched
  std::string peer_subject;              // RFC 2253 DN of the server certificate
  std::vector<std::string> peer_names;   // SAN DNS / IP / URI values; CN only if no DNS SAN
  bool resumed = false;
  std::time_t peer_not_after = 0;        // the server certificate's notAfter (0: none)
};
TlsPeerInfo peer_info(SSL* ssl);

// Certificate names as the identity check sees them (also used in messages).
struct CertNames {
  std::vector<std::string> dns, ip, uri;
  std::string cn;  // first commonName, empty if none
};
CertNames cert_names(X509* cert);

// RFC 5922 section 7.1/7.2 URI SAN rule: "sip:" scheme (case-insensitive) with no user part;
// the host part alone is compared, as a DNS name (case-insensitive, no wildcards) or as an IP.
bool uri_san_matches(std::string_view uri, std::string_view host);

}  // namespace exphone::net::tls
