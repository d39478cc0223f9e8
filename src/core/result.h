// Errors are values: a stable machine code, a human message, and where it happened.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <variant>

namespace exphone {

inline constexpr std::size_t kNoOffset = static_cast<std::size_t>(-1);

struct Error {
  std::string code;     // stable, used in JSON reports: "sip-bad-start-line", "tls-unknown-ca", ...
  std::string message;  // for humans
  std::size_t offset = kNoOffset;  // byte offset in the input, when the error has a place

  std::string to_string() const;
};

Error make_error(std::string code, std::string message, std::size_t offset = kNoOffset);

// A value or an Error. Small and explicit: check ok(), then use value() or error().
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}   // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(value()); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result for operations without a value.
struct Ok {};
using Status = Result<Ok>;

}  // namespace exphone
