// STUN messages (RFC 8489) as ICE uses them on the media socket (RFC 8445 section 7): parse,
// check MESSAGE-INTEGRITY (HMAC-SHA1, short-term credentials) and FINGERPRINT, build requests
// and responses. HMAC comes from OpenSSL; CRC-32 (FINGERPRINT, RFC 8489 14.7) is a checksum, not
// cryptography.
//
// Parsing is bounded (kMaxStunAttributes, the datagram size) and never trusts a length field; a
// malformed message is an error value with a stable code, never a crash.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::media {

inline constexpr std::uint32_t kStunMagicCookie = 0x2112A442;  // RFC 8489 5
inline constexpr std::size_t kStunHeaderSize = 20;
inline constexpr std::size_t kMaxStunAttributes = 64;

// Message types (RFC 8489 5: method + class bits). ICE only needs Binding.
enum StunType : std::uint16_t {
  kStunBindingRequest = 0x0001,
  kStunBindingIndication = 0x0011,
  kStunBindingSuccess = 0x0101,
  kStunBindingError = 0x0111,
};

// Attribute types (RFC 8489 18.3, RFC 8445 16.1).
enum StunAttr : std::uint16_t {
  kStunMappedAddress = 0x0001,
  kStunUsername = 0x0006,
  kStunMessageIntegrity = 0x0008,
  kStunErrorCode = 0x0009,
  kStunUnknownAttributes = 0x000A,
  kStunMessageIntegritySha256 = 0x001C,
  kStunXorMappedAddress = 0x0020,
  kStunPriority = 0x0024,
  kStunUseCandidate = 0x0025,
  kStunSoftware = 0x8022,
  kStunFingerprint = 0x8028,
  kStunIceControlled = 0x8029,
  kStunIceControlling = 0x802A,
};

using StunTransactionId = std::array<std::uint8_t, 12>;

struct StunAttribute {
  std::uint16_t type = 0;
  std::size_t offset = 0;  // of the attribute header in the message
  std::span<const std::uint8_t> value;  // points into the parsed buffer
};

struct StunMessage {
  std::uint16_t type = 0;
  StunTransactionId transaction_id{};
  std::vector<StunAttribute> attributes;  // in message order
  std::span<const std::uint8_t> raw;      // the whole message as parsed

  const StunAttribute* find(std::uint16_t type) const;
  std::optional<std::string_view> username() const;
  std::optional<std::uint32_t> priority() const;
  bool has(std::uint16_t type) const { return find(type) != nullptr; }
  // Comprehension-required attributes (type < 0x8000) this code does not know (RFC 8489 7.3.1).
  std::vector<std::uint16_t> unknown_required() const;
};

// RFC 7983 section 7: the first byte of a datagram on a multiplexed media socket is 0..3 for STUN.
// Also checks the magic cookie and size, which RFC 8489 5 suggests for demultiplexing.
bool looks_like_stun(std::span<const std::uint8_t> datagram);

// Errors: stun-too-short, stun-bad-header (top bits, length not a multiple of 4 or not matching the
// datagram, wrong cookie), stun-bad-attribute (runs past the end), stun-too-many-attributes,
// stun-attribute-after-fingerprint (RFC 8489 14.7: FINGERPRINT is last).
// The message refers into `datagram`, which must outlive it.
Result<StunMessage> parse_stun(std::span<const std::uint8_t> datagram);

// RFC 8489 14.5: HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header length
// adjusted to end just after it; `key` is the ICE password (short-term credential, RFC 8445 7.2.2).
// False when the attribute is absent, has the wrong size or does not match (constant-time compare).
bool check_message_integrity(const StunMessage& m, std::string_view key);
// RFC 8489 14.7: CRC-32 of the message up to FINGERPRINT, XOR 0x5354554E. False when absent.
bool check_fingerprint(const StunMessage& m);

// Builds one message; attributes are appended in call order, MESSAGE-INTEGRITY and FINGERPRINT
// last (finish).
class StunBuilder {
 public:
  StunBuilder(std::uint16_t type, const StunTransactionId& id);
  StunBuilder& add(std::uint16_t type, std::span<const std::uint8_t> value);
  StunBuilder& add_string(std::uint16_t type, std::string_view value);
  StunBuilder& add_u32(std::uint16_t type, std::uint32_t value);
  StunBuilder& add_u64(std::uint16_t type, std::uint64_t value);
  // XOR-MAPPED-ADDRESS (RFC 8489 14.2): `address` is 4 (IPv4) or 16 (IPv6) bytes.
  StunBuilder& add_xor_address(std::span<const std::uint8_t> address, std::uint16_t port);
  StunBuilder& add_error(int code, std::string_view reason);  // ERROR-CODE (14.8)
  // Appends MESSAGE-INTEGRITY with `key` when given, then FINGERPRINT; returns the wire bytes.
  std::vector<std::uint8_t> finish(std::optional<std::string_view> key, bool fingerprint = true);

 private:
  void set_length();
  std::vector<std::uint8_t> buf_;
};

// The XOR-MAPPED-ADDRESS of a message (address bytes, port), if present and well formed.
struct StunAddress {
  std::vector<std::uint8_t> address;  // 4 or 16 bytes
  std::uint16_t port = 0;
};
std::optional<StunAddress> xor_mapped_address(const StunMessage& m);

}  // namespace exphone::media
