// Fuzzes the compound RTCP parser (RFC 3550 6, A.2), its serializer, the reception statistics
// (A.1/A.3/A.8) and the round-trip computation (6.4.1), and SRTCP (libsrtp2) on what parses.
// Nothing may crash; what parses must serialize, re-parse to the same packets and not grow;
// protect_rtcp -> unprotect_rtcp must restore the bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "media/rtcp.h"
#include "media/rtp_source_stats.h"
#include "media/srtp_session.h"

using namespace exphone::media;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "rtcp_packet fuzz invariant broken: %s\n", what);
  std::abort();
}

std::uint16_t r16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
std::uint32_t r32(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(r16(p)) << 16) | r16(p + 2);
}

struct Srtcp {
  SrtpSession tx, rx;
};

Srtcp& srtcp() {
  // One pair for the whole run (srtp_create is slow); fixed key: reproducible.
  static Srtcp s = [] {
    std::vector<std::uint8_t> key(30);
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::uint8_t>(i * 7 + 1);
    auto k = SrtpKey::from_bytes(SrtpSuite::kAesCm128HmacSha1_80, key);
    if (!k) fail("fixed key rejected");
    auto tx = SrtpSession::create(*k, Direction::kOutbound);
    auto rx = SrtpSession::create(*k, Direction::kInbound);
    if (!tx || !rx) fail("session creation failed");
    return Srtcp{std::move(*tx), std::move(*rx)};
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);

  auto parsed = parse_rtcp_compound(in);
  if (parsed) {
    if (parsed->empty()) fail("a compound packet without packets");
    auto wire = serialize_rtcp(*parsed);
    if (!wire) {
      std::fprintf(stderr, "%s\n", wire.error().to_string().c_str());
      fail("serialize of parsed RTCP failed");
    }
    if (wire->size() > size) fail("serialized RTCP grew");
    auto again = parse_rtcp_compound(*wire);
    if (!again) {
      std::fprintf(stderr, "%s\n", again.error().to_string().c_str());
      fail("re-parse of serialized RTCP failed");
    }
    if (*again != *parsed) fail("RTCP round trip changed the packets");

    std::vector<std::uint8_t> p(wire->begin(), wire->end());
    if (!srtcp().tx.protect_rtcp(p)) fail("protect_rtcp of a valid compound failed");
    if (!srtcp().rx.unprotect_rtcp(p)) fail("unprotect_rtcp of a fresh SRTCP packet failed");
    if (p != *wire) fail("SRTCP round trip mismatch");
  } else if (parsed.error().code.empty()) {
    fail("error without a code");
  }

  // The input as a stream of (sequence, timestamp, arrival delta) records for one source.
  RtpSourceStats stats(1, 8000);
  RtpSourceStats::TimePoint t{};
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    t += std::chrono::microseconds(r16(data + i + 6) * 16);
    stats.on_packet(r16(data + i), r32(data + i + 2), t);
    if (data[i] == 0xff) stats.on_sender_report(r32(data + i) * 0x100000001ull, t);
    if (data[i + 1] == 0xff) {
      RtcpReportBlock b = stats.make_report_block(t);
      if (b.cumulative_lost > 0x7fffff || b.cumulative_lost < -0x800000) fail("lost out of 24 bits");
      (void)rtcp_round_trip(r32(data + i + 4), b);
    }
  }
  if (stats.valid() && stats.expected() > 0 && stats.jitter_ticks() < 0) fail("negative jitter");
  return 0;
}
