#include "net/endpoint.h"

#include "core/text.h"

namespace exphone::net {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::kUdp: return "udp";
    case Protocol::kTcp: return "tcp";
    case Protocol::kTls: return "tls";
    case Protocol::kWs: return "ws";
    case Protocol::kWss: return "wss";
  }
  return "udp";
}

std::string_view via_token(Protocol p) {
  switch (p) {
    case Protocol::kUdp: return "UDP";
    case Protocol::kTcp: return "TCP";
    case Protocol::kTls: return "TLS";
    case Protocol::kWs: return "WS";  // RFC 7118 section 5.2
    case Protocol::kWss: return "WSS";
  }
  return "UDP";
}

std::optional<Protocol> parse_protocol(std::string_view s) {
  if (text::iequals(s, "udp")) return Protocol::kUdp;
  if (text::iequals(s, "tcp")) return Protocol::kTcp;
  if (text::iequals(s, "tls")) return Protocol::kTls;
  if (text::iequals(s, "ws")) return Protocol::kWs;  // RFC 7118 section 5.2: transport=ws|wss
  if (text::iequals(s, "wss")) return Protocol::kWss;
  return std::nullopt;
}

std::string Endpoint::host() const {
  return address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
}

std::string Endpoint::to_string() const { return host() + ":" + std::to_string(port); }

}  // namespace exphone::net
