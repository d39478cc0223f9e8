// The pure parts of SIP over WebSocket (RFC 7118) on the client side: what the opening
// handshake asks for and accepts, and how one SIP message maps to one WebSocket message.
// No I/O: net/websocket_connection.cpp drives Boost.Beast with these.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "net/endpoint.h"

namespace exphone::net::ws {

// RFC 7118 section 4.1: the WebSocket subprotocol for SIP.
inline constexpr std::string_view kSubprotocol = "sip";

// RFC 7118 section 4.1 / RFC 6455 section 4.1: the server must echo the one subprotocol it
// selected in Sec-WebSocket-Protocol; a missing or other value fails the connection.
bool accepts_sip(std::string_view sec_websocket_protocol);

// The Host header of the opening handshake (RFC 6455 section 4.1 item 4, RFC 7230 5.4): the
// configured server name (IPv6 literal in brackets), ":port" unless the scheme's default.
std::string host_header(const Target& target);

// The request-target of the handshake GET: an absolute path, "/" when empty. Errors
// ("config") for anything that is not a path of visible ASCII characters.
Result<std::string> resource(std::string_view path);

// RFC 7118 section 5.1: a message goes in a text frame when it is valid UTF-8 (RFC 3629),
// else in a binary frame (a body with raw octets).
bool is_text(std::string_view message);

}  // namespace exphone::net::ws
