#include "clock/sntp_config.h"

#include "core/text.h"

namespace exphone::clock {

Result<ServerAddress> parse_server(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return make_error("ntp-server", "NTP server '" + std::string(text) + "': " + why + " (expected host:port)");
  };
  ServerAddress a;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("unbalanced '['");
    a.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("junk after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    std::size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) return bad("an IPv6 address needs brackets");
    a.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
  }
  if (a.host.empty()) return bad("empty host");
  for (char c : a.host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == '/' || c == '@') return bad("invalid host");
  if (!port.empty()) {
    auto p = text::parse_uint(port, 65535);
    if (!p || *p == 0) return bad("port must be 1-65535");
    a.port = static_cast<std::uint16_t>(*p);
  }
  return a;
}

}  // namespace exphone::clock
