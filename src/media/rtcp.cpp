#include "media/rtcp.h"

#include <string>
#include <type_traits>

namespace exphone::media {
namespace {

constexpr std::uint8_t kSr = 200, kRr = 201, kSdes = 202, kBye = 203, kApp = 204;
constexpr std::uint8_t kFirstRtcpType = 192, kLastRtcpType = 223;  // RFC 5761 4
constexpr std::size_t kReportBlockSize = 24;  // RFC 3550 6.4.1: six 32-bit words

std::uint16_t read16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t read32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 24) | (static_cast<std::uint32_t>(p[1]) << 16) |
         (static_cast<std::uint32_t>(p[2]) << 8) | static_cast<std::uint32_t>(p[3]);
}
void put16(std::vector<std::uint8_t>& o, std::uint16_t v) {
  o.push_back(static_cast<std::uint8_t>(v >> 8));
  o.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& o, std::uint32_t v) {
  put16(o, static_cast<std::uint16_t>(v >> 16));
  put16(o, static_cast<std::uint16_t>(v));
}

Error bad(std::string code, std::string msg, std::size_t offset) {
  return make_error(std::move(code), std::move(msg), offset);
}

RtcpReportBlock read_block(const std::uint8_t* p) {
  RtcpReportBlock b;
  b.ssrc = read32(p);
  b.fraction_lost = p[4];
  // cumulative number of packets lost: 24-bit two's complement (RFC 3550 6.4.1)
  std::uint32_t lost = (static_cast<std::uint32_t>(p[5]) << 16) | (static_cast<std::uint32_t>(p[6]) << 8) | p[7];
  b.cumulative_lost = (lost & 0x800000u) ? static_cast<std::int32_t>(lost) - 0x1000000
                                         : static_cast<std::int32_t>(lost);
  b.extended_highest_seq = read32(p + 8);
  b.jitter = read32(p + 12);
  b.lsr = read32(p + 16);
  b.dlsr = read32(p + 20);
  return b;
}

