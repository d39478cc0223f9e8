// Generic ";name[=value]" parameters (RFC 3261 section 7.3.1 header params, section 19.1.1 URI
// params). Kept as a validated view of the raw text; lookups scan it, so there is no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace exphone::sip {

struct Param {
  std::string_view name;
  std::string_view value;  // raw; quoted-strings keep their quotes (see unquote())
  bool has_value = false;
};

class Params {
 public:
  Params() = default;

  // Parses parameters at the start of `s` (which must begin with ';' or be empty) up to the end of
  // `s` or a character that ends them (',' and '>' never appear unquoted; '?' ends URI params).
  // header_syntax: LWS allowed around ';' and '=', quoted-string values allowed.
  static Result<Params> parse(std::string_view s, bool header_syntax, std::size_t max_params,
                              std::size_t* consumed = nullptr);

  // The same into an existing object, without a Result: the hot path of the header parsers.
  static std::optional<Error> parse_into(Params& out, std::string_view s, bool header_syntax,
                                         std::size_t max_params, std::size_t* consumed = nullptr);

  // The value of the first parameter named `name` (case-insensitive), "" for a flag parameter,
  // nullopt when absent.
  std::optional<std::string_view> get(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  std::string_view raw() const { return raw_; }

  // Calls f(const Param&) for each parameter in order.
  template <class F>
  void for_each(F&& f) const {
    if (count_ <= kIndexed) {
      for (std::size_t i = 0; i < count_; ++i) f(at(i));
      return;
    }
    std::size_t pos = 0;
    Param p;
    while (next(pos, p)) f(p);
  }

 private:
  bool next(std::size_t& pos, Param& out) const;
  Param at(std::size_t i) const {
    const Slot& e = index_[i];
    return Param{raw_.substr(e.name_off, e.name_len), raw_.substr(e.value_off, e.value_len), e.has_value};
  }

  // The first parameters are indexed while parsing (offsets into raw_), so a lookup compares
  // names only; beyond kIndexed, lookups scan raw_.
  static constexpr std::size_t kIndexed = 6;
  struct Slot {
    std::uint16_t name_off = 0, name_len = 0, value_off = 0, value_len = 0;
    bool has_value = false;
  };
  std::string_view raw_;  // ";a=b;c" (already validated)
  std::size_t count_ = 0;
  Slot index_[kIndexed];
};

// Removes surrounding quotes and \-escapes of a quoted-string (RFC 3261 section 25.1); returns
// the input unchanged when it is not quoted.
std::string unquote(std::string_view s);

// %HH-unescaping (RFC 3261 section 19.1.2); nullopt on a malformed escape.
std::optional<std::string> unescape(std::string_view s);

// Scans a quoted-string starting at s[pos] == '"'. Returns the index just past the closing quote,
// or npos when unterminated.
std::size_t skip_quoted(std::string_view s, std::size_t pos);

}  // namespace exphone::sip
