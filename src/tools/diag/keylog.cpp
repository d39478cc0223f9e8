#include "tools/diag/keylog.h"

#include <charconv>
#include <map>

#include "core/base64.h"

namespace exphone::diag {

std::optional<Endpoint> parse_endpoint(std::string_view t) {
  Endpoint e;
  std::string_view port;
  if (!t.empty() && t.front() == '[') {
    auto close = t.find(']');
    if (close == std::string_view::npos || close + 1 >= t.size() || t[close + 1] != ':') return std::nullopt;
    e.ip = std::string(t.substr(1, close - 1));
    port = t.substr(close + 2);
  } else {
    auto colon = t.rfind(':');
    if (colon == std::string_view::npos || t.find(':') != colon) return std::nullopt;
    e.ip = std::string(t.substr(0, colon));
    port = t.substr(colon + 1);
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (e.ip.empty() || ec != std::errc{} || p != port.data() + port.size() || v > 65535) return std::nullopt;
  e.port = static_cast<std::uint16_t>(v);
  return e;
}

Result<std::vector<SrtpKeyLine>> parse_srtp_keylog(std::string_view text) {
  std::vector<SrtpKeyLine> out;
  std::size_t lineno = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](const std::string& what) {
      return make_error("diag-keylog-bad-line", "SRTP key log line " + std::to_string(lineno) + ": " + what);
    };
    SrtpKeyLine k;
    k.line = lineno;
    std::map<std::string, std::string, std::less<>> f;
    bool first = true;
    while (!line.empty()) {
      auto sp = line.find(' ');
      std::string_view tok = line.substr(0, sp);
      line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
      if (tok.empty()) continue;
      if (first) {
        first = false;
        k.time = std::string(tok);
        continue;
      }
      auto eq = tok.find('=');
      if (eq == std::string_view::npos) return bad("field without '=': " + std::string(tok));
      f[std::string(tok.substr(0, eq))] = std::string(tok.substr(eq + 1));
    }
    for (const char* need : {"call_id", "local", "remote", "ssrc", "direction", "suite", "key"})
      if (!f.count(need)) return bad(std::string("missing ") + need + "=");
    k.call_id = f["call_id"];
    auto l = parse_endpoint(f["local"]), r = parse_endpoint(f["remote"]);
    if (!l || !r) return bad("local=/remote= must be ip:port or [v6]:port");
    k.local = *l;
    k.remote = *r;
    if (f["ssrc"] != "-") {
      std::string_view s = f["ssrc"];
      if (s.starts_with("0x") || s.starts_with("0X")) s.remove_prefix(2);
      std::uint32_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
      if (s.empty() || ec != std::errc{} || p != s.data() + s.size()) return bad("ssrc= is not hex or '-'");
      k.ssrc = v;
    }
    if (f["direction"] == "outbound") k.outbound = true;
    else if (f["direction"] == "inbound") k.outbound = false;
    else return bad("direction= must be outbound or inbound");
    auto suite = media::srtp_suite_from_name(f["suite"]);
    if (!suite) return bad("unknown or unsupported suite " + f["suite"]);
    k.suite = *suite;
    auto key = base64_decode(f["key"]);
    if (!key) return bad("key= is not base64");
    if (key->size() != media::srtp_key_salt_length(k.suite))
      return bad("key= is " + std::to_string(key->size()) + " bytes, " + f["suite"] + " needs " +
                 std::to_string(media::srtp_key_salt_length(k.suite)));
    k.key_salt = std::move(*key);
    k.source = f.count("source") ? f["source"] : "";
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace exphone::diag