// `body` is the packet after its 4-byte common header, padding removed; `at` its offset.
Result<RtcpPacket> parse_body(std::uint8_t pt, std::uint8_t count, std::span<const std::uint8_t> body,
                              std::size_t at) {
  const std::uint8_t* p = body.data();
  switch (pt) {
    case kSr: {
      // SSRC + 20 octets of sender info + RC report blocks; profile extensions may follow.
      if (body.size() < 24 + count * kReportBlockSize) {
        return bad("rtcp-bad-sr", "SR with " + std::to_string(count) + " report blocks in " +
                                      std::to_string(body.size() + 4) + " bytes", at);
      }
      RtcpSenderReport sr;
      sr.ssrc = read32(p);
      sr.sender.ntp_timestamp = (static_cast<std::uint64_t>(read32(p + 4)) << 32) | read32(p + 8);
      sr.sender.rtp_timestamp = read32(p + 12);
      sr.sender.packet_count = read32(p + 16);
      sr.sender.octet_count = read32(p + 20);
      for (std::size_t i = 0; i < count; ++i) sr.reports.push_back(read_block(p + 24 + i * kReportBlockSize));
      return RtcpPacket{std::move(sr)};
    }
    case kRr: {
      if (body.size() < 4 + count * kReportBlockSize) {
        return bad("rtcp-bad-rr", "RR with " + std::to_string(count) + " report blocks in " +
                                      std::to_string(body.size() + 4) + " bytes", at);
      }
      RtcpReceiverReport rr;
      rr.ssrc = read32(p);
      for (std::size_t i = 0; i < count; ++i) rr.reports.push_back(read_block(p + 4 + i * kReportBlockSize));
      return RtcpPacket{std::move(rr)};
    }
    case kSdes: {
      // RFC 3550 6.5: SC chunks, each an SSRC and items up to a null octet, padded to 32 bits.
      RtcpSdes sdes;
      std::size_t i = 0;
      for (std::size_t c = 0; c < count; ++c) {
        if (i + 4 > body.size()) return bad("rtcp-bad-sdes", "SDES chunk runs past the packet", at + 4 + i);
        RtcpSdesChunk chunk;
        chunk.ssrc = read32(p + i);
        i += 4;
        for (;;) {
          if (i >= body.size()) return bad("rtcp-bad-sdes", "SDES chunk without its end item", at + 4 + i);
          const std::uint8_t type = p[i];
          if (type == 0) {  // end of the item list: skip the null octets to the next word
            i = (i + 4) & ~std::size_t{3};
            break;
          }
          if (i + 2 > body.size() || i + 2 + p[i + 1] > body.size()) {
            return bad("rtcp-bad-sdes", "SDES item runs past the packet", at + 4 + i);
          }
          const std::size_t len = p[i + 1];
          chunk.items.push_back({type, std::string(reinterpret_cast<const char*>(p + i + 2), len)});
          i += 2 + len;
        }
        if (i > body.size()) return bad("rtcp-bad-sdes", "SDES chunk padding runs past the packet", at + 4 + i);
        sdes.chunks.push_back(std::move(chunk));
      }
      // 6.5: the packet is its SC chunks (padding was taken off above); more is not SDES.
      if (i != body.size()) return bad("rtcp-bad-sdes", "bytes after the last SDES chunk", at + 4 + i);
      return RtcpPacket{std::move(sdes)};
    }
    case kBye: {
      if (count == 0) return bad("rtcp-bad-bye", "BYE naming no source", at);
      if (body.size() < 4u * count) {
        return bad("rtcp-bad-bye", "BYE with " + std::to_string(count) + " sources in " +
                                       std::to_string(body.size() + 4) + " bytes", at);
      }
      RtcpBye bye;
      for (std::size_t c = 0; c < count; ++c) bye.ssrcs.push_back(read32(p + 4 * c));
      const std::size_t r = 4u * count;
      if (r < body.size()) {  // RFC 3550 6.6: optional length octet + reason text
        const std::size_t len = p[r];
        if (r + 1 + len > body.size()) return bad("rtcp-bad-bye", "BYE reason runs past the packet", at + 4 + r);
        bye.reason.assign(reinterpret_cast<const char*>(p + r + 1), len);
        // 6.6: the reason is padded with nulls to the next 32-bit boundary, and that is all
        if (body.size() - (r + 1 + len) >= 4) return bad("rtcp-bad-bye", "bytes after the BYE reason", at + 4 + r + 1 + len);
      }
      return RtcpPacket{std::move(bye)};
    }
    case kApp: {
      if (body.size() < 8) return bad("rtcp-bad-app", "APP packet without SSRC and name", at);
      RtcpApp app;
      app.subtype = count;
      app.ssrc = read32(p);
      for (std::size_t k = 0; k < 4; ++k) app.name[k] = static_cast<char>(p[4 + k]);
      app.data.assign(p + 8, p + body.size());
      return RtcpPacket{std::move(app)};
    }
    default: {
      RtcpOther other;
      other.packet_type = pt;
      other.count = count;
      other.body.assign(body.begin(), body.end());
      return RtcpPacket{std::move(other)};
    }
  }
}

}  // namespace

std::optional<std::string> RtcpSdesChunk::cname() const {
  for (const auto& item : items) {
    if (item.type == static_cast<std::uint8_t>(SdesType::kCname)) return item.value;
  }
  return std::nullopt;
}

Result<std::vector<RtcpPacket>> parse_rtcp_compound(std::span<const std::uint8_t> d) {
  if (d.size() < 8) {
    return bad("rtcp-too-short", "RTCP datagram of " + std::to_string(d.size()) + " bytes", 0);
  }
  if (d.size() > kRtcpMaxPacket) {
    return bad("rtcp-too-long", "RTCP datagram of " + std::to_string(d.size()) + " bytes", 0);
  }
  std::vector<RtcpPacket> out;
  std::size_t at = 0;
  while (at < d.size()) {
    if (d.size() - at < 4) return bad("rtcp-too-short", "trailing bytes after the last RTCP packet", at);
    const std::uint8_t* h = d.data() + at;
    if ((h[0] >> 6) != 2) return bad("rtcp-bad-version", "RTCP version " + std::to_string(h[0] >> 6), at);
    const bool padding = (h[0] & 0x20) != 0;
    const std::uint8_t count = h[0] & 0x1f;
    const std::uint8_t pt = h[1];
    const std::size_t size = (static_cast<std::size_t>(read16(h + 2)) + 1) * 4;
    if (at == 0 && (pt < kFirstRtcpType || pt > kLastRtcpType)) {
      // A.2 wants an SR or RR first, but RFC 5506 3.1 (reduced-size RTCP) lets a packet start with
      // any RTCP type, and real peers do (baresip sends APP first). A first type outside the RTCP
      // range (RFC 5761 4: 192..223) is no RTCP at all.
      return bad("rtcp-bad-first", "compound RTCP starts with packet type " + std::to_string(pt), at);
    }
    if (size > d.size() - at) {
      return bad("rtcp-bad-length", "RTCP packet of " + std::to_string(size) + " bytes, " +
                                        std::to_string(d.size() - at) + " left", at + 2);
    }
    std::size_t body_size = size - 4;
    if (padding) {
      // A.2: padding only in the last packet; the count includes itself and stays in the body.
      if (at + size != d.size()) return bad("rtcp-bad-padding", "padding in a packet that is not the last", at);
      const std::uint8_t pad = h[size - 1];
      // Every RTCP packet type is whole 32-bit words without its padding (RFC 3550 6.4.1).
      if (pad == 0 || pad > body_size || pad % 4 != 0) {
        return bad("rtcp-bad-padding", "RTCP pad count " + std::to_string(pad), at + size - 1);
      }
      body_size -= pad;
      // Without its padding the datagram must still hold a packet with content (8 octets).
      if (d.size() - pad < 8) return bad("rtcp-too-short", "RTCP datagram of nothing but padding", at);
    }
    auto packet = parse_body(pt, count, d.subspan(at + 4, body_size), at);
    if (!packet) return packet.error();
    out.push_back(std::move(*packet));
    at += size;
  }
  return out;
}

