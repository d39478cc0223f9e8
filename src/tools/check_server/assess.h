// Judgements on what a TLS server showed: weak certificates and legacy protocol versions.
// Pure functions over net::tls::CertificateInfo, so every rule is unit-tested without a server.
#pragma once

#include <string>
#include <vector>

#include "net/tls/tls_inspect.h"

namespace exphone::tools::check_server {

// A warning in the report. Codes are stable (JSON): "weak-key", "weak-signature",
// "legacy-tls", "expires-soon".
struct Finding {
  std::string code;
  std::string message;  // what, why it matters, and the fix
};

// Minimum key sizes (NIST SP 800-57 part 1 rev. 5 table 2: 112-bit security from 2014 on;
// BSI TR-02102-2 for TLS): RSA/DSA >= 2048 bits, EC >= 256 bits.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMinEcBits = 256;

// Weak keys anywhere in the chain; SHA-1/MD5 signatures on every certificate whose signature is
// relied upon (all but a self-signed CA: a trust anchor is trusted as such, its self-signature
// is never checked, RFC 5280 section 6.1). `now` for certificates expiring within 30 days.
std::vector<Finding> assess_chain(const std::vector<net::tls::CertificateInfo>& chain, std::time_t now);

// The server completed a handshake with a client limited to `version` ("TLSv1", "TLSv1.1").
Finding legacy_version_finding(const std::string& version);

// Role of the certificate at `index` of a chain as sent ("server certificate", ...).
std::string chain_role(const std::vector<net::tls::CertificateInfo>& chain, std::size_t index);

}  // namespace exphone::tools::check_server
