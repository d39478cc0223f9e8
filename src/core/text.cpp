#include "core/text.h"

namespace exphone::text {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  // Up to 19 decimal digits always fit in 64 bits, so the range check can wait until the end;
  // only a 20-digit number needs overflow checks.
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (s.size() == 20 && (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, d, &v))) return std::nullopt;
    if (s.size() < 20) v = v * 10 + d;
  }
  if (v > max) return std::nullopt;
  return v;
}

std::size_t find_unquoted(std::string_view s, char c, std::size_t from) {
  bool in_quote = false;
  bool in_angle = false;
  for (std::size_t i = from; i < s.size(); ++i) {
    char ch = s[i];
    if (in_quote) {
      if (ch == '\\' && i + 1 < s.size()) ++i;
      else if (ch == '"') in_quote = false;
      continue;
    }
    if (in_angle) {
      if (ch == '>') in_angle = false;
      continue;
    }
    if (ch == c) return i;
    if (ch == '"') in_quote = true;
    else if (ch == '<') in_angle = true;
  }
  return std::string_view::npos;
}

}  // namespace exphone::text
