// The SRTP key log of docs/diagnostics.md ("[diagnostics] srtp_keylog_file"): one line per SRTP
// stream and direction, `time call_id=.. local=ip:port remote=ip:port ssrc=0x..|- direction=
// outbound|inbound suite=<RFC 4568/6188/7714 name> key=<base64 key||salt> source=sdes|dtls`.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "media/srtp_session.h"
#include "tools/diag/capture.h"

namespace exphone::diag {

struct SrtpKeyLine {
  std::size_t line = 0;  // 1-based, for messages
  std::string time;
  std::string call_id;
  Endpoint local, remote;
  std::optional<std::uint32_t> ssrc;
  bool outbound = true;
  media::SrtpSuite suite = media::SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<std::uint8_t> key_salt;
  std::string source;

  // The packets this key protects flow src -> dst.
  Endpoint src() const { return outbound ? local : remote; }
  Endpoint dst() const { return outbound ? remote : local; }
};

// "ip:port" or "[v6]:port". nullopt when malformed.
std::optional<Endpoint> parse_endpoint(std::string_view text);

// Parses the whole file text. Empty lines and lines starting with '#' are skipped. Errors
// (diag-keylog-bad-line) name the line and the field; a key of the wrong length for its suite
// and an unknown suite are errors too (a silently ignored key would look like an auth failure).
Result<std::vector<SrtpKeyLine>> parse_srtp_keylog(std::string_view text);

}  // namespace exphone::diag
