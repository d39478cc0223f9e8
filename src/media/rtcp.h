// RTCP packets (RFC 3550 section 6): SR, RR, SDES, BYE and APP, parsed from and serialized to
// compound packets with the validity checks of appendix A.2. Packet types this parser does not
// model (RFC 4585 feedback 205/206, RFC 3611 XR 207, ...) are kept as opaque packets so that a
// compound packet from a WebRTC-era peer still parses.
//
// Unlike parse_rtcp_header (rtp.h), this copies into plain structs: RTCP is a few packets every
// few seconds, and the results outlive the receive buffer.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"

namespace exphone::media {

inline constexpr std::size_t kRtcpMaxReportBlocks = 31;  // RC is 5 bits
inline constexpr std::size_t kRtcpMaxPacket = 1500;       // what we parse/build: one datagram

// RFC 3550 6.4.1 report block: reception statistics about one source.
struct RtcpReportBlock {
  std::uint32_t ssrc = 0;                 // SSRC_n, the source this block is about
  std::uint8_t fraction_lost = 0;         // fixed point, lost/expected * 256 since the last report
  std::int32_t cumulative_lost = 0;       // signed 24 bits (duplicates can make it negative)
  std::uint32_t extended_highest_seq = 0; // cycles << 16 | highest sequence number
  std::uint32_t jitter = 0;               // interarrival jitter in RTP timestamp units
  std::uint32_t lsr = 0;                  // middle 32 bits of the last SR's NTP timestamp, 0 = none
  std::uint32_t dlsr = 0;                 // delay since that SR, units of 1/65536 s
  bool operator==(const RtcpReportBlock&) const = default;
};

struct RtcpSenderInfo {
  std::uint64_t ntp_timestamp = 0;  // NTP format: seconds since 1900 << 32 | fraction
  std::uint32_t rtp_timestamp = 0;  // the same instant on the RTP clock
  std::uint32_t packet_count = 0;   // sender's packet count
  std::uint32_t octet_count = 0;    // payload octets sent
  bool operator==(const RtcpSenderInfo&) const = default;
};

struct RtcpSenderReport {  // PT 200, RFC 3550 6.4.1
  std::uint32_t ssrc = 0;
  RtcpSenderInfo sender;
  std::vector<RtcpReportBlock> reports;
  bool operator==(const RtcpSenderReport&) const = default;
};

struct RtcpReceiverReport {  // PT 201, RFC 3550 6.4.2
  std::uint32_t ssrc = 0;
  std::vector<RtcpReportBlock> reports;
  bool operator==(const RtcpReceiverReport&) const = default;
};

enum class SdesType : std::uint8_t {  // RFC 3550 6.5
  kCname = 1, kName = 2, kEmail = 3, kPhone = 4, kLoc = 5, kTool = 6, kNote = 7, kPriv = 8,
};

struct RtcpSdesItem {
  std::uint8_t type = 1;  // SdesType value (kept as a number: unknown types are not errors)
  std::string value;      // at most 255 octets
  bool operator==(const RtcpSdesItem&) const = default;
};

struct RtcpSdesChunk {
  std::uint32_t ssrc = 0;
  std::vector<RtcpSdesItem> items;
  // The CNAME item's value, if the chunk has one (RFC 3550 6.5.1).
  std::optional<std::string> cname() const;
  bool operator==(const RtcpSdesChunk&) const = default;
};

struct RtcpSdes {  // PT 202, RFC 3550 6.5
  std::vector<RtcpSdesChunk> chunks;
  bool operator==(const RtcpSdes&) const = default;
};

struct RtcpBye {  // PT 203, RFC 3550 6.6
  std::vector<std::uint32_t> ssrcs;
  std::string reason;  // optional, at most 255 octets
  bool operator==(const RtcpBye&) const = default;
};

struct RtcpApp {  // PT 204, RFC 3550 6.7
  std::uint8_t subtype = 0;
  std::uint32_t ssrc = 0;
  std::array<char, 4> name{};
  std::vector<std::uint8_t> data;  // a multiple of 4 octets
  bool operator==(const RtcpApp&) const = default;
};

struct RtcpOther {  // a packet type we do not model: the count field and the body after the header
  std::uint8_t packet_type = 0;
  std::uint8_t count = 0;
  std::vector<std::uint8_t> body;  // a multiple of 4 octets
  bool operator==(const RtcpOther&) const = default;
};

using RtcpPacket =
    std::variant<RtcpSenderReport, RtcpReceiverReport, RtcpSdes, RtcpBye, RtcpApp, RtcpOther>;

// Parses a compound RTCP packet (RFC 3550 6.1) after the checks of appendix A.2: every packet is
// version 2, the first has an RTCP packet type (SR or RR, or any type in reduced-size RTCP,
// RFC 5506 3.1) and no padding, only the last may be padded, and the
// lengths add up to the datagram. Error codes (with the offset of the offending packet):
//   rtcp-too-short     fewer than 8 bytes, or a packet shorter than its header
//   rtcp-too-long      more than kRtcpMaxPacket bytes
//   rtcp-bad-version   V != 2
//   rtcp-bad-first     the first packet type is outside 192..223 (RFC 5761 4)
//   rtcp-bad-padding   padding anywhere but the last packet, or a bad pad count
//   rtcp-bad-length    a length field runs past the end of the datagram
//   rtcp-bad-sr / rtcp-bad-rr / rtcp-bad-sdes / rtcp-bad-bye / rtcp-bad-app (also: bytes after
//                      the last SDES chunk or the BYE reason, a BYE naming no source)
//                      the packet body does not hold what its count and type announce
Result<std::vector<RtcpPacket>> parse_rtcp_compound(std::span<const std::uint8_t> datagram);

// Serializes packets one after the other (no padding). Errors: rtcp-too-many-reports (> 31 report
// blocks or SDES chunks or BYE sources), rtcp-bad-sdes (item longer than 255 octets or of type 0),
// rtcp-bad-bye (reason longer than 255), rtcp-bad-app (data not whole words, subtype > 31),
// rtcp-bad-packet (RtcpOther with a body that is not whole words or a count > 31),
// rtcp-too-long (the result exceeds kRtcpMaxPacket). Does not enforce A.2 (a test may need to
// build an invalid compound); build_report does.
Result<std::vector<std::uint8_t>> serialize_rtcp(std::span<const RtcpPacket> packets);

// The compound packet a participant sends every reporting interval (RFC 3550 6.1): SR when it has
// sent RTP since the last report, RR otherwise, then SDES with its CNAME; BYE appended when
// leaving. At most 31 report blocks.
struct RtcpReportParts {
  std::uint32_t ssrc = 0;
  std::optional<RtcpSenderInfo> sender;  // set: SR, unset: RR
  std::vector<RtcpReportBlock> reports;
  std::string cname;
  bool bye = false;
  std::string bye_reason;
};
Result<std::vector<std::uint8_t>> build_report(const RtcpReportParts& parts);

// ---- time ---------------------------------------------------------------------------------

// NTP timestamp (RFC 3550 4: seconds since 1 January 1900 in the high 32 bits, fraction low).
std::uint64_t ntp_from_system(std::chrono::system_clock::time_point t);
// The middle 32 bits, the form LSR and the arrival time take in the round-trip computation.
inline std::uint32_t ntp_middle32(std::uint64_t ntp) { return static_cast<std::uint32_t>(ntp >> 16); }

// RFC 3550 6.4.1: round-trip time = A - LSR - DLSR, A the arrival time of the report block (NTP
// middle 32 bits, our clock). nullopt when the peer has not received an SR yet (LSR 0) or the
// result would be negative (clock or peer error).
std::optional<std::chrono::microseconds> rtcp_round_trip(std::uint32_t arrival_middle32,
                                                        const RtcpReportBlock& block);

}  // namespace exphone::media
