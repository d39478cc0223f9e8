#include "media/rtp.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace exphone::media {
namespace {

std::uint16_t read16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t read32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}

std::uint8_t* write16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
  return p + 2;
}

std::uint8_t* write32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 24);
  p[1] = static_cast<std::uint8_t>(v >> 16);
  p[2] = static_cast<std::uint8_t>(v >> 8);
  p[3] = static_cast<std::uint8_t>(v);
  return p + 4;
}

}  // namespace

Result<std::size_t> rtp_header_size(std::span<const std::uint8_t> b) {
  // RFC 3550 5.1: the fixed header is 12 octets.
  if (b.size() < kRtpFixedHeaderSize) {
    return make_error("rtp-too-short",
                      "RTP packet of " + std::to_string(b.size()) + " bytes, the header needs 12",
                      b.size());
  }
  const unsigned version = b[0] >> 6;
  if (version != kRtpVersion) {
    return make_error("rtp-bad-version", "RTP version " + std::to_string(version) + ", expected 2",
                      0);
  }
  const std::size_t cc = b[0] & 0x0f;
  std::size_t size = kRtpFixedHeaderSize + 4 * cc;  // RFC 3550 5.1: CSRC list, 0 to 15 items
  if (size > b.size()) {
    return make_error("rtp-bad-csrc",
                      "CSRC count " + std::to_string(cc) + " runs past the end of the packet",
                      kRtpFixedHeaderSize);
  }
  if (b[0] & 0x10) {
    // RFC 3550 5.3.1: 16-bit profile-defined field, 16-bit length in 32-bit words (excluding the
    // 4-octet extension header itself), then the words.
    if (size + 4 > b.size()) {
      return make_error("rtp-bad-extension", "X bit set but no room for the extension header",
                        size);
    }
    const std::size_t words = read16(b.data() + size + 2);
    if (size + 4 + 4 * words > b.size()) {
      return make_error("rtp-bad-extension",
                        "header extension of " + std::to_string(words) +
                            " words runs past the end of the packet",
                        size + 2);
    }
    size += 4 + 4 * words;
  }
  return size;
}

Result<RtpView> parse_rtp(std::span<const std::uint8_t> b) {
  auto hs = rtp_header_size(b);
  if (!hs) return hs.error();
  const std::size_t header_size = *hs;

  RtpView v;
  v.packet = b;
  v.header_size = header_size;
  RtpHeader& h = v.header;
  h.marker = (b[1] & 0x80) != 0;
  h.payload_type = b[1] & 0x7f;
  h.sequence = read16(b.data() + 2);
  h.timestamp = read32(b.data() + 4);
  h.ssrc = read32(b.data() + 8);
  h.csrc_count = b[0] & 0x0f;
  for (std::size_t i = 0; i < h.csrc_count; ++i) h.csrcs[i] = read32(b.data() + 12 + 4 * i);
  if (b[0] & 0x10) {
    const std::size_t ext = kRtpFixedHeaderSize + 4 * std::size_t{h.csrc_count};
    h.has_extension = true;
    h.extension_profile = read16(b.data() + ext);
    h.extension_data = b.subspan(ext + 4, header_size - ext - 4);
  }

  std::size_t end = b.size();
  if (b[0] & 0x20) {
    // RFC 3550 5.1: "The last octet of the padding contains a count of how many padding octets
    // should be ignored, including itself." So the count is at least 1 and cannot reach into the
    // header.
    const std::uint8_t pad = b[b.size() - 1];
    if (pad == 0 || pad > b.size() - header_size) {
      return make_error("rtp-bad-padding",
                        "padding count " + std::to_string(pad) + " with " +
                            std::to_string(b.size() - header_size) + " bytes after the header",
                        b.size() - 1);
    }
    v.padding_size = pad;
    end -= pad;
  }
  v.payload = b.subspan(header_size, end - header_size);
  return v;
}

std::size_t rtp_serialized_size(const RtpHeader& h, std::size_t payload_size,
                                std::uint8_t padding_size) {
  std::size_t n = kRtpFixedHeaderSize + 4 * std::size_t{h.csrc_count};
  if (h.has_extension) n += 4 + h.extension_data.size();
  return n + payload_size + padding_size;
}