namespace {

// Appends the common header; the length is patched by finish() once the body is written.
std::size_t begin(std::vector<std::uint8_t>& o, std::uint8_t count, std::uint8_t pt) {
  const std::size_t start = o.size();
  o.push_back(static_cast<std::uint8_t>(0x80 | count));
  o.push_back(pt);
  put16(o, 0);
  return start;
}

void finish(std::vector<std::uint8_t>& o, std::size_t start) {
  while ((o.size() - start) % 4 != 0) o.push_back(0);
  const std::size_t words = (o.size() - start) / 4 - 1;
  o[start + 2] = static_cast<std::uint8_t>(words >> 8);
  o[start + 3] = static_cast<std::uint8_t>(words);
}

void put_block(std::vector<std::uint8_t>& o, const RtcpReportBlock& b) {
  put32(o, b.ssrc);
  // Clamp to the signed 24-bit range (RFC 3550 6.4.1 / A.3).
  std::int32_t lost = b.cumulative_lost;
  if (lost > 0x7fffff) lost = 0x7fffff;
  if (lost < -0x800000) lost = -0x800000;
  const auto l = static_cast<std::uint32_t>(lost) & 0xffffffu;
  put32(o, (static_cast<std::uint32_t>(b.fraction_lost) << 24) | l);
  put32(o, b.extended_highest_seq);
  put32(o, b.jitter);
  put32(o, b.lsr);
  put32(o, b.dlsr);
}

Status too_many(std::size_t n, const char* what) {
  return make_error("rtcp-too-many-reports", std::to_string(n) + " " + what + ", at most 31 fit");
}

Status write(std::vector<std::uint8_t>& o, const RtcpPacket& packet) {
  return std::visit(
      [&o](const auto& p) -> Status {
        using T = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<T, RtcpSenderReport>) {
          if (p.reports.size() > kRtcpMaxReportBlocks) return too_many(p.reports.size(), "report blocks");
          const auto s = begin(o, static_cast<std::uint8_t>(p.reports.size()), kSr);
          put32(o, p.ssrc);
          put32(o, static_cast<std::uint32_t>(p.sender.ntp_timestamp >> 32));
          put32(o, static_cast<std::uint32_t>(p.sender.ntp_timestamp));
          put32(o, p.sender.rtp_timestamp);
          put32(o, p.sender.packet_count);
          put32(o, p.sender.octet_count);
          for (const auto& b : p.reports) put_block(o, b);
          finish(o, s);
        } else if constexpr (std::is_same_v<T, RtcpReceiverReport>) {
          if (p.reports.size() > kRtcpMaxReportBlocks) return too_many(p.reports.size(), "report blocks");
          const auto s = begin(o, static_cast<std::uint8_t>(p.reports.size()), kRr);
          put32(o, p.ssrc);
          for (const auto& b : p.reports) put_block(o, b);
          finish(o, s);
        } else if constexpr (std::is_same_v<T, RtcpSdes>) {
          if (p.chunks.size() > kRtcpMaxReportBlocks) return too_many(p.chunks.size(), "SDES chunks");
          const auto s = begin(o, static_cast<std::uint8_t>(p.chunks.size()), kSdes);
          for (const auto& c : p.chunks) {
            const std::size_t chunk_start = o.size();
            put32(o, c.ssrc);
            for (const auto& item : c.items) {
              if (item.type == 0 || item.value.size() > 255) {
                return make_error("rtcp-bad-sdes", "SDES item of type 0 or longer than 255 octets");
              }
              o.push_back(item.type);
              o.push_back(static_cast<std::uint8_t>(item.value.size()));
              o.insert(o.end(), item.value.begin(), item.value.end());
            }
            // RFC 3550 6.5: one to four null octets end the list and pad the chunk to 32 bits.
            o.push_back(0);
            while ((o.size() - chunk_start) % 4 != 0) o.push_back(0);
          }
          finish(o, s);
        } else if constexpr (std::is_same_v<T, RtcpBye>) {
          if (p.ssrcs.size() > kRtcpMaxReportBlocks) return too_many(p.ssrcs.size(), "BYE sources");
          if (p.reason.size() > 255) return make_error("rtcp-bad-bye", "BYE reason longer than 255 octets");
          const auto s = begin(o, static_cast<std::uint8_t>(p.ssrcs.size()), kBye);
          for (auto ssrc : p.ssrcs) put32(o, ssrc);
          if (!p.reason.empty()) {
            o.push_back(static_cast<std::uint8_t>(p.reason.size()));
            o.insert(o.end(), p.reason.begin(), p.reason.end());
          }
          finish(o, s);
        } else if constexpr (std::is_same_v<T, RtcpApp>) {
          if (p.subtype > 31 || p.data.size() % 4 != 0) {
            return make_error("rtcp-bad-app", "APP subtype above 31 or data not whole 32-bit words");
          }
          const auto s = begin(o, p.subtype, kApp);
          put32(o, p.ssrc);
          for (char ch : p.name) o.push_back(static_cast<std::uint8_t>(ch));
          o.insert(o.end(), p.data.begin(), p.data.end());
          finish(o, s);
        } else {
          if (p.count > 31 || p.body.size() % 4 != 0) {
            return make_error("rtcp-bad-packet", "RTCP count above 31 or body not whole 32-bit words");
          }
          const auto s = begin(o, p.count, p.packet_type);
          o.insert(o.end(), p.body.begin(), p.body.end());
          finish(o, s);
        }
        return Ok{};
      },
      packet);
}

}  // namespace

