#include "core/text.h"

namespace exphone::text {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = to_lower(c);
  return out;
}

std::string_view trim_left(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && is_lws(s[i])) ++i;
  return s.substr(i);
}

std::string_view trim_right(std::string_view s) {
  std::size_t n = s.size();
  while (n > 0 && is_lws(s[n - 1])) --n;
  return s.substr(0, n);
}

std::string_view trim(std::string_view s) { return trim_right(trim_left(s)); }

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

bool is_token_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-': case '.': case '!': case '%': case '*': case '_':
    case '+': case '`': case '\'': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_token_char(c)) return false;
  return true;
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
