// multipart/form-data (RFC 7578, the body syntax of RFC 2046 5.1): what a browser sends for a form
// with a file input. Bounded: at most kMaxParts parts, part headers at most 1 KiB each; the body is
// already bounded by the server (16 KiB). No I/O: fuzzed (tests/fuzz/multipart_form_fuzz.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::web {

struct FormPart {
  std::string name;          // Content-Disposition: form-data; name="..."
  std::string filename;      // ...; filename="..." ("" for a plain field)
  std::string content_type;  // "" when absent
  std::string data;
};

constexpr std::size_t kMaxParts = 8;

// The boundary parameter of a Content-Type "multipart/form-data; boundary=..." (RFC 2046 5.1.1:
// 1..70 characters), or an error "web-bad-form".
Result<std::string> multipart_boundary(std::string_view content_type);
// Errors "web-bad-form" with what is wrong.
Result<std::vector<FormPart>> parse_multipart(std::string_view body, std::string_view boundary);

// The first part named `name`, or nullptr.
const FormPart* find_part(const std::vector<FormPart>& parts, std::string_view name);

}  // namespace exphone::web
