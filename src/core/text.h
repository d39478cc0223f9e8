// Small text helpers shared by the message layers: ASCII-only, locale-free, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace exphone::text {

constexpr char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
constexpr int hex_value(char c) {
  return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}
constexpr bool is_ws(char c) { return c == ' ' || c == '\t'; }
// LWS as the parsers see it after unfolding: SP, HTAB, and CR/LF of a folded line.
constexpr bool is_lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}
inline bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}
std::string to_lower(std::string_view s);

// strip LWS (SP, HTAB, CR, LF)
inline std::string_view trim_left(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_lws(s[i])) ++i;
  return s.substr(i);
}
inline std::string_view trim_right(std::string_view s) {
  std::size_t n = s.size();
  while (n > 0 && is_lws(s[n - 1])) --n;
  return s.substr(0, n);
}
inline std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

// Parses a decimal unsigned number that fills all of s. No sign, no spaces, bounded by max.
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max = UINT32_MAX);

// RFC 3261 token characters (section 25.1): alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" /
// "`" / "'" / "~". A table, because the parsers ask for every byte of every name.
namespace detail {
struct TokenTable {
  bool v[256] = {};
  constexpr TokenTable() {
    for (int c = 0; c < 256; ++c)
      v[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
             c == '.' || c == '!' || c == '%' || c == '*' || c == '_' || c == '+' || c == '`' || c == '\'' ||
             c == '~';
  }
};
inline constexpr TokenTable kTokenTable{};
}  // namespace detail
constexpr bool is_token_char(char c) { return detail::kTokenTable.v[static_cast<unsigned char>(c)]; }
inline bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
}

// Finds c in s at nesting level 0, skipping quoted strings (with \-escapes) and <...>.
// Returns npos when absent.
std::size_t find_unquoted(std::string_view s, char c, std::size_t from = 0);

}  // namespace exphone::text
