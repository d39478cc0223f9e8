#include "sip/params.h"

#include "core/text.h"

namespace exphone::sip {

using text::is_token_char;
using text::is_ws;

std::size_t skip_quoted(std::string_view s, std::size_t pos) {
  for (std::size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      if (++i >= s.size()) return std::string_view::npos;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

namespace {

// Characters allowed in an unquoted parameter value. Header params: token plus the host
// characters ':' '[' ']' (IPv6 in received/maddr). URI params (paramchar, section 25.1): unreserved,
// escaped, and "[]/:&+$".
struct ValueTable {
  std::uint8_t v[256] = {};  // bit 1: header param value char, bit 2: URI param value char
  constexpr ValueTable() {
    for (int c = 0; c < 256; ++c)
      if (text::is_token_char(static_cast<char>(c))) v[c] = 3;
    for (char c : {':', '[', ']', '/'}) v[static_cast<unsigned char>(c)] = 3;
    for (char c : {'&', '+', '$', '(', ')', '%'}) v[static_cast<unsigned char>(c)] |= 2;
  }
};
constexpr ValueTable kValue{};

inline bool is_value_char(char c, bool header_syntax) {
  return kValue.v[static_cast<unsigned char>(c)] & (header_syntax ? 1 : 2);
}

std::size_t skip_lws(std::string_view s, std::size_t i) {
  while (i < s.size() && text::is_lws(s[i])) ++i;
  return i;
}

}  // namespace

std::optional<Error> Params::parse_into(Params& p, std::string_view s, bool header_syntax, std::size_t max_params,
                                        std::size_t* consumed) {
  p.count_ = 0;
  if (s.size() > UINT16_MAX) return make_error("sip-too-long", "parameters longer than 65535 bytes", 0);
  std::size_t i = header_syntax ? skip_lws(s, 0) : 0;
  std::size_t start = i;
  std::size_t end = i;
  while (i < s.size() && s[i] == ';') {
    if (p.count_ >= max_params)
      return make_error("sip-too-many-params", "more than " + std::to_string(max_params) + " parameters", i);
    ++i;
    if (header_syntax) i = skip_lws(s, i);
    std::size_t n0 = i;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == n0) return make_error("sip-bad-param", "empty parameter name", n0);
    Slot slot;
    slot.name_off = static_cast<std::uint16_t>(n0 - start);
    slot.name_len = static_cast<std::uint16_t>(i - n0);
    std::size_t j = header_syntax ? skip_lws(s, i) : i;
    std::size_t v0 = i;
    if (j < s.size() && s[j] == '=') {
      slot.has_value = true;
      i = header_syntax ? skip_lws(s, j + 1) : j + 1;
      v0 = i;
      if (i < s.size() && s[i] == '"' && header_syntax) {
        std::size_t q = skip_quoted(s, i);
        if (q == std::string_view::npos) return make_error("sip-bad-param", "unterminated quoted parameter value", i);
        i = q;
      } else {
        while (i < s.size() && is_value_char(s[i], header_syntax)) ++i;
        if (i == v0) return make_error("sip-bad-param", "empty parameter value", v0);
      }
      slot.value_off = static_cast<std::uint16_t>(v0 - start);
      slot.value_len = static_cast<std::uint16_t>(i - v0);
    }
    if (p.count_ < kIndexed) p.index_[p.count_] = slot;
    ++p.count_;
    end = i;
    if (header_syntax) i = skip_lws(s, i);
  }
  p.raw_ = s.substr(start, end - start);
  if (consumed) *consumed = header_syntax ? i : end;
  return std::nullopt;
}

Result<Params> Params::parse(std::string_view s, bool header_syntax, std::size_t max_params,
                             std::size_t* consumed) {
  Params p;
  if (auto e = parse_into(p, s, header_syntax, max_params, consumed)) return std::move(*e);
  return p;
}

bool Params::next(std::size_t& pos, Param& out) const {
  // raw_ was validated by parse(), so this scanner can be simple.
  if (pos >= raw_.size()) return false;
  std::size_t i = pos + 1;  // skip ';'
  while (i < raw_.size() && text::is_lws(raw_[i])) ++i;
  std::size_t n0 = i;
  while (i < raw_.size() && is_token_char(raw_[i])) ++i;
  out.name = raw_.substr(n0, i - n0);
  out.value = {};
  out.has_value = false;
  while (i < raw_.size() && text::is_lws(raw_[i])) ++i;
  if (i < raw_.size() && raw_[i] == '=') {
    ++i;
    while (i < raw_.size() && text::is_lws(raw_[i])) ++i;
    std::size_t v0 = i;
    if (i < raw_.size() && raw_[i] == '"') {
      i = skip_quoted(raw_, i);
    } else {
      while (i < raw_.size() && raw_[i] != ';' && !text::is_lws(raw_[i])) ++i;
    }
    out.value = raw_.substr(v0, i - v0);
    out.has_value = true;
  }
  while (i < raw_.size() && raw_[i] != ';') ++i;
  pos = i;
  return true;
}

std::optional<std::string_view> Params::get(std::string_view name) const {
  if (count_ <= kIndexed) {
    for (std::size_t i = 0; i < count_; ++i) {
      const Slot& e = index_[i];
      if (e.name_len == name.size() && text::iequals(raw_.substr(e.name_off, e.name_len), name))
        return raw_.substr(e.value_off, e.value_len);
    }
    return std::nullopt;
  }
  std::size_t pos = 0;
  Param p;
  while (next(pos, p))
    if (text::iequals(p.name, name)) return p.value;
  return std::nullopt;
}

std::string unquote(std::string_view s) {
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return std::string(s);
  std::string out;
  out.reserve(s.size() - 2);
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    if (s[i] == '\\' && i + 2 < s.size()) ++i;
    out.push_back(s[i]);
  }
  return out;
}

std::optional<std::string> unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = text::hex_value(s[i + 1]);
      int lo = text::hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace exphone::sip
