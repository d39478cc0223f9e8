#include "net/websocket_sip.h"

#include <cstdint>

#include "core/text.h"

namespace exphone::net::ws {

bool accepts_sip(std::string_view value) { return text::trim(value) == kSubprotocol; }

std::string host_header(const Target& target) {
  std::string host = target.server_name.empty() ? target.endpoint.host() : target.server_name;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  if (target.endpoint.port != default_port(target.protocol)) host += ":" + std::to_string(target.endpoint.port);
  return host;
}

Result<std::string> resource(std::string_view path) {
  if (path.empty()) return std::string("/");
  if (path.front() != '/') return make_error("config", "WebSocket path '" + std::string(path) + "' must start with /");
  for (unsigned char c : path)
    if (c <= 0x20 || c >= 0x7f)
      return make_error("config", "WebSocket path '" + std::string(path) + "' has a space or non-ASCII character");
  return std::string(path);
}

// RFC 3629 section 4: shortest forms only, no surrogates, nothing above U+10FFFF.
bool is_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= n) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += n + 1;
  }
  return true;
}

}  // namespace exphone::net::ws
