// ICE attributes in SDP (RFC 8839 section 5).
#include "core/text.h"
#include "sdp/attributes.h"
#include "sdp/detail.h"

namespace exphone::sdp {
namespace {

// ice-char = ALPHA / DIGIT / "+" / "/"  (RFC 8839 section 5.1)
bool is_ice_chars(std::string_view s) {
  for (char c : s)
    if (!text::is_alnum(c) && c != '+' && c != '/') return false;
  return true;
}

Result<std::string> parse_ice_credential(std::string_view value, std::size_t min_len,
                                         const char* code, const char* what) {
  // RFC 8839 section 5.4: ufrag 4..256 ice-chars, pwd 22..256 ice-chars.
  if (value.size() < min_len || value.size() > 256 || !is_ice_chars(value))
    return detail::value_error(code, what,
                               "must be " + std::to_string(min_len) + " to 256 of ALPHA / DIGIT / + /",
                               value);
  return std::string(value);
}

}  // namespace

Result<std::string> parse_ice_ufrag(std::string_view value) {
  return parse_ice_credential(value, 4, "sdp-bad-ice-ufrag", "ice-ufrag");
}

Result<std::string> parse_ice_pwd(std::string_view value) {
  return parse_ice_credential(value, 22, "sdp-bad-ice-pwd", "ice-pwd");
}

std::vector<std::string> parse_ice_options(std::string_view value) {
  std::vector<std::string> out;
  for (auto f : detail::split_ws(value)) out.emplace_back(f);
  return out;
}

// RFC 8839 section 5.1:
//   candidate-attribute = "candidate" ":" foundation SP component-id SP transport SP priority SP
//                         connection-address SP port SP cand-type [SP rel-addr] [SP rel-port]
//                         *(SP cand-extension)
Result<Candidate> parse_candidate(std::string_view value) {
  constexpr const char* kCode = "sdp-bad-candidate";
  std::string_view v = value;
  if (text::istarts_with(v, "candidate:")) v.remove_prefix(10);  // trickle-ICE form
  auto f = detail::split_ws(v);
  auto err = [&](std::string_view reason) { return detail::value_error(kCode, "candidate", reason, value); };
  if (f.size() < 8) return err("expected '<foundation> <component> <transport> <priority> <address> <port> typ <type>'");
  Candidate c;
  if (f[0].size() > 32 || !is_ice_chars(f[0])) return err("foundation is not 1 to 32 ice-chars");
  c.foundation = std::string(f[0]);
  auto comp = f[1].size() <= 3 ? text::parse_uint(f[1], 256) : std::nullopt;
  if (!comp || *comp == 0) return err("component-id is not 1..256");
  c.component = static_cast<std::uint16_t>(*comp);
  if (!text::is_token(f[2])) return err("bad transport");
  c.transport = std::string(f[2]);
  auto prio = f[3].size() <= 10 ? text::parse_uint(f[3], UINT32_MAX) : std::nullopt;
  if (!prio) return err("priority is not a 32-bit number");
  c.priority = static_cast<std::uint32_t>(*prio);
  c.address = std::string(f[4]);
  auto port = detail::parse_port(f[5]);
  if (!port) return err("port is not 0..65535");
  c.port = *port;
  if (f[6] != "typ" || !text::is_token(f[7])) return err("missing 'typ <candidate type>'");
  c.type = std::string(f[7]);
  if ((f.size() - 8) % 2 != 0) return err("extension without a value");
  for (std::size_t i = 8; i + 1 < f.size(); i += 2) {
    if (f[i] == "raddr") {
      if (c.rel_addr) return err("duplicate raddr");
      c.rel_addr = std::string(f[i + 1]);
    } else if (f[i] == "rport") {
      auto rp = detail::parse_port(f[i + 1]);
      if (!rp || c.rel_port) return err("bad or duplicate rport");
      c.rel_port = *rp;
    } else {
      c.extensions.emplace_back(std::string(f[i]), std::string(f[i + 1]));
    }
  }
  return c;
}

std::string to_string(const Candidate& c) {
  std::string s = c.foundation + " " + std::to_string(c.component) + " " + c.transport + " " +
                  std::to_string(c.priority) + " " + c.address + " " + std::to_string(c.port) +
                  " typ " + c.type;
  if (c.rel_addr) s += " raddr " + *c.rel_addr;
  if (c.rel_port) s += " rport " + std::to_string(*c.rel_port);
  for (const auto& [name, val] : c.extensions) s += " " + name + " " + val;
  return s;
}

}  // namespace exphone::sdp
