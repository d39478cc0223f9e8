// Base64 (RFC 4648) through OpenSSL: we never write our own codec.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <cstdint>

namespace exphone {

using Bytes = std::vector<std::uint8_t>;

// Strict decode: standard alphabet, padding required when the length needs it, no whitespace.
std::optional<Bytes> base64_decode(std::string_view in);
std::string base64_encode(const std::uint8_t* data, std::size_t len);
inline std::string base64_encode(const Bytes& b) { return base64_encode(b.data(), b.size()); }

}  // namespace exphone
