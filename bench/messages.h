// Realistic SIP messages shared by the side-by-side parser benchmark
// (exphone vs. GNU oSIP2, libre and sofia-sip).
//
// All messages use CRLF line endings. Content-Length is checked against the
// actual body at compile time (static_asserts at the bottom of this file), so
// editing a message without fixing Content-Length fails the build.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace exphone::bench {

// (a) INVITE with an SDP offer carrying SDES a=crypto lines (RFC 4568),
//     877 bytes in total, 357 bytes of body.
inline constexpr std::string_view kInviteSdp =
    "INVITE sips:bob@example.org SIP/2.0\r\n"
    "Via: SIP/2.0/TLS p1.example.com:5061;branch=z9hG4bK2d4790.1\r\n"
    "Via: SIP/2.0/TLS 192.0.2.101:5061;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 69\r\n"
    "From: \"Alice\" <sips:alice@example.com>;tag=9fxced76sl\r\n"
    "To: <sips:bob@example.org>\r\n"
    "Call-ID: 3848276298220188511@192.0.2.101\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sips:alice@192.0.2.101:5061;transport=tls>\r\n"
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
    "Supported: replaces, timer\r\n"
    "User-Agent: exphone/0.1\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 357\r\n"
    "\r\n"
    "v=0\r\n"
    "o=- 2890844526 2890844526 IN IP4 192.0.2.101\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/SAVP 0 8\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 "
    "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:32\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 "
    "inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32\r\n"
    "a=sendrecv\r\n";

// (b) 200 OK to REGISTER, as received by the UA (Via carries received/rport).
inline constexpr std::string_view kRegister200 =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS 192.0.2.101:5061;branch=z9hG4bKnashds7;received=198.51.100.23;rport=40512\r\n"
    "From: <sips:alice@example.com>;tag=a73kszlfl\r\n"
    "To: <sips:alice@example.com>;tag=37GkEhwl6\r\n"
    "Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.101\r\n"
    "CSeq: 1826 REGISTER\r\n"
    "Contact: <sips:alice@192.0.2.101:5061;transport=tls>;expires=3600\r\n"
    "Expires: 3600\r\n"
    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    "Server: ExampleRegistrar/2.4\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// (c) 180 Ringing for the INVITE above, as seen at the proxy (2 Vias).
inline constexpr std::string_view kRinging180 =
    "SIP/2.0 180 Ringing\r\n"
    "Via: SIP/2.0/TLS p1.example.com:5061;branch=z9hG4bK2d4790.1\r\n"
    "Via: SIP/2.0/TLS 192.0.2.101:5061;branch=z9hG4bK74bf9\r\n"
    "Record-Route: <sips:p1.example.com;lr>\r\n"
    "From: \"Alice\" <sips:alice@example.com>;tag=9fxced76sl\r\n"
    "To: <sips:bob@example.org>;tag=8321234356\r\n"
    "Call-ID: 3848276298220188511@192.0.2.101\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sips:bob@192.0.2.4:5061;transport=tls>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

// What a correct parser must read back from each message. Used by the
// benchmark's self-check before any timing starts.
struct MessageSpec {
  std::string_view name;  // benchmark suffix: BM_Parse/<peer>/<name>
  std::string_view text;
  std::string_view call_id;
  unsigned long cseq;
  std::string_view cseq_method;
  int status;               // 0 for requests
  std::string_view method;  // empty for responses
  std::size_t body_len;
  std::string_view from_tag;
  std::string_view to_tag;      // empty if absent
  std::string_view via_branch;  // branch of the top Via
};

inline constexpr std::array<MessageSpec, 3> kMessages{{
    {"invite_sdp", kInviteSdp, "3848276298220188511@192.0.2.101", 314159, "INVITE", 0,
     "INVITE", 357, "9fxced76sl", "", "z9hG4bK2d4790.1"},
    {"register_200", kRegister200, "1j9FpLxk3uxtm8tn@192.0.2.101", 1826, "REGISTER", 200, "",
     0, "a73kszlfl", "37GkEhwl6", "z9hG4bKnashds7"},
    {"ringing_180", kRinging180, "3848276298220188511@192.0.2.101", 314159, "INVITE", 180, "",
     0, "9fxced76sl", "8321234356", "z9hG4bK2d4790.1"},
}};

// ---- Content-Length consistency helpers (constexpr, usable at run time too) ----

namespace detail {
constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}
}  // namespace detail

// Offset of the first body byte (just after the blank CRLF line), or nullopt.
constexpr std::optional<std::size_t> body_offset(std::string_view msg) {
  const auto eoh = msg.find("\r\n\r\n");
  if (eoh == std::string_view::npos) return std::nullopt;
  return eoh + 4;
}

// Value of the Content-Length (or compact "l") header, or nullopt if absent/malformed.
constexpr std::optional<std::size_t> declared_content_length(std::string_view msg) {
  const auto body = body_offset(msg);
  if (!body) return std::nullopt;
  std::string_view head = msg.substr(0, *body - 2);  // keep the CRLF of the last header
  std::size_t pos = head.find("\r\n");                // skip the start line
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const std::size_t start = pos + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end - start);
    const std::size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (detail::iequals(name, "Content-Length") || detail::iequals(name, "l")) {
        std::size_t i = colon + 1;
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i == line.size()) return std::nullopt;
        std::size_t value = 0;
        for (; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
          value = value * 10 + std::size_t(line[i] - '0');
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i != line.size()) return std::nullopt;
        return value;
      }
    }
    pos = end;
  }
  return std::nullopt;
}

// True if the message has a Content-Length header equal to the actual body size.
constexpr bool content_length_matches(std::string_view msg) {
  const auto body = body_offset(msg);
  const auto declared = declared_content_length(msg);
  return body && declared && *declared == msg.size() - *body;
}

// True if every line (headers and body) ends with CRLF (no bare LF / CR).
constexpr bool uses_crlf(std::string_view msg) {
  if (!body_offset(msg)) return false;
  for (std::size_t i = 0; i < msg.size(); ++i) {
    if (msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) return false;
    if (msg[i] == '\r' && (i + 1 >= msg.size() || msg[i + 1] != '\n')) return false;
  }
  return true;
}

static_assert(kInviteSdp.size() == 877, "INVITE+SDP is meant to be 877 bytes");
static_assert(content_length_matches(kInviteSdp));
static_assert(content_length_matches(kRegister200));
static_assert(content_length_matches(kRinging180));
static_assert(uses_crlf(kInviteSdp) && uses_crlf(kRegister200) && uses_crlf(kRinging180));
static_assert(declared_content_length(kInviteSdp) == 357);
static_assert(kMessages[0].body_len == 357 && kMessages[1].body_len == 0 && kMessages[2].body_len == 0);

}  // namespace exphone::bench
