#include "sdp/detail.h"

#include "core/text.h"

namespace exphone::sdp::detail {

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && text::is_ws(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && !text::is_ws(s[i])) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string snippet(std::string_view s) {
  constexpr std::size_t kMax = 40;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  return out;
}

bool is_nonws_string(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  auto v = text::parse_uint(s, 65535);
  if (!v) return std::nullopt;
  return static_cast<std::uint16_t>(*v);
}

Error value_error(const char* code, std::string_view what, std::string_view reason,
                  std::string_view value, std::size_t offset) {
  std::string msg(what);
  msg += ": ";
  msg += reason;
  msg += ": '";
  msg += snippet(value);
  msg += "'";
  return make_error(code, std::move(msg), offset);
}

}  // namespace exphone::sdp::detail
