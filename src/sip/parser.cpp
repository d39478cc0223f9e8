// RFC 3261 section 7 message parsing: start line, header index, body framed by Content-Length.
// One pass over the bytes; header values are views into the message's own buffer.
#include <cstdint>
#include <cstring>

#include "core/text.h"
#include "sip/message.h"

namespace exphone::sip {

namespace {

using text::is_digit;
using text::is_token_char;

// Bytes allowed inside a start line or header line: anything but controls (HTAB is allowed).
// UTF-8 (>= 0x80) is allowed: TEXT-UTF8 in reason phrases, display names and values.
constexpr bool is_line_char(unsigned char c) { return c >= 0x20 ? c != 0x7f : c == '\t'; }

bool valid_line(std::string_view s) {
  for (char c : s)
    if (!is_line_char(static_cast<unsigned char>(c))) return false;
  return true;
}

// A header value may carry any octet but CR/LF as a quoted-pair inside a quoted-string
// (section 25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)); controls elsewhere are refused.
bool valid_value(std::string_view s) {
  // Fast path: no control byte at all (the common case) needs no quote tracking.
  bool any_control = false;
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    any_control |= (c < 0x20 && c != '\t') | (c == 0x7f);
  }
  if (!any_control) return true;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (quoted && c == '\\' && i + 1 < s.size() && s[i + 1] != '\r' && s[i + 1] != '\n') {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!is_line_char(c)) return false;
  }
  return true;
}

// SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (case-insensitive literal, section 7.1)
bool valid_version(std::string_view v) {
  if (v.size() < 7 || !text::istarts_with(v, "SIP/")) return false;
  std::size_t i = 4;
  std::size_t d0 = i;
  while (i < v.size() && is_digit(v[i])) ++i;
  if (i == d0 || i >= v.size() || v[i] != '.') return false;
  std::size_t d1 = ++i;
  while (i < v.size() && is_digit(v[i])) ++i;
  return i != d1 && i == v.size();
}

// Bytes that stop the line scanner: LF, CR and the other controls (HTAB excepted), DEL.
struct StopTable {
  bool v[256] = {};
  constexpr StopTable() {
    for (int c = 0; c < 0x20; ++c) v[c] = c != '\t';
    v[0x7f] = true;
  }
};
constexpr StopTable kStop{};

// One header line: its text without the line end, where the next line starts, and whether a
// control byte occurs inside it. One pass over the bytes, no second validation pass.
struct LineScan {
  std::size_t end = 0;   // index of the line's CR or LF
  std::size_t next = 0;  // index after the LF
  bool control = false;
  bool complete = false;
};

// 16 bytes at a time: true when any byte is a stop byte (< 0x20 except HTAB, or DEL).
// GCC/Clang vector extensions: portable, and SSE2/NEON where available.
typedef unsigned char Bytes16 __attribute__((vector_size(16)));
// Index of the first stop byte in p[0..16), or 16 when there is none.
inline unsigned first_stop(const unsigned char* p) {
  Bytes16 v;
  std::memcpy(&v, p, 16);
  Bytes16 stop = ((v < 0x20) & (v != '\t')) | (v == 0x7f);  // 0xff where a stop byte is
  std::uint64_t a, b;
  std::memcpy(&a, &stop, 8);
  std::memcpy(&b, reinterpret_cast<const char*>(&stop) + 8, 8);
  if (a) return static_cast<unsigned>(__builtin_ctzll(a)) / 8;  // little-endian byte order
  if (b) return 8 + static_cast<unsigned>(__builtin_ctzll(b)) / 8;
  return 16;
}

inline LineScan scan_line(std::string_view s, std::size_t from) {
  LineScan r;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = from;
  const std::size_t n = s.size();
  for (;;) {
    while (i + 16 <= n) {
      unsigned k = first_stop(p + i);
      i += k;
      if (k < 16) break;
    }
    while (i < n && !kStop.v[p[i]]) ++i;
    if (i >= n) return r;
    if (p[i] == '\n') {
      r.end = i;
      r.next = i + 1;
      break;
    }
    if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') {
      r.end = i;
      r.next = i + 2;
      break;
    }
    r.control = true;
    ++i;
  }
  r.complete = true;
  return r;
}

}  // namespace

// Friend of Message: fills its private fields.
struct MessageParser {
  Message& m;
  std::string_view s;
  const Limits& limits;

  Error fail(const char* code, std::string msg, std::size_t offset) {
    return make_error(code, std::move(msg), offset);
  }