Result<std::size_t> write_rtp(const RtpHeader& h, std::span<const std::uint8_t> payload,
                              std::span<std::uint8_t> out, std::uint8_t padding_size) {
  if (h.csrc_count > kRtpMaxCsrcs) {
    return make_error("rtp-bad-csrc", "at most 15 CSRCs fit in an RTP header");
  }
  if (h.payload_type > 127) {
    return make_error("rtp-bad-payload-type", "RTP payload types are 7 bits");
  }
  if (h.has_extension &&
      (h.extension_data.size() % 4 != 0 || h.extension_data.size() / 4 > 0xffff)) {
    return make_error("rtp-bad-extension",
                      "header extension data must be whole 32-bit words, at most 65535");
  }
  const std::size_t n = rtp_serialized_size(h, payload.size(), padding_size);
  if (n > out.size()) {
    return make_error("rtp-buffer-too-small",
                      "RTP packet needs " + std::to_string(n) + " bytes, the buffer has " +
                          std::to_string(out.size()));
  }
  std::uint8_t* p = out.data();
  *p++ = static_cast<std::uint8_t>((kRtpVersion << 6) | (padding_size ? 0x20 : 0) |
                                   (h.has_extension ? 0x10 : 0) | h.csrc_count);
  *p++ = static_cast<std::uint8_t>((h.marker ? 0x80 : 0) | h.payload_type);
  p = write16(p, h.sequence);
  p = write32(p, h.timestamp);
  p = write32(p, h.ssrc);
  for (std::uint32_t csrc : h.csrc_list()) p = write32(p, csrc);
  if (h.has_extension) {
    p = write16(p, h.extension_profile);
    p = write16(p, static_cast<std::uint16_t>(h.extension_data.size() / 4));
    if (!h.extension_data.empty()) {
      std::memcpy(p, h.extension_data.data(), h.extension_data.size());
      p += h.extension_data.size();
    }
  }
  if (!payload.empty()) {
    std::memcpy(p, payload.data(), payload.size());
    p += payload.size();
  }
  if (padding_size) {
    std::fill(p, p + padding_size - 1, std::uint8_t{0});
    p[padding_size - 1] = padding_size;
  }
  return n;
}

Result<std::vector<std::uint8_t>> serialize_rtp(const RtpHeader& h,
                                                std::span<const std::uint8_t> payload,
                                                std::uint8_t padding_size) {
  std::vector<std::uint8_t> out(rtp_serialized_size(h, payload.size(), padding_size));
  auto n = write_rtp(h, payload, out, padding_size);
  if (!n) return n.error();
  return out;
}

bool looks_like_rtcp(std::span<const std::uint8_t> b) {
  // RFC 5761 section 4: RTCP packet types 192..223 appear as RTP payload types 64..95 once the
  // marker bit is masked off; RTP payload types in that range must not be used with rtcp-mux.
  if (b.size() < 4 || (b[0] >> 6) != kRtpVersion) return false;
  const unsigned pt = b[1] & 0x7f;
  return pt >= 64 && pt <= 95;
}

Result<RtcpHeader> parse_rtcp_header(std::span<const std::uint8_t> b) {
  // RFC 3550 6.4.1: V(2) P(1) RC(5) | PT(8) | length(16), length = 32-bit words minus one.
  if (b.size() < 4) {
    return make_error("rtcp-too-short",
                      "RTCP packet of " + std::to_string(b.size()) + " bytes, the header needs 4",
                      b.size());
  }
  const unsigned version = b[0] >> 6;
  if (version != kRtpVersion) {
    return make_error("rtcp-bad-version",
                      "RTCP version " + std::to_string(version) + ", expected 2", 0);
  }
  const unsigned pt = b[1];
  if (pt < 200 || pt > 204) {
    return make_error("rtcp-bad-type", "RTCP packet type " + std::to_string(pt) +
                                           " is not one of SR, RR, SDES, BYE, APP (200..204)",
                      1);
  }
  RtcpHeader h;
  h.padding = (b[0] & 0x20) != 0;
  h.count = b[0] & 0x1f;
  h.type = static_cast<RtcpType>(pt);
  h.length_words = read16(b.data() + 2);
  if (h.size() > b.size()) {
    return make_error("rtcp-bad-length",
                      "RTCP length of " + std::to_string(h.size()) + " bytes, only " +
                          std::to_string(b.size()) + " present",
                      2);
  }
  h.packet = b.first(h.size());
  return h;
}

}  // namespace exphone::media
