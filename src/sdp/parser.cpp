// SDP text -> Session (RFC 8866 section 5 and section 9 grammar).
//
// Leniency, chosen to match what deployed phones and PBXs (baresip/libre, Asterisk) accept:
//  - CRLF or bare LF line endings (RFC 8866 section 5: parsers SHOULD accept LF), a missing final
//    line ending, trailing empty lines, trailing SP/HTAB on a line, runs of SP between fields;
//  - session-level lines in any order after v=, and media-level lines in any order after m=;
//  - a missing t= line is read as "t=0 0"; an empty s= is kept as "".
// Strictness:
//  - v=0 must be the first line, o= and s= are required;
//  - every line must be <lower-case letter>=..., with no control characters other than HTAB;
//  - a type letter this parser does not know rejects the description (RFC 8866 section 5: a
//    parser MUST completely ignore a description with a type letter it does not understand);
//  - single-instance lines may not repeat; session-only lines may not appear after m=.
#include <array>

#include "core/text.h"
#include "sdp/detail.h"
#include "sdp/session.h"

namespace exphone::sdp {
namespace {

struct Line {
  std::string_view text;  // without line ending and trailing SP/HTAB
  std::size_t offset = 0;
  std::size_t number = 0;  // 1-based
};

Error line_error(const char* code, const Line& line, std::string_view reason) {
  std::string msg = "line " + std::to_string(line.number) + ": " + std::string(reason) + ": '" +
                    detail::snippet(line.text) + "'";
  return make_error(code, std::move(msg), line.offset);
}

bool is_proto(std::string_view s) {
  // proto = token *("/" token)  (RFC 8866 section 9)
  if (s.empty() || s.front() == '/' || s.back() == '/') return false;
  for (char c : s)
    if (!text::is_token_char(c) && c != '/') return false;
  return s.find("//") == std::string_view::npos;
}

bool is_ip4_dotted(std::string_view s) {
  auto parts = detail::split(s, '.');
  if (parts.size() != 4) return false;
  for (auto p : parts)
    if (p.size() > 3 || !text::parse_uint(p, 255)) return false;
  return true;
}

// Unicast or multicast address / FQDN shape check (RFC 8866 section 9: IP4-address, IP6-address,
// FQDN). Deliberately not a full IP parser: the net layer resolves and validates for use.
bool is_address(std::string_view addr_type, std::string_view a) {
  if (a.empty() || a.size() > 255) return false;
  bool all_digits_dots = true;
  for (char c : a) {
    bool ok = text::is_alnum(c) || c == '.' || c == '-' || (c == ':' && !text::iequals(addr_type, "IP4"));
    if (!ok) return false;
    if (!text::is_digit(c) && c != '.') all_digits_dots = false;
  }
  if (text::iequals(addr_type, "IP4") && all_digits_dots) return is_ip4_dotted(a);
  return true;
}

class Parser {
 public:
  Parser(std::string_view in, const Limits& limits) : in_(in), limits_(limits) {}

  Result<Session> run();

 private:
  Status split_lines();
  Status session_line(const Line& l, char type, std::string_view v);
  Status media_line(const Line& l, char type, std::string_view v);
  Status parse_origin(const Line& l, std::string_view v);
  Result<Connection> parse_connection(const Line& l, std::string_view v);
  Result<Bandwidth> parse_bandwidth(const Line& l, std::string_view v);
  Status parse_time(const Line& l, std::string_view v);
  Status parse_media(const Line& l, std::string_view v);
  Result<Attribute> parse_attribute(const Line& l, std::string_view v, std::size_t count);

