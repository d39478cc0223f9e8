// RTP and RTCP packet headers (RFC 3550 sections 5.1 and 6.4) and the RTP/RTCP demultiplexing rule
// for rtcp-mux (RFC 5761 section 4).
//
// Parsing never copies the payload: a parsed packet holds views (std::span) into the caller's
// buffer, which must outlive the view. Nothing here allocates on the parse path.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/result.h"

namespace exphone::media {

inline constexpr std::size_t kRtpFixedHeaderSize = 12;  // RFC 3550 5.1: V..SSRC
inline constexpr std::size_t kRtpMaxCsrcs = 15;         // the CC field is 4 bits
inline constexpr std::uint8_t kRtpVersion = 2;

// The RTP header fields (RFC 3550 5.1). Used both as the result of parsing and as the input to
// serialization. The extension data is a view (the words after the 16-bit profile / 16-bit length
// header, RFC 3550 5.3.1); for serialization it must be a multiple of 4 bytes long.
struct RtpHeader {
  bool marker = false;
  std::uint8_t payload_type = 0;  // 7 bits
  std::uint16_t sequence = 0;
  std::uint32_t timestamp = 0;
  std::uint32_t ssrc = 0;
  std::uint8_t csrc_count = 0;  // 0..15: entries of csrcs that are meaningful
  std::array<std::uint32_t, kRtpMaxCsrcs> csrcs{};
  bool has_extension = false;
  std::uint16_t extension_profile = 0;  // "defined by profile", e.g. 0xBEDE for RFC 8285 one-byte
  std::span<const std::uint8_t> extension_data;  // length field * 4 bytes

  std::span<const std::uint32_t> csrc_list() const { return {csrcs.data(), csrc_count}; }
};

// A parsed RTP packet: the header, and views of the payload (padding excluded) into the input.
struct RtpView {
  RtpHeader header;
  std::size_t header_size = 0;               // 12 + 4*CC (+ 4 + 4*ext length when X is set)
  std::span<const std::uint8_t> payload;     // between the header and the padding
  std::uint8_t padding_size = 0;             // RFC 3550 5.1 P bit: the last octet's count, or 0
  std::span<const std::uint8_t> packet;      // the whole input
};

// Validates the header part only (version, CSRC list, extension bounds) and returns its size.
// Used on SRTP packets too, whose padding count is encrypted (RFC 3711 3.1) and therefore cannot
// be checked before decryption. Error codes as parse_rtp.
Result<std::size_t> rtp_header_size(std::span<const std::uint8_t> packet);

// Parses an RTP packet (RFC 3550 5.1). Error codes:
//   rtp-too-short      fewer than 12 bytes
//   rtp-bad-version    V != 2
//   rtp-bad-csrc       the CSRC list (CC * 4 bytes) runs past the end
//   rtp-bad-extension  X set but the extension header or its length words run past the end
//   rtp-bad-padding    P set but the pad count is 0 or larger than what follows the header
Result<RtpView> parse_rtp(std::span<const std::uint8_t> packet);

// Bytes serialize_rtp would produce.
std::size_t rtp_serialized_size(const RtpHeader& h, std::size_t payload_size,
                                std::uint8_t padding_size = 0);

// Writes header, payload and padding (padding_size > 0 sets the P bit; the pad bytes are zero
// except the last, which holds the count, RFC 3550 5.1) into out; returns the bytes written.
// Errors: rtp-bad-csrc (csrc_count > 15), rtp-bad-extension (data not a multiple of 4 or longer
// than 65535 words), rtp-bad-payload-type (> 127), rtp-buffer-too-small.
Result<std::size_t> write_rtp(const RtpHeader& h, std::span<const std::uint8_t> payload,
                              std::span<std::uint8_t> out, std::uint8_t padding_size = 0);

// Convenience form of write_rtp that returns a new buffer.
Result<std::vector<std::uint8_t>> serialize_rtp(const RtpHeader& h,
                                                std::span<const std::uint8_t> payload,
                                                std::uint8_t padding_size = 0);

// ---- RTCP ----------------------------------------------------------------------------------

// RFC 5761 section 4: with rtcp-mux, a packet whose second octet (marker bit masked off, i.e. the
// RTP payload type) is in 64..95 is RTCP (RTCP packet types 192..223); anything else is RTP.
// Also requires version 2 and at least the 4-byte RTCP common header.
bool looks_like_rtcp(std::span<const std::uint8_t> packet);

enum class RtcpType : std::uint8_t {
  kSenderReport = 200,    // SR, RFC 3550 6.4.1
  kReceiverReport = 201,  // RR, RFC 3550 6.4.2
  kSourceDescription = 202,  // SDES, RFC 3550 6.5
  kBye = 203,             // RFC 3550 6.6
  kApp = 204,             // RFC 3550 6.7
};

// The RTCP common header (RFC 3550 6.4.1): V, P, count (RC/SC/subtype), PT, length.
struct RtcpHeader {
  bool padding = false;
  std::uint8_t count = 0;  // 5 bits
  RtcpType type = RtcpType::kSenderReport;
  std::uint16_t length_words = 0;  // the length field: 32-bit words minus one
  std::size_t size() const { return (static_cast<std::size_t>(length_words) + 1) * 4; }
  std::span<const std::uint8_t> packet;  // this RTCP packet (size() bytes) within the input
};

// Parses the first RTCP packet of a (possibly compound) RTCP datagram. Error codes:
//   rtcp-too-short    fewer than 4 bytes
//   rtcp-bad-version  V != 2
//   rtcp-bad-type     PT outside 200..204 (the RFC 3550 packet types; RFC 4585 feedback and
//                     RFC 3611 XR are not handled by this basic parser yet)
//   rtcp-bad-length   (length + 1) * 4 runs past the end of the input
Result<RtcpHeader> parse_rtcp_header(std::span<const std::uint8_t> packet);

}  // namespace exphone::media