Result<std::vector<std::uint8_t>> serialize_rtcp(std::span<const RtcpPacket> packets) {
  std::vector<std::uint8_t> out;
  for (const auto& p : packets) {
    if (Status s = write(out, p); !s) return s.error();
    if (out.size() > kRtcpMaxPacket) {
      return make_error("rtcp-too-long", "RTCP packet of more than " + std::to_string(kRtcpMaxPacket) + " bytes");
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> build_report(const RtcpReportParts& parts) {
  std::vector<RtcpPacket> packets;
  if (parts.sender) {
    packets.emplace_back(RtcpSenderReport{parts.ssrc, *parts.sender, parts.reports});
  } else {
    packets.emplace_back(RtcpReceiverReport{parts.ssrc, parts.reports});
  }
  // RFC 3550 6.1: every compound packet carries the CNAME.
  packets.emplace_back(RtcpSdes{{RtcpSdesChunk{parts.ssrc, {{1, parts.cname}}}}});
  if (parts.bye) packets.emplace_back(RtcpBye{{parts.ssrc}, parts.bye_reason});
  return serialize_rtcp(packets);
}

std::uint64_t ntp_from_system(std::chrono::system_clock::time_point t) {
  // 2208988800 s from 1900-01-01 to the Unix epoch (RFC 868).
  constexpr std::uint64_t kEpochOffset = 2208988800ull;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const auto secs = static_cast<std::uint64_t>(us / 1000000) + kEpochOffset;
  const auto frac = (static_cast<std::uint64_t>(us % 1000000) << 32) / 1000000;
  return (secs << 32) | frac;
}

std::optional<std::chrono::microseconds> rtcp_round_trip(std::uint32_t arrival, const RtcpReportBlock& b) {
  if (b.lsr == 0) return std::nullopt;  // RFC 3550 6.4.1: LSR 0 when no SR was received
  // Modular 16.16 fixed-point arithmetic: wraps correctly across the 32-bit boundary.
  const std::uint32_t since_sr = arrival - b.lsr;
  if (since_sr < b.dlsr) return std::nullopt;
  const std::uint64_t rtt = since_sr - b.dlsr;  // 1/65536 s
  if (rtt > 60ull * 65536) return std::nullopt;  // a minute: an arrival before the SR, not a path
  return std::chrono::microseconds((rtt * 1000000) >> 16);
}

}  // namespace exphone::media
