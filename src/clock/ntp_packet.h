// NTP packet header (RFC 5905 section 7.3, RFC 4330 section 4) and the SNTP client's checks of a
// server reply (RFC 4330 section 5). Pure data: no I/O, no clocks (fuzzable).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"

namespace exphone::clock {

inline constexpr std::size_t kNtpHeaderSize = 48;  // extension fields / MAC after it are ignored

// RFC 5905 section 6: 64-bit timestamp, seconds since 1900-01-01 and a binary fraction.
struct NtpTimestamp {
  std::uint32_t seconds = 0;
  std::uint32_t fraction = 0;
  bool zero() const { return seconds == 0 && fraction == 0; }
  bool operator==(const NtpTimestamp&) const = default;
};

// RFC 4330 section 4 / RFC 5905 figure 8.
struct NtpPacket {
  std::uint8_t leap = 0;     // LI: 3 = alarm (clock not synchronized)
  std::uint8_t version = 4;  // VN
  std::uint8_t mode = 3;     // 3 = client, 4 = server
  std::uint8_t stratum = 0;  // 0 = kiss-o'-death (RFC 4330 section 8), 16 = unsynchronized
  std::int8_t poll = 0;
  std::int8_t precision = 0;
  std::uint32_t root_delay = 0, root_dispersion = 0;  // 16.16 fixed point seconds
  std::uint32_t reference_id = 0;                     // with stratum 0: the kiss code (ASCII)
  NtpTimestamp reference, originate, receive, transmit;
};

inline constexpr std::uint8_t kModeClient = 3;
inline constexpr std::uint8_t kModeServer = 4;
inline constexpr std::uint8_t kLeapAlarm = 3;

// Errors: "ntp-malformed" (shorter than 48 bytes). Any 48+ bytes parse; meaning is checked by
// check_reply().
Result<NtpPacket> parse_ntp_packet(std::span<const std::uint8_t> data);
std::array<std::uint8_t, kNtpHeaderSize> serialize(const NtpPacket& p);

// A client request (RFC 4330 section 5): LI 0, VN 4, mode 3, everything zero except the transmit
// timestamp. `transmit` should be random (RFC 9109-style data minimization and anti-spoofing):
// the server echoes it as Originate, and only the client knows it.
NtpPacket make_request(NtpTimestamp transmit);

// Conversions. RFC 4330 section 3: seconds with the top bit set are 1968-2036 (era 0), else
// 2036-2104 (era 1).
NtpTimestamp to_ntp(std::chrono::system_clock::time_point t);
std::chrono::system_clock::time_point from_ntp(NtpTimestamp t);
// Nanoseconds since 1970 (the same eras), for exact arithmetic.
std::int64_t ntp_to_unix_ns(NtpTimestamp t);

// The kiss code of a stratum-0 packet ("DENY", "RATE", ...), non-printables replaced by '?'.
std::string kiss_code(const NtpPacket& p);

struct SntpSample {
  std::chrono::nanoseconds offset{0};  // ((T2 - T1) + (T3 - T4)) / 2, RFC 4330 section 5
  std::chrono::nanoseconds delay{0};   // (T4 - T1) - (T3 - T2)
  std::uint8_t stratum = 0;
};

// Checks a reply to a request whose transmit timestamp was `sent` (T1 on the wire), sent at
// system time t1 and received at t4. Error codes:
//   ntp-spoofed          Originate != our transmit timestamp: not an answer to our request
//   ntp-kiss-of-death    stratum 0; the message names the kiss code (DENY, RSTR, RATE, ...)
//   ntp-unsynchronized   LI = 3 (alarm) or stratum > 15: the server has no time to give
//   ntp-bad-packet       wrong version or mode, zero receive/transmit timestamp, negative or
//                        huge round-trip delay
Result<SntpSample> check_reply(const NtpPacket& reply, NtpTimestamp sent, std::chrono::system_clock::time_point t1,
                               std::chrono::system_clock::time_point t4);

// Offset and delay from the four timestamps (nanoseconds since 1970), RFC 4330 section 5.
SntpSample compute_sample(std::int64_t t1, std::int64_t t2, std::int64_t t3, std::int64_t t4);

}  // namespace exphone::clock
