// Internal helpers shared by the sdp sources. Not part of the public API.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::sdp::detail {

// Splits on runs of SP / HTAB; no empty fields.
std::vector<std::string_view> split_ws(std::string_view s);

// Splits on every occurrence of sep (empty fields kept).
std::vector<std::string_view> split(std::string_view s, char sep);

// Up to 40 bytes of s, with control and non-ASCII bytes shown as \xNN, for error messages.
std::string snippet(std::string_view s);

// Non-empty, no SP/HTAB/controls (bytes >= 0x80 allowed).
bool is_nonws_string(std::string_view s);

std::optional<std::uint16_t> parse_port(std::string_view s);

// Error for a typed attribute: "<what>: <reason>: '<snippet of value>'", offset inside value.
Error value_error(const char* code, std::string_view what, std::string_view reason,
                  std::string_view value, std::size_t offset = 0);

}  // namespace exphone::sdp::detail
