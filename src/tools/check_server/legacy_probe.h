// Does a TLS server still accept TLS 1.0 or 1.1 (RFC 8996)? One handshake per version with a
// client limited to exactly that version. This context is for the probe only: the phone itself
// never goes below TLS 1.2 (net/tls refuses to build such a context).
#pragma once

#include <optional>
#include <string>

#include "core/timer.h"
#include "net/endpoint.h"

namespace exphone::tools::check_server {

struct LegacyProbe {
  std::string version;            // "TLSv1", "TLSv1.1"
  std::optional<bool> accepted;   // nullopt: could not tell (no TCP connection, timeout)
  std::string detail;             // why refused / why unknown
};

// version: TLS1_VERSION or TLS1_1_VERSION. No certificate verification: only the protocol
// version is in question. SNI is sent for DNS names (RFC 6066 section 3).
LegacyProbe probe_legacy_version(const net::Target& target, int version, Millis timeout);

}  // namespace exphone::tools::check_server