  std::string_view in_;
  const Limits& limits_;
  std::vector<Line> lines_;
  Session s_;
  bool have_origin_ = false;
  bool have_name_ = false;
};

Status Parser::split_lines() {
  std::size_t pos = 0;
  while (pos < in_.size()) {
    std::size_t nl = in_.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? in_.size() : nl;
    std::string_view t = in_.substr(pos, end - pos);
    if (!t.empty() && t.back() == '\r') t.remove_suffix(1);
    while (!t.empty() && text::is_ws(t.back())) t.remove_suffix(1);
    Line line{t, pos, lines_.size() + 1};
    if (lines_.size() >= limits_.max_lines)
      return line_error("sdp-too-many-lines", line,
                        "more than " + std::to_string(limits_.max_lines) + " lines");
    lines_.push_back(line);
    pos = nl == std::string_view::npos ? in_.size() : nl + 1;
  }
  while (!lines_.empty() && lines_.back().text.empty()) lines_.pop_back();
  return Ok{};
}

Result<Session> Parser::run() {
  if (in_.size() > limits_.max_size)
    return make_error("sdp-too-large",
                      "description is " + std::to_string(in_.size()) + " bytes, limit is " +
                          std::to_string(limits_.max_size),
                      limits_.max_size);
  if (auto st = split_lines(); !st) return st.error();
  if (lines_.empty()) return make_error("sdp-empty", "empty session description", 0);

  for (const Line& l : lines_) {
    // RFC 8866 section 5: <type>=<value>, type a single case-significant letter. Text fields are
    // byte-strings without NUL, CR, LF; we reject every control byte except HTAB.
    for (std::size_t i = 0; i < l.text.size(); ++i) {
      auto c = static_cast<unsigned char>(l.text[i]);
      if ((c < 0x20 && c != '\t') || c == 0x7f)
        return line_error("sdp-bad-character", l, "control character at column " + std::to_string(i + 1));
    }
    if (l.text.empty()) return line_error("sdp-bad-line", l, "empty line");
    if (l.text.size() < 2 || l.text[1] != '=' || l.text[0] < 'a' || l.text[0] > 'z')
      return line_error("sdp-bad-line", l, "not of the form <letter>=<value>");
    char type = l.text[0];
    std::string_view v = l.text.substr(2);

    if (l.number == 1) {
      if (type != 'v') return line_error("sdp-missing-version", l, "first line is not v=");
      if (v != "0") return line_error("sdp-bad-version", l, "protocol version is not 0");
      continue;
    }
    Status st = s_.media_descriptions.empty() ? session_line(l, type, v) : media_line(l, type, v);
    if (!st) return st.error();
  }
  if (!have_origin_) return make_error("sdp-missing-origin", "no o= line", kNoOffset);
  if (!have_name_) return make_error("sdp-missing-session-name", "no s= line", kNoOffset);
  if (s_.timings.empty()) s_.timings.push_back(Timing{});  // tolerated: read as t=0 0
  return std::move(s_);
}

Status Parser::session_line(const Line& l, char type, std::string_view v) {
  auto once = [&](bool present) -> Status {
    if (present) return line_error("sdp-duplicate-line", l, std::string("second ") + type + "= line");
    return Ok{};
  };
  switch (type) {
    case 'v':
      return line_error("sdp-duplicate-line", l, "second v= line");
    case 'o':
      if (auto st = once(have_origin_); !st) return st;
      return parse_origin(l, v);
    case 's':  // RFC 8866 5.3; "s= " and "s=-" are the usual "no name"
      if (auto st = once(have_name_); !st) return st;
      have_name_ = true;
      s_.name = std::string(v);
      return Ok{};
    case 'i':
      if (auto st = once(s_.information.has_value()); !st) return st;
      s_.information = std::string(v);
      return Ok{};
    case 'u':
      if (auto st = once(s_.uri.has_value()); !st) return st;
      s_.uri = std::string(v);
      return Ok{};
    case 'e':
      s_.emails.emplace_back(v);
      return Ok{};
    case 'p':
      s_.phones.emplace_back(v);
      return Ok{};
    case 'c': {
      if (auto st = once(s_.connection.has_value()); !st) return st;
      auto c = parse_connection(l, v);
      if (!c) return c.error();
      s_.connection = std::move(*c);
      return Ok{};
    }
    case 'b': {
      auto b = parse_bandwidth(l, v);
      if (!b) return b.error();
      s_.bandwidths.push_back(std::move(*b));
      return Ok{};
    }
    case 't':
      return parse_time(l, v);
    case 'r':  // RFC 8866 5.10: belongs to the preceding t=
      if (s_.timings.empty()) return line_error("sdp-bad-time", l, "r= line without a preceding t=");
      if (v.empty()) return line_error("sdp-bad-time", l, "empty r= line");
      s_.timings.back().repeats.emplace_back(v);
      return Ok{};
    case 'z':
      if (auto st = once(s_.zone_adjustments.has_value()); !st) return st;
      s_.zone_adjustments = std::string(v);
      return Ok{};
    case 'k':
      if (auto st = once(s_.key.has_value()); !st) return st;
      s_.key = std::string(v);
      return Ok{};
    case 'a': {
      auto a = parse_attribute(l, v, s_.attributes.size());
      if (!a) return a.error();
      s_.attributes.push_back(std::move(*a));
      return Ok{};
    }
    case 'm':
      return parse_media(l, v);
    default:
      return line_error("sdp-unknown-line-type", l, std::string("unknown line type '") + type + "'");
  }
}

Status Parser::media_line(const Line& l, char type, std::string_view v) {
  MediaDescription& m = s_.media_descriptions.back();
  switch (type) {
    case 'm':
      return parse_media(l, v);
    case 'i':
      if (m.information) return line_error("sdp-duplicate-line", l, "second i= line in media section");
      m.information = std::string(v);
      return Ok{};
    case 'c': {
      auto c = parse_connection(l, v);
      if (!c) return c.error();
      m.connections.push_back(std::move(*c));
      return Ok{};
    }
    case 'b': {
      auto b = parse_bandwidth(l, v);
      if (!b) return b.error();
      m.bandwidths.push_back(std::move(*b));
      return Ok{};
    }
    case 'k':
      if (m.key) return line_error("sdp-duplicate-line", l, "second k= line in media section");
      m.key = std::string(v);
      return Ok{};
    case 'a': {
      auto a = parse_attribute(l, v, m.attributes.size());
      if (!a) return a.error();
      m.attributes.push_back(std::move(*a));
      return Ok{};
    }
    case 'v': case 'o': case 's': case 'u': case 'e': case 'p': case 't': case 'r': case 'z':
      return line_error("sdp-misplaced-line", l,
                        std::string("session-level ") + type + "= line inside a media section");
    default:
      return line_error("sdp-unknown-line-type", l, std::string("unknown line type '") + type + "'");
  }
}

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 8866 5.2)
Status Parser::parse_origin(const Line& l, std::string_view v) {
  constexpr const char* kCode = "sdp-bad-origin";
  auto f = detail::split_ws(v);
  if (f.size() != 6)
    return line_error(kCode, l, "expected 6 fields: <username> <sess-id> <sess-version> <nettype> <addrtype> <address>");
  auto id = text::parse_uint(f[1], UINT64_MAX);
  if (!id) return line_error(kCode, l, "sess-id is not a 64-bit decimal number");
  auto ver = text::parse_uint(f[2], UINT64_MAX);
  if (!ver) return line_error(kCode, l, "sess-version is not a 64-bit decimal number");
  if (!text::is_token(f[3]) || !text::is_token(f[4])) return line_error(kCode, l, "bad nettype or addrtype");
  if (!is_address(f[4], f[5])) return line_error(kCode, l, "bad unicast-address");
  Origin& o = s_.origin;
  o.username = std::string(f[0]);
  o.session_id = *id;
  o.session_version = *ver;
  o.net_type = std::string(f[3]);
  o.addr_type = std::string(f[4]);
  o.address = std::string(f[5]);
  have_origin_ = true;
  return Ok{};
}

// c=<nettype> <addrtype> <connection-address> (RFC 8866 5.7):
//   IP4 multicast: <base>/<ttl>[/<number of addresses>]; IP6 multicast: <base>[/<number>].
Result<Connection> Parser::parse_connection(const Line& l, std::string_view v) {
  constexpr const char* kCode = "sdp-bad-connection";
  auto f = detail::split_ws(v);
  if (f.size() != 3) return line_error(kCode, l, "expected <nettype> <addrtype> <connection-address>");
  if (!text::is_token(f[0]) || !text::is_token(f[1])) return line_error(kCode, l, "bad nettype or addrtype");
  Connection c;
  c.net_type = std::string(f[0]);
  c.addr_type = std::string(f[1]);
  auto parts = detail::split(f[2], '/');
  if (!is_address(f[1], parts[0])) return line_error(kCode, l, "bad connection-address");
  c.address = std::string(parts[0]);
  bool ip4 = text::iequals(f[1], "IP4");
  if (parts.size() > (ip4 ? 3u : 2u)) return line_error(kCode, l, "too many '/' fields in address");
  std::size_t next = 1;
  if (ip4 && parts.size() > 1) {
    auto ttl = text::parse_uint(parts[1], 255);
    if (!ttl) return line_error(kCode, l, "multicast TTL is not 0..255");
    c.ttl = static_cast<std::uint8_t>(*ttl);
    next = 2;
  }
  if (parts.size() > next) {
    auto n = text::parse_uint(parts[next]);
    if (!n || *n == 0) return line_error(kCode, l, "number of addresses is not a positive number");
    c.address_count = static_cast<std::uint32_t>(*n);
  }
  return c;
}

// b=<bwtype>:<bandwidth> (RFC 8866 5.8)
Result<Bandwidth> Parser::parse_bandwidth(const Line& l, std::string_view v) {
  auto colon = v.find(':');
  if (colon == std::string_view::npos) return line_error("sdp-bad-bandwidth", l, "expected <bwtype>:<bandwidth>");
  auto type = v.substr(0, colon);
  auto value = text::parse_uint(v.substr(colon + 1), UINT64_MAX);
  if (!text::is_token(type) || !value) return line_error("sdp-bad-bandwidth", l, "expected <bwtype>:<bandwidth>");
  return Bandwidth{std::string(type), *value};
}

// t=<start-time> <stop-time> (RFC 8866 5.9), NTP seconds, 0 for unbounded.
Status Parser::parse_time(const Line& l, std::string_view v) {
  auto f = detail::split_ws(v);
  if (f.size() != 2) return line_error("sdp-bad-time", l, "expected <start-time> <stop-time>");
  auto start = text::parse_uint(f[0], UINT64_MAX);
  auto stop = text::parse_uint(f[1], UINT64_MAX);
  if (!start || !stop) return line_error("sdp-bad-time", l, "times are not decimal numbers");
  s_.timings.push_back(Timing{*start, *stop, {}});
  return Ok{};
}

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 8866 5.14)
Status Parser::parse_media(const Line& l, std::string_view v) {
  constexpr const char* kCode = "sdp-bad-media";
  if (s_.media_descriptions.size() >= limits_.max_media)
    return line_error("sdp-too-many-media", l, "more than " + std::to_string(limits_.max_media) + " media sections");
  auto f = detail::split_ws(v);
  if (f.size() < 3) return line_error(kCode, l, "expected <media> <port> <proto> <fmt> ...");
  if (!text::is_token(f[0])) return line_error(kCode, l, "bad media type");
  MediaDescription m;
  m.media = std::string(f[0]);
  auto slash = f[1].find('/');
  auto port = detail::parse_port(f[1].substr(0, slash));
  if (!port) return line_error(kCode, l, "port is not a number 0..65535");
  m.port = *port;
  if (slash != std::string_view::npos) {
    auto n = text::parse_uint(f[1].substr(slash + 1));
    if (!n || *n == 0) return line_error(kCode, l, "number of ports is not a positive number");
    m.port_count = static_cast<std::uint32_t>(*n);
  }
  if (!is_proto(f[2])) return line_error(kCode, l, "bad proto");
  m.proto = std::string(f[2]);
  bool rtp = m.is_rtp();
  for (std::size_t i = 3; i < f.size(); ++i) {
    if (!text::is_token(f[i])) return line_error(kCode, l, "bad format");
    // RFC 8866 5.14 / RFC 3551: for RTP protos the formats are payload type numbers.
    if (rtp && !text::parse_uint(f[i], 127)) return line_error(kCode, l, "RTP format is not a payload type 0..127");
    m.formats.emplace_back(f[i]);
  }
  // RFC 8866 requires at least one format; a rejected stream (port 0) without one is tolerated.
  if (m.formats.empty() && m.port != 0) return line_error(kCode, l, "no formats");
  s_.media_descriptions.push_back(std::move(m));
  return Ok{};
}

// a=<attribute-name>[:<attribute-value>] (RFC 8866 5.13); attribute-name is a token.
Result<Attribute> Parser::parse_attribute(const Line& l, std::string_view v, std::size_t count) {
  if (count >= limits_.max_attributes)
    return line_error("sdp-too-many-attributes", l,
                      "more than " + std::to_string(limits_.max_attributes) + " attributes in one section");
  auto colon = v.find(':');
  auto name = v.substr(0, colon);
  if (!text::is_token(name)) return line_error("sdp-bad-attribute", l, "attribute name is not a token");
  Attribute a;
  a.name = std::string(name);
  if (colon != std::string_view::npos) a.value = std::string(v.substr(colon + 1));
  a.offset = l.offset;
  return a;
}

}  // namespace

Result<Session> parse(std::string_view text, const Limits& limits) {
  return Parser(text, limits).run();
}

}  // namespace exphone::sdp