  std::optional<Error> start_line(std::string_view line, std::size_t off) {
    if (line.size() > limits.max_start_line)
      return fail("sip-too-long", "start line longer than " + std::to_string(limits.max_start_line) + " bytes", off);
    if (!valid_line(line)) return fail("sip-bad-start-line", "control character in start line", off);
    if (text::istarts_with(line, "SIP/")) {
      // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
      std::size_t sp = line.find(' ');
      m.version_ = line.substr(0, sp);
      if (sp == std::string_view::npos || !valid_version(m.version_))
        return fail("sip-bad-start-line", "malformed SIP version in status line", off);
      std::string_view code = line.substr(sp + 1, 3);
      auto n = text::parse_uint(code, 999);
      if (code.size() != 3 || !n || *n < 100 || *n > 699)
        return fail("sip-bad-status", "status code must be three digits 100-699", off + sp + 1);
      std::string_view rest = line.substr(sp + 4);
      if (!rest.empty() && rest[0] != ' ')
        return fail("sip-bad-status", "status code must be three digits 100-699", off + sp + 1);
      m.status_ = static_cast<int>(*n);
      m.reason_ = rest.empty() ? rest : rest.substr(1);
      return std::nullopt;
    }
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF. Extra or trailing whitespace
    // breaks the grammar but leaves the request answerable: model it and record a defect, so the
    // UAS sends 400 (RFC 4475 sections 3.1.2.10-12) instead of silently dropping it.
    std::string_view trimmed = text::trim_right(line);
    std::size_t sp1 = trimmed.find(' ');
    std::size_t sp2 = trimmed.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2)
      return fail("sip-bad-start-line", "request line needs Method SP Request-URI SP SIP-Version", off);
    m.method_ = trimmed.substr(0, sp1);
    if (!text::is_token(m.method_)) return fail("sip-bad-method", "method is not a token", off);
    m.version_ = trimmed.substr(sp2 + 1);
    if (!valid_version(m.version_))
      return fail("sip-bad-start-line", "malformed SIP version in request line", off + sp2 + 1);
    std::string_view uri = text::trim(trimmed.substr(sp1 + 1, sp2 - sp1 - 1));
    if (uri.empty()) return fail("sip-bad-start-line", "Request-URI missing", off + sp1 + 1);
    if (trimmed.size() != line.size() || uri.size() != sp2 - sp1 - 1 || uri.find_first_of(" \t") != std::string_view::npos) {
      m.request_uri_.raw = uri;
      m.defect_ = fail("sip-bad-start-line", "extra whitespace in the request line", off + sp1 + 1);
      return std::nullopt;
    }
    auto parsed = parse_uri(uri, limits.max_params);
    if (parsed) {
      m.request_uri_ = *parsed;
    } else {
      m.request_uri_.raw = uri;
      Error e = parsed.error();
      e.message = "Request-URI: " + e.message;
      e.offset = off + sp1 + 1 + (e.offset == kNoOffset ? 0 : e.offset);
      m.defect_ = std::move(e);
    }
    return std::nullopt;
  }

  void note_content_length(std::string_view value, std::size_t off) {
    auto n = text::parse_uint(value, UINT32_MAX);
    if (!n) {
      if (!m.defect_) m.defect_ = fail("sip-bad-content-length", "Content-Length is not a number", off);
      return;
    }
    if (m.content_length_ && *m.content_length_ != *n) {
      if (!m.defect_) m.defect_ = fail("sip-bad-content-length", "conflicting Content-Length headers", off);
      return;
    }
    m.content_length_ = static_cast<std::uint32_t>(*n);
  }

  std::optional<Error> run() {
    std::size_t pos = 0;
    // section 7.5: CRLFs before the start line are ignored
    while (pos < s.size() && (s[pos] == '\r' || s[pos] == '\n')) ++pos;
    if (pos == s.size()) return fail("sip-empty", "no SIP message in input", pos);

    auto line_at = [&](std::size_t from, std::size_t& next) -> std::optional<std::string_view> {
      const void* lf = std::memchr(s.data() + from, '\n', s.size() - from);
      if (!lf) return std::nullopt;
      std::size_t end = static_cast<std::size_t>(static_cast<const char*>(lf) - s.data());
      next = end + 1;
      if (end > from && s[end - 1] == '\r') --end;
      return s.substr(from, end - from);
    };

    std::size_t next = 0;
    auto first = line_at(pos, next);
    if (!first) return fail("sip-truncated", "start line not terminated by CRLF", pos);
    if (auto e = start_line(*first, pos)) return e;
    pos = next;

    m.headers_.reserve(16);
    for (;;) {
      if (pos >= s.size()) return fail("sip-truncated", "header section not terminated by an empty line", pos);
      LineScan ls = scan_line(s, pos);
      if (!ls.complete) return fail("sip-truncated", "header section not terminated by an empty line", pos);
      if (ls.end == pos) {
        pos = ls.next;
        break;
      }
      std::size_t line_off = pos;
      if (s[pos] == ' ' || s[pos] == '\t')
        return fail("sip-bad-header", "continuation line without a header before it", line_off);
      // Gather folded continuation lines (section 7.3.1: a line starting with SP/HTAB continues).
      std::size_t end_next = ls.next;
      std::size_t line_end = ls.end;
      bool folded = false;
      bool control = ls.control;
      while (end_next < s.size() && (s[end_next] == ' ' || s[end_next] == '\t')) {
        LineScan cont = scan_line(s, end_next);
        if (!cont.complete) return fail("sip-truncated", "header section not terminated by an empty line", end_next);
        folded = true;
        control = control || cont.control;
        line_end = cont.end;
        end_next = cont.next;
      }
      std::string_view raw = s.substr(line_off, line_end - line_off);
      if (raw.size() > limits.max_header_line)
        return fail("sip-too-long", "header line longer than " + std::to_string(limits.max_header_line) + " bytes", line_off);
      if (m.headers_.size() >= limits.max_headers)
        return fail("sip-too-many-headers", "more than " + std::to_string(limits.max_headers) + " headers", line_off);

      // header-name HCOLON value; HCOLON = *( SP / HTAB ) ":" SWS
      std::size_t i = 0;
      while (i < raw.size() && is_token_char(raw[i])) ++i;
      std::string_view name = raw.substr(0, i);
      if (name.empty()) return fail("sip-bad-header", "header line does not start with a name", line_off);
      while (i < raw.size() && (raw[i] == ' ' || raw[i] == '\t')) ++i;
      if (i >= raw.size() || raw[i] != ':')
        return fail("sip-bad-header", "expected ':' after header name '" + std::string(name) + "'", line_off + i);
      std::string_view value = raw.substr(i + 1);
      if (folded) {
        // Replace each CRLF/LF plus leading whitespace run by one SP (section 7.3.1).
        std::string joined;
        joined.reserve(value.size());
        for (std::size_t k = 0; k < value.size(); ++k) {
          char c = value[k];
          if (c == '\r' || c == '\n') {
            while (k + 1 < value.size() && text::is_lws(value[k + 1])) ++k;
            while (!joined.empty() && (joined.back() == ' ' || joined.back() == '\t')) joined.pop_back();
            joined.push_back(' ');
          } else {
            joined.push_back(c);
          }
        }
        value = m.keep(text::trim(joined));
      } else {
        value = text::trim(value);
      }
      if (control && !valid_value(value))
        return fail("sip-bad-header", "control character in header '" + std::string(name) + "'", line_off);
      HeaderId id = lookup_token_header(name);
      if (id == HeaderId::kContentLength) note_content_length(value, line_off);
      m.headers_.push_back(Header{name, value, id});
      pos = end_next;
    }

    // Body (section 7.4.1 / 18.3): Content-Length bytes; the rest of a datagram when absent.
    std::string_view rest = s.substr(pos);
    if (m.content_length_) {
      if (rest.size() >= *m.content_length_) {
        m.body_ = rest.substr(0, *m.content_length_);
      } else {
        m.body_ = rest;
        m.body_truncated_ = true;
        if (!m.defect_)
          m.defect_ = fail("sip-truncated-body",
                           "body has " + std::to_string(rest.size()) + " bytes, Content-Length says " +
                               std::to_string(*m.content_length_),
                           pos);
      }
    } else {
      m.body_ = rest;
    }
    return std::nullopt;
  }
};

Result<Message> Message::parse(std::string_view bytes, const Limits& limits) {
  if (bytes.size() > limits.max_message_size)
    return make_error("sip-too-large",
                      "message of " + std::to_string(bytes.size()) + " bytes exceeds the limit of " +
                          std::to_string(limits.max_message_size),
                      limits.max_message_size);
  Message m;
  m.limits_ = limits;
  m.buffer_ = std::make_unique_for_overwrite<char[]>(bytes.size() + 1);
  m.buffer_size_ = bytes.size();
  if (!bytes.empty()) std::memcpy(m.buffer_.get(), bytes.data(), bytes.size());
  MessageParser p{m, std::string_view(m.buffer_.get(), m.buffer_size_), limits};
  if (auto e = p.run()) return std::move(*e);
  return m;
}

}  // namespace exphone::sip
