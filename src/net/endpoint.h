// Transport protocols and addresses as the SIP layers name them (RFC 3261 section 18).
#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exphone::net {

// kWs/kWss: SIP over WebSocket (RFC 7118), a client transport only.
enum class Protocol { kUdp, kTcp, kTls, kWs, kWss };

std::string_view to_string(Protocol p);        // "udp", "tcp", "tls", "ws", "wss"
std::string_view via_token(Protocol p);        // "UDP", "TCP", "TLS", "WS", "WSS" (Via sent-protocol)
std::optional<Protocol> parse_protocol(std::string_view s);  // case-insensitive
inline bool is_reliable(Protocol p) { return p != Protocol::kUdp; }
// TLS with the verification of net/tls: SIP-TLS and WSS (RFC 7118 section 5: same trust).
inline bool uses_tls(Protocol p) { return p == Protocol::kTls || p == Protocol::kWss; }
inline bool is_websocket(Protocol p) { return p == Protocol::kWs || p == Protocol::kWss; }
// RFC 3261 section 19.1.2; RFC 7118 section 4: WebSocket URIs default to 80/443 (RFC 6455 3).
inline std::uint16_t default_port(Protocol p) {
  switch (p) {
    case Protocol::kTls: return 5061;
    case Protocol::kWs: return 80;
    case Protocol::kWss: return 443;
    default: return 5060;
  }
}

struct Endpoint {
  boost::asio::ip::address address;
  std::uint16_t port = 0;

  // "192.0.2.1:5060" or "[2001:db8::1]:5061" (Via sent-by, Contact host:port)
  std::string to_string() const;
  std::string host() const;  // address, IPv6 in brackets
  bool operator==(const Endpoint&) const = default;
};

// Where to send: a resolved address plus the name the certificate must carry (TLS).
struct Target {
  Protocol protocol = Protocol::kUdp;
  Endpoint endpoint;
  std::string server_name;  // the configured SIP server host (DNS name or IP literal)
};

}  // namespace exphone::net
