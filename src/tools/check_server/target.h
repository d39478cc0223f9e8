// Which server `exphone check-server URI` checks: a SIP URI naming a TLS server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "net/endpoint.h"

namespace exphone::tools::check_server {

struct CheckTarget {
  std::string uri;                     // as given
  std::string host;                    // DNS name or IP literal (IPv6 without brackets)
  std::optional<std::uint16_t> port;   // explicit port; else RFC 3263 (SRV, then 5061)
  bool sips = false;
  net::Protocol protocol = net::Protocol::kTls;  // kWss for ;transport=wss (RFC 7118)
  std::string request_uri;             // OPTIONS Request-URI: scheme, host, port, no user
};

// Accepts "sips:host[:port]" (RFC 3261 section 26.2.2: TLS hop by hop) and
// "sip:host[:port];transport=tls" (RFC 3261 section 19.1.1) and ";transport=wss" (SIP over secure
// WebSocket, RFC 7118: the same certificate checks, then the WebSocket handshake). A user part is allowed and ignored
// for the connection (the server is host:port). Anything else is a "usage" error that says why:
// plain UDP/TCP has no certificate to check, a sips: URI with transport=udp is contradictory.
Result<CheckTarget> parse_check_uri(std::string_view text);

}  // namespace exphone::tools::check_server
