#include "tools/check_server/target.h"

#include "core/text.h"
#include "sip/uri.h"

namespace exphone::tools::check_server {

namespace {
Error usage(std::string message) { return make_error("usage", std::move(message)); }
}  // namespace

Result<CheckTarget> parse_check_uri(std::string_view text) {
  auto uri = sip::parse_uri(text);
  if (!uri) return usage("'" + std::string(text) + "' is not a SIP URI (" + uri.error().message + ")");
  if (!uri->is_sip_or_sips())
    return usage("'" + std::string(text) + "' is not a sip: or sips: URI (example: sips:pbx.example.com:5061)");
  if (uri->host.empty()) return usage("'" + std::string(text) + "' has no host");

  CheckTarget t;
  t.uri = std::string(text);
  t.sips = uri->scheme == sip::Scheme::kSips;
  t.host = std::string(uri->host);
  if (uri->has_port) {
    if (uri->port == 0) return usage("'" + std::string(text) + "': port 0 is not a server port");
    t.port = uri->port;
  }
  std::optional<std::string_view> transport = uri->params.get("transport");
  if (transport) {
    if (text::iequals(*transport, "ws"))
      return usage("'" + std::string(text) + "' is plain WebSocket (no certificate): use ;transport=wss");
    if (text::iequals(*transport, "wss")) t.protocol = net::Protocol::kWss;
    bool tls = text::iequals(*transport, "tls") || t.protocol == net::Protocol::kWss;
    // RFC 3261 section 26.2.2: sips with transport=tcp still means TLS over TCP.
    bool tcp = text::iequals(*transport, "tcp");
    if (!tls && !(t.sips && tcp)) {
      return usage("'" + std::string(text) + "' uses transport=" + std::string(*transport) +
                   ": check-server checks TLS servers only (use sips: or ;transport=tls)");
    }
  } else if (!t.sips) {
    return usage("'" + std::string(text) +
                 "' is plain SIP (UDP/TCP, no certificate): use sips:host or sip:host;transport=tls");
  }
  t.request_uri = std::string(t.sips ? "sips:" : "sip:") + uri->host_port();
  if (t.protocol == net::Protocol::kWss) t.request_uri += ";transport=wss";
  else if (!t.sips) t.request_uri += ";transport=tls";
  return t;
}

}  // namespace exphone::tools::check_server
