#include "core/result.h"

namespace exphone {

std::string Error::to_string() const {
  std::string s = code + ": " + message;
  if (offset != kNoOffset) s += " (at byte " + std::to_string(offset) + ")";
  return s;
}

Error make_error(std::string code, std::string message, std::size_t offset) {
  return Error{std::move(code), std::move(message), offset};
}

}  // namespace exphone
