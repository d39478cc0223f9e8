// a=fingerprint, certificate fingerprints for DTLS-SRTP (RFC 8122 section 5).
#include <array>

#include "core/text.h"
#include "sdp/attributes.h"
#include "sdp/detail.h"

namespace exphone::sdp {
namespace {

struct HashInfo {
  HashFunction hash;
  std::string_view name;
  std::size_t length;
};

// RFC 8122 section 5 refers to the IANA "Hash Function Textual Names" registry.
constexpr std::array<HashInfo, 5> kHashes = {{
    {HashFunction::kSha1, "sha-1", 20},
    {HashFunction::kSha224, "sha-224", 28},
    {HashFunction::kSha256, "sha-256", 32},
    {HashFunction::kSha384, "sha-384", 48},
    {HashFunction::kSha512, "sha-512", 64},
}};

}  // namespace

std::string_view hash_function_name(HashFunction h) {
  for (const auto& e : kHashes)
    if (e.hash == h) return e.name;
  return {};
}

std::size_t hash_length(HashFunction h) {
  for (const auto& e : kHashes)
    if (e.hash == h) return e.length;
  return 0;
}

// fingerprint-attribute = "fingerprint" ":" hash-func SP fingerprint
// fingerprint = 2UHEX *(":" 2UHEX)   (lower case accepted: real stacks send it)
Result<Fingerprint> parse_fingerprint(std::string_view value) {
  auto fields = detail::split_ws(value);
  if (fields.size() != 2 || !text::is_token(fields[0]))
    return detail::value_error("sdp-bad-fingerprint", "fingerprint",
                               "expected '<hash-func> <hex:hex:...>'", value);
  Fingerprint f;
  f.hash_name = text::to_lower(fields[0]);
  for (const auto& e : kHashes)
    if (e.name == f.hash_name) f.hash = e.hash;

  std::string_view hex = fields[1];
  std::size_t hex_off = static_cast<std::size_t>(hex.data() - value.data());
  for (std::size_t i = 0;; i += 3) {
    if (i + 2 > hex.size() || !text::is_hex(hex[i]) || !text::is_hex(hex[i + 1]) ||
        (i + 2 < hex.size() && hex[i + 2] != ':') || (i + 2 < hex.size() && i + 3 == hex.size()))
      return detail::value_error("sdp-fingerprint-bad-hex", "fingerprint",
                                 "not colon-separated pairs of hex digits", value, hex_off + i);
    f.bytes.push_back(static_cast<std::uint8_t>(text::hex_value(hex[i]) * 16 + text::hex_value(hex[i + 1])));
    if (i + 2 == hex.size()) break;
  }
  if (f.known_hash() && f.bytes.size() != hash_length(f.hash))
    return detail::value_error("sdp-fingerprint-bad-length", "fingerprint",
                               f.hash_name + " needs " + std::to_string(hash_length(f.hash)) +
                                   " bytes, got " + std::to_string(f.bytes.size()),
                               value, hex_off);
  return f;
}

std::string to_string(const Fingerprint& f) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string s = f.hash_name.empty() ? std::string(hash_function_name(f.hash)) : f.hash_name;
  s += ' ';
  for (std::size_t i = 0; i < f.bytes.size(); ++i) {
    if (i) s += ':';
    s += kHex[f.bytes[i] >> 4];
    s += kHex[f.bytes[i] & 0xf];
  }
  return s;
}

}  // namespace exphone::sdp
