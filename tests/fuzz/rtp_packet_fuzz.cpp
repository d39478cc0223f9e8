// Fuzzes the RTP parser (RFC 3550 5.1), the serialize/parse round trip, RTCP demultiplexing
// (RFC 5761 4) and header parsing over a compound packet, and SRTP/SRTCP unprotect (libsrtp2) of
// arbitrary bytes with fixed-key sessions. Nothing may crash; parsed packets must round-trip, and
// a parsed RTP packet protected by one session must unprotect bit-exactly in its peer.
//
// The fixed keys are libSRTP's test-driver keys (cisco/libsrtp test/srtp_driver.c), so the seed
// corpus's SRTP/SRTCP packets (made with them) authenticate and reach the decrypt path.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "media/rtp.h"
#include "media/srtp_session.h"

using namespace exphone::media;

namespace {

const std::vector<std::uint8_t> kKeyAesCm = {
    0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
    0x39, 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
const std::vector<std::uint8_t> kKeyGcm = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                           0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
                                           0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                           0xa8, 0xa9, 0xaa, 0xab};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "rtp_packet fuzz invariant broken: %s\n", what);
  std::abort();
}

SrtpSession session(SrtpSuite suite, const std::vector<std::uint8_t>& key, Direction d) {
  auto k = SrtpKey::from_bytes(suite, key);
  if (!k) fail("fixed key rejected");
  auto s = SrtpSession::create(*k, d);
  if (!s) fail("session creation failed");
  return std::move(*s);
}

// Sessions live for the whole run: srtp_create costs close to a millisecond with the NSS-backed
// libsrtp2, far more than a packet. The inbound sessions keep replay state across inputs, so an
// authentic seed packet authenticates the first time it is seen; a crashing input still
// reproduces on its own in a fresh process.
struct Sessions {
  SrtpSession aes_rx = session(SrtpSuite::kAesCm128HmacSha1_80, kKeyAesCm, Direction::kInbound);
  std::optional<SrtpSession> gcm_rx;
  SrtpSession rt_tx = session(SrtpSuite::kAesCm128HmacSha1_80, kKeyAesCm, Direction::kOutbound);
  SrtpSession rt_rx = session(SrtpSuite::kAesCm128HmacSha1_80, kKeyAesCm, Direction::kInbound);
  std::uint16_t next_sequence = 0;  // round-trip packets get consecutive sequence numbers
  Sessions() {
    if (SrtpSession::suite_supported(SrtpSuite::kAeadAes128Gcm)) {
      gcm_rx.emplace(session(SrtpSuite::kAeadAes128Gcm, kKeyGcm, Direction::kInbound));
    }
  }
};

Sessions& sessions() {
  static Sessions s;
  return s;
}

void fuzz_unprotect(SrtpSession& rx, const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> a(data, data + size);
  if (rx.unprotect(a) && a.size() > size) fail("unprotect grew the packet");
  std::vector<std::uint8_t> b(data, data + size);
  if (rx.unprotect_rtcp(b) && b.size() > size) fail("unprotect_rtcp grew the packet");
  // Fixed-buffer form on the same bytes (a replay now, or another failure): must stay in bounds.
  std::vector<std::uint8_t> c(data, data + size);
  std::size_t len = c.size();
  (void)rx.unprotect(c.data(), len);
  if (len > size) fail("fixed-buffer unprotect grew the packet");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);

  auto rtp = parse_rtp(in);
  if (rtp) {
    const RtpView& v = *rtp;
    if (v.header_size + v.payload.size() + v.padding_size != size) fail("RTP sizes do not add up");
    auto wire = serialize_rtp(v.header, v.payload, v.padding_size);
    if (!wire) fail("serialize of a parsed RTP packet failed");
    if (wire->size() != size) fail("RTP round trip changed the size");
    auto again = parse_rtp(*wire);
    if (!again) fail("reparse of a serialized RTP packet failed");
    if (again->header.sequence != v.header.sequence || again->header.ssrc != v.header.ssrc ||
        again->header.timestamp != v.header.timestamp ||
        again->header.payload_type != v.header.payload_type ||
        again->header.csrc_count != v.header.csrc_count ||
        !std::equal(again->payload.begin(), again->payload.end(), v.payload.begin(),
                    v.payload.end())) {
      fail("RTP round trip changed the packet");
    }
    // Header bytes are reproduced exactly (only non-final padding bytes may differ: we write 0).
    if (!std::equal(wire->begin(), wire->begin() + static_cast<std::ptrdiff_t>(v.header_size),
                    data)) {
      fail("RTP round trip changed the header bytes");
    }

    // protect -> unprotect restores the packet bit-exactly. Sequence number and SSRC are replaced
    // so the long-lived pair sees one stream with consecutive indexes: a repeated index is refused
    // (RFC 3711 3.3.2) and a jump of 2^15 or more is estimated as an older rollover (3.3.1).
    Sessions& ss = sessions();
    std::vector<std::uint8_t> plain(data, data + size);
    const std::uint16_t seq = ss.next_sequence++;
    plain[2] = static_cast<std::uint8_t>(seq >> 8);
    plain[3] = static_cast<std::uint8_t>(seq);
    std::fill(plain.begin() + 8, plain.begin() + 12, std::uint8_t{0x42});
    std::vector<std::uint8_t> p = plain;
    if (auto st = ss.rt_tx.protect(p); !st) {
      std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
      fail("protect of a valid RTP packet failed");
    }
    if (p.size() != size + srtp_tag_length(SrtpSuite::kAesCm128HmacSha1_80)) {
      fail("protect added the wrong number of bytes");
    }
    if (auto st = ss.rt_rx.unprotect(p); !st) {
      std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
      fail("unprotect of a freshly protected packet failed");
    }
    if (p != plain) fail("SRTP round trip mismatch");
  } else if (rtp.error().code.empty()) {
    fail("error without a code");
  }

  (void)looks_like_rtcp(in);
  std::span<const std::uint8_t> rest = in;
  while (!rest.empty()) {
    auto h = parse_rtcp_header(rest);
    if (!h) break;
    if (h->size() > rest.size() || h->packet.size() != h->size()) fail("RTCP length out of bounds");
    rest = rest.subspan(h->size());
  }

  fuzz_unprotect(sessions().aes_rx, data, size);
  if (sessions().gcm_rx) fuzz_unprotect(*sessions().gcm_rx, data, size);
  return 0;
}
