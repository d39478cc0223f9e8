// SRTP/SRTCP sessions over libsrtp2 (RFC 3711, RFC 7714).
#include "media/srtp_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "media/rtp.h"

using namespace exphone::media;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes rtp_packet(std::uint16_t seq, std::size_t payload_size = 160, std::uint32_t ssrc = 0x11223344,
                 std::uint8_t fill = 0x5a) {
  RtpHeader h;
  h.payload_type = 0;
  h.sequence = seq;
  h.timestamp = 160u * seq;
  h.ssrc = ssrc;
  Bytes payload(payload_size);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    payload[i] = static_cast<std::uint8_t>(fill + i * 7 + seq);
  }
  return *serialize_rtp(h, payload);
}

// An RTCP receiver report with one report block (RFC 3550 6.4.2): 32 bytes.
Bytes rtcp_packet(std::uint32_t ssrc = 0x11223344) {
  Bytes p = {0x81, 201, 0x00, 0x07};
  for (int i = 3; i >= 0; --i) p.push_back(static_cast<std::uint8_t>(ssrc >> (8 * i)));
  for (int i = 0; i < 24; ++i) p.push_back(static_cast<std::uint8_t>(0x30 + i));
  return p;
}

SrtpSession make(const SrtpKey& key, Direction d, std::size_t window = 1024) {
  auto s = SrtpSession::create(key, d, window);
  EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
  return std::move(*s);
}

SrtpKey key_from(SrtpSuite suite, const Bytes& bytes) {
  auto k = SrtpKey::from_bytes(suite, bytes);
  EXPECT_TRUE(k) << (k ? "" : k.error().to_string());
  return *k;
}

// ---- Known-answer vectors ----------------------------------------------------------------------
// From libSRTP's own test driver, cisco/libsrtp test/srtp_driver.c: srtp_validate() (default
// policy = AES_CM_128_HMAC_SHA1_80, RTP and SRTCP), srtp_validate_aes_256() and
// srtp_validate_gcm() (AEAD_AES_128_GCM, 16-octet tag). The plaintext RTP packet is V=2, PT 15,
// seq 0x1234, ts 0xdecafbad, SSRC 0xcafebabe and 16 bytes of 0xab; the RTCP packet is an SR
// header (0x81c8000b) from SSRC 0xcafebabe followed by 16 bytes of 0xab. libSRTP uses a session
// for SSRC 0xcafebabe; our wildcard (ssrc_any_*) sessions derive the same keys (RFC 3711 4.3
// derivation does not depend on the SSRC), so the bytes must match.

const Bytes kRtpPlain = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                         0xba, 0xbe, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                         0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};
const Bytes kRtcpPlain = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe,
                          0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                          0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};

const Bytes kKey128 = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f,
                       0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39, 0x0e, 0xc6, 0x75, 0xad,
                       0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
const Bytes kSrtp128_80 = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                           0xba, 0xbe, 0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8,
                           0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24, 0x02, 0xb7, 0x8d,
                           0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb};
const Bytes kSrtcp128_80 = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0x71, 0x28,
                            0x03, 0x5b, 0xe4, 0x87, 0xb9, 0xbd, 0xbe, 0xf8, 0x90, 0x41,
                            0xf9, 0x77, 0xa5, 0xa8, 0x80, 0x00, 0x00, 0x01, 0x99, 0x3e,
                            0x08, 0xcd, 0x54, 0xd6, 0xc1, 0x23, 0x07, 0x98};

const Bytes kKey256 = {0xf0, 0xf0, 0x49, 0x14, 0xb5, 0x13, 0xf2, 0x76, 0x3a, 0x1b, 0x1f, 0xa1,
                       0x30, 0xf1, 0x0e, 0x29, 0x98, 0xf6, 0xf6, 0xe4, 0x3e, 0x43, 0x09, 0xd1,
                       0xe6, 0x22, 0xa0, 0xe3, 0x32, 0xb9, 0xf1, 0xb6, 0x3b, 0x04, 0x80, 0x3d,
                       0xe5, 0x1e, 0xe7, 0xc9, 0x64, 0x23, 0xab, 0x5b, 0x78, 0xd2};
const Bytes kSrtp256_80 = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe,
                           0xba, 0xbe, 0xf1, 0xd9, 0xde, 0x17, 0xff, 0x25, 0x1f, 0xf1,
                           0xaa, 0x00, 0x77, 0x74, 0xb0, 0xb4, 0xb4, 0x0d, 0xa0, 0x8d,
                           0x9d, 0x9a, 0x5b, 0x3a, 0x55, 0xd8, 0x87, 0x3b};

const Bytes kKeyGcm128 = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                          0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xa0, 0xa1, 0xa2, 0xa3,
                          0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};
const Bytes kSrtpGcm128 = {0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba,
                           0xbe, 0xc5, 0x00, 0x2e, 0xde, 0x04, 0xcf, 0xdd, 0x2e, 0xb9, 0x11,
                           0x59, 0xe0, 0x88, 0x0a, 0xa0, 0x6e, 0xd2, 0x97, 0x68, 0x26, 0xf7,
                           0x96, 0xb2, 0x01, 0xdf, 0x31, 0x31, 0xa1, 0x27, 0xe8, 0xa3, 0x92};
const Bytes kSrtcpGcm128 = {0x81, 0xc8, 0x00, 0x0b, 0xca, 0xfe, 0xba, 0xbe, 0xc9, 0x8b, 0x8b,
                            0x5d, 0xf0, 0x39, 0x2a, 0x55, 0x85, 0x2b, 0x6c, 0x21, 0xac, 0x8e,
                            0x70, 0x25, 0xc5, 0x2c, 0x6f, 0xbe, 0xa2, 0xb3, 0xb4, 0x46, 0xea,
                            0x31, 0x12, 0x3b, 0xa8, 0x8c, 0xe6, 0x1e, 0x80, 0x00, 0x00, 0x01};

void expect_known_answer(SrtpSuite suite, const Bytes& key_bytes, const Bytes& srtp,
                         const Bytes* srtcp) {
  if (!SrtpSession::suite_supported(suite)) GTEST_SKIP() << srtp_suite_name(suite);
  SrtpKey key = key_from(suite, key_bytes);
  SrtpSession tx = make(key, Direction::kOutbound);
  SrtpSession rx = make(key, Direction::kInbound);

  Bytes p = kRtpPlain;
  ASSERT_TRUE(tx.protect(p));
  EXPECT_EQ(p, srtp);
  Bytes back = srtp;
  ASSERT_TRUE(rx.unprotect(back));
  EXPECT_EQ(back, kRtpPlain);

  if (srtcp) {
    Bytes c = kRtcpPlain;
    ASSERT_TRUE(tx.protect_rtcp(c));
    EXPECT_EQ(c, *srtcp);
    Bytes cback = *srtcp;
    ASSERT_TRUE(rx.unprotect_rtcp(cback));
    EXPECT_EQ(cback, kRtcpPlain);
  }
}

}  // namespace

TEST(SrtpKnownAnswer, AesCm128HmacSha1_80) {
  expect_known_answer(SrtpSuite::kAesCm128HmacSha1_80, kKey128, kSrtp128_80, &kSrtcp128_80);
}

TEST(SrtpKnownAnswer, AesCm128HmacSha1_32IsTheTruncatedTag) {
  // RFC 3711 4.2.1 / RFC 4568 6.2.2: the same keystream and HMAC-SHA1, the tag truncated to its
  // leftmost 32 bits; SRTCP keeps the 80-bit tag, so it matches the _80 vector exactly.
  Bytes expected(kSrtp128_80.begin(), kSrtp128_80.end() - 6);
  expect_known_answer(SrtpSuite::kAesCm128HmacSha1_32, kKey128, expected, &kSrtcp128_80);
}

TEST(SrtpKnownAnswer, Aes256CmHmacSha1_80) {
  expect_known_answer(SrtpSuite::kAes256CmHmacSha1_80, kKey256, kSrtp256_80, nullptr);
}

TEST(SrtpKnownAnswer, AeadAes128Gcm) {
  expect_known_answer(SrtpSuite::kAeadAes128Gcm, kKeyGcm128, kSrtpGcm128, &kSrtcpGcm128);
}

TEST(SrtpCrypto, OpensslServesEveryPrimitive) {
  // AES-ICM 128/192/256, AES-GCM 128/256 and HMAC-SHA1 are OpenSSL adapters (srtp_crypto_openssl.h)
  // only if each passed libsrtp2's self-test with our known answers and with those of the
  // implementation it replaces; the known-answer packets above then went through them.
  EXPECT_EQ(SrtpSession::crypto_backend(), "OpenSSL");
}

TEST(SrtpSuites, BaseSuitesAlwaysSupported) {
  EXPECT_TRUE(SrtpSession::suite_supported(SrtpSuite::kAesCm128HmacSha1_80));
  EXPECT_TRUE(SrtpSession::suite_supported(SrtpSuite::kAesCm128HmacSha1_32));
  for (SrtpSuite s : kAllSrtpSuites) {
    std::printf("  %-24s %s\n", std::string(srtp_suite_name(s)).c_str(),
                SrtpSession::suite_supported(s) ? "supported" : "NOT supported");
  }
}

TEST(SrtpSuites, NamesRoundTrip) {
  for (SrtpSuite s : kAllSrtpSuites) EXPECT_EQ(srtp_suite_from_name(srtp_suite_name(s)), s);
  EXPECT_EQ(srtp_suite_from_name("AES_CM_128_HMAC_SHA1_80"), SrtpSuite::kAesCm128HmacSha1_80);
  EXPECT_EQ(srtp_suite_from_name("AEAD_AES_256_GCM"), SrtpSuite::kAeadAes256Gcm);
  EXPECT_FALSE(srtp_suite_from_name("F8_128_HMAC_SHA1_80"));
  EXPECT_FALSE(srtp_suite_from_name("aes_cm_128_hmac_sha1_80"));
  EXPECT_FALSE(srtp_suite_from_name(""));
}

TEST(SrtpKey, GenerateGivesFreshKeysOfTheRightLength) {
  for (SrtpSuite s : kAllSrtpSuites) {
    std::set<Bytes> seen;
    for (int i = 0; i < 16; ++i) {
      auto k = SrtpKey::generate(s);
      ASSERT_TRUE(k);
      EXPECT_EQ(k->suite, s);
      EXPECT_EQ(k->master_key_salt.size(), srtp_key_salt_length(s));
      EXPECT_EQ(k->master_key_salt.size(), srtp_master_key_length(s) + srtp_master_salt_length(s));
      seen.insert(k->master_key_salt);
    }
    EXPECT_EQ(seen.size(), 16u) << srtp_suite_name(s);
  }
  EXPECT_EQ(srtp_key_salt_length(SrtpSuite::kAesCm128HmacSha1_80), 30u);
  EXPECT_EQ(srtp_key_salt_length(SrtpSuite::kAes192CmHmacSha1_80), 38u);
  EXPECT_EQ(srtp_key_salt_length(SrtpSuite::kAes256CmHmacSha1_32), 46u);
  EXPECT_EQ(srtp_key_salt_length(SrtpSuite::kAeadAes128Gcm), 28u);
  EXPECT_EQ(srtp_key_salt_length(SrtpSuite::kAeadAes256Gcm), 44u);
}

TEST(SrtpKey, LengthChecked) {
  auto k = SrtpKey::from_bytes(SrtpSuite::kAesCm128HmacSha1_80, Bytes(29));
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().code, "srtp-bad-key-length");
  // The message must not contain key bytes; it only names lengths.
  EXPECT_NE(k.error().message.find("30"), std::string::npos);

  SrtpKey bad{SrtpSuite::kAeadAes128Gcm, Bytes(30, 1)};
  auto s = SrtpSession::create(bad, Direction::kOutbound);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "srtp-bad-key-length");
}

TEST(SrtpSession, BadWindow) {
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  for (std::size_t w : {std::size_t{0}, std::size_t{63}, std::size_t{0x8000}}) {
    auto s = SrtpSession::create(key, Direction::kInbound, w);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, "srtp-bad-window");
  }
  EXPECT_TRUE(SrtpSession::create(key, Direction::kInbound, 64));
  EXPECT_TRUE(SrtpSession::create(key, Direction::kInbound, 0x7fff));
}

TEST(SrtpSession, WrongDirection) {
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = make(key, Direction::kOutbound);
  SrtpSession rx = make(key, Direction::kInbound);
  Bytes p = rtp_packet(1);
  auto st = rx.protect(p);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-wrong-direction");
  st = tx.unprotect(p);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-wrong-direction");
  EXPECT_EQ(p, rtp_packet(1));
}

TEST(SrtpSession, MoveOnly) {
  static_assert(!std::is_copy_constructible_v<SrtpSession>);
  static_assert(std::is_nothrow_move_constructible_v<SrtpSession>);
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = make(key, Direction::kOutbound);
  SrtpSession rx = make(key, Direction::kInbound);
  Bytes p = rtp_packet(7);
  ASSERT_TRUE(tx.protect(p));
  SrtpSession moved = std::move(rx);
  ASSERT_TRUE(moved.unprotect(p));
  EXPECT_EQ(p, rtp_packet(7));
  Bytes q = rtp_packet(8);
  auto st = rx.protect(q);  // NOLINT(bugprone-use-after-move): a moved-from session refuses work
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-no-session");
  SrtpSession other = make(key, Direction::kInbound);
  other = std::move(moved);  // the old context of `other` is released (ASan checks the leak)
  EXPECT_EQ(other.counters().unprotected_packets, 1u);
}

TEST(SrtpSession, ReplayWindowSize) {
  // RFC 3711 3.3.2: packets older than the window are rejected even if never seen.
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = make(key, Direction::kOutbound);
  std::vector<Bytes> sent;
  for (std::uint16_t seq = 1; seq <= 200; ++seq) {
    Bytes p = rtp_packet(seq);
    ASSERT_TRUE(tx.protect(p));
    sent.push_back(p);
  }
  SrtpSession small = make(key, Direction::kInbound, 64);
  SrtpSession large = make(key, Direction::kInbound, 1024);
  for (SrtpSession* rx : {&small, &large}) {
    Bytes last = sent.back();
    ASSERT_TRUE(rx->unprotect(last));
  }
  Bytes old_small = sent[99];  // seq 100, 100 behind the newest
  Bytes old_large = sent[99];
  auto st = small.unprotect(old_small);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-replay");
  EXPECT_EQ(small.counters().replays_dropped, 1u);
  EXPECT_TRUE(large.unprotect(old_large));
  EXPECT_EQ(old_large, rtp_packet(100));
}

TEST(SrtpSession, ShortAndMalformedPackets) {
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession rx = make(key, Direction::kInbound);
  for (Bytes b : {Bytes{}, Bytes(11, 0x80), Bytes{0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2},
                  Bytes(40, 0x00), Bytes{0x8f, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4}}) {
    auto st = rx.unprotect(b);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "srtp-bad-packet");
    auto rt = rx.unprotect_rtcp(b);
    ASSERT_FALSE(rt);
    EXPECT_EQ(rt.error().code, "srtp-bad-packet");
  }
  EXPECT_EQ(rx.counters().other_errors, 10u);
  EXPECT_EQ(rx.counters().auth_failures, 0u);
}

TEST(SrtpSession, FixedBufferProtect) {
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = make(key, Direction::kOutbound);
  SrtpSession rx = make(key, Direction::kInbound);
  std::array<std::uint8_t, 1500> buf{};
  const Bytes plain = rtp_packet(42);
  std::copy(plain.begin(), plain.end(), buf.begin());

  std::size_t len = plain.size();
  auto st = tx.protect(buf.data(), len, plain.size() + kSrtpTrailerSpace - 1);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-buffer-too-small");
  EXPECT_EQ(len, plain.size());

  ASSERT_TRUE(tx.protect(buf.data(), len, buf.size()));
  EXPECT_EQ(len, plain.size() + 10);
  ASSERT_TRUE(rx.unprotect(buf.data(), len));
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len)), plain);

  // RTCP likewise.
  const Bytes rtcp = rtcp_packet();
  std::copy(rtcp.begin(), rtcp.end(), buf.begin());
  len = rtcp.size();
  ASSERT_TRUE(tx.protect_rtcp(buf.data(), len, buf.size()));
  EXPECT_EQ(len, rtcp.size() + 14);
  ASSERT_TRUE(rx.unprotect_rtcp(buf.data(), len));
  EXPECT_EQ(Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(len)), rtcp);
}

TEST(SrtpSession, OutboundRefusesRepeatedSequence) {
  SrtpKey key = *SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  SrtpSession tx = make(key, Direction::kOutbound);
  Bytes a = rtp_packet(5);
  Bytes b = rtp_packet(5);
  ASSERT_TRUE(tx.protect(a));
  auto st = tx.protect(b);  // the same index twice would reuse keystream (RFC 3711 9.1)
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-replay");
  EXPECT_EQ(b, rtp_packet(5));
}

// ---- Per-suite properties ----------------------------------------------------------------------

class SrtpSuiteTest : public ::testing::TestWithParam<SrtpSuite> {
 protected:
  void SetUp() override {
    if (!SrtpSession::suite_supported(GetParam())) {
      GTEST_SKIP() << srtp_suite_name(GetParam()) << " not supported by this libsrtp2";
    }
    key_ = *SrtpKey::generate(GetParam());
  }
  SrtpKey key_;
};

TEST_P(SrtpSuiteTest, RoundTripRestoresPayloadBitExact) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  const std::size_t tag = srtp_tag_length(GetParam());
  switch (GetParam()) {
    case SrtpSuite::kAeadAes128Gcm:
    case SrtpSuite::kAeadAes256Gcm: EXPECT_EQ(tag, 16u); break;
    case SrtpSuite::kAesCm128HmacSha1_32:
    case SrtpSuite::kAes192CmHmacSha1_32:
    case SrtpSuite::kAes256CmHmacSha1_32: EXPECT_EQ(tag, 4u); break;
    default: EXPECT_EQ(tag, 10u);
  }
  std::uint16_t s = 100;
  for (int round = 0; round < 10; ++round) {
    for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{160}, std::size_t{1200}}) {
      ++s;
      const Bytes plain = rtp_packet(s, size);
      Bytes p = plain;
      ASSERT_TRUE(tx.protect(p));
      ASSERT_EQ(p.size(), plain.size() + tag);
      EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 12, p.begin()));  // header in clear
      if (size >= 16) {
        EXPECT_FALSE(std::equal(plain.begin() + 12, plain.end(), p.begin() + 12));  // encrypted
      }
      ASSERT_TRUE(rx.unprotect(p)) << s;
      EXPECT_EQ(p, plain);
    }
  }
  EXPECT_EQ(tx.counters().protected_packets, 40u);
  EXPECT_EQ(rx.counters().unprotected_packets, 40u);
  EXPECT_EQ(rx.counters().auth_failures + rx.counters().replays_dropped +
                rx.counters().other_errors,
            0u);
}

TEST_P(SrtpSuiteTest, ReplayIsDroppedAndCounted) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  Bytes p = rtp_packet(1000);
  ASSERT_TRUE(tx.protect(p));
  Bytes copy = p;
  ASSERT_TRUE(rx.unprotect(p));
  auto st = rx.unprotect(copy);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-replay");
  EXPECT_EQ(rx.counters().replays_dropped, 1u);
  EXPECT_EQ(rx.counters().auth_failures, 0u);
  EXPECT_EQ(rx.counters().unprotected_packets, 1u);
}

TEST_P(SrtpSuiteTest, BitFlipsFailAuthentication) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  Bytes p = rtp_packet(2000);
  ASSERT_TRUE(tx.protect(p));
  const std::size_t tag = srtp_tag_length(GetParam());
  // payload byte, first and last tag byte, a header byte (timestamp): all authenticated.
  for (std::size_t pos : {std::size_t{20}, p.size() - tag, p.size() - 1, std::size_t{5}}) {
    Bytes bad = p;
    bad[pos] ^= 0x01;
    auto st = rx.unprotect(bad);
    ASSERT_FALSE(st) << pos;
    EXPECT_EQ(st.error().code, "srtp-auth-failed") << pos;
  }
  EXPECT_EQ(rx.counters().auth_failures, 4u);
  // The genuine packet still goes through: failed packets do not advance the replay window.
  ASSERT_TRUE(rx.unprotect(p));
  EXPECT_EQ(p, rtp_packet(2000));
}

TEST_P(SrtpSuiteTest, WrongKeyFailsAuthentication) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(*SrtpKey::generate(GetParam()), Direction::kInbound);
  for (std::uint16_t seq = 1; seq <= 3; ++seq) {
    Bytes p = rtp_packet(seq);
    ASSERT_TRUE(tx.protect(p));
    auto st = rx.unprotect(p);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, "srtp-auth-failed");
  }
  Bytes c = rtcp_packet();
  ASSERT_TRUE(tx.protect_rtcp(c));
  auto st = rx.unprotect_rtcp(c);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-auth-failed");
  EXPECT_EQ(rx.counters().auth_failures, 4u);
  EXPECT_EQ(rx.counters().unprotected_packets, 0u);
}

TEST_P(SrtpSuiteTest, CleartextRtpInjectionFailsAuthentication) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  Bytes good = rtp_packet(10);
  ASSERT_TRUE(tx.protect(good));
  ASSERT_TRUE(rx.unprotect(good));
  // An attacker (or a misconfigured peer) sends plain RTP with the next sequence number.
  Bytes injected = rtp_packet(11);
  auto st = rx.unprotect(injected);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-auth-failed");
  EXPECT_EQ(rx.counters().auth_failures, 1u);

  // Plain RTCP. Its trailing bytes are read as E||SRTCP index and tag (RFC 3711 3.4). With E=0,
  // libsrtp's AES-CM path refuses before authenticating (srtp_err_status_cant_check: the packet
  // claims to be unencrypted while the policy encrypts -> srtp-bad-packet); the GCM path fails
  // authentication. Either way it is dropped.
  Bytes rtcp = rtcp_packet();
  auto rt = rx.unprotect_rtcp(rtcp);
  ASSERT_FALSE(rt);
  EXPECT_TRUE(rt.error().code == "srtp-bad-packet" || rt.error().code == "srtp-auth-failed")
      << rt.error().to_string();
  // With the E flag set where the suite expects it, it reaches the tag check and fails there.
  Bytes rtcp_e = rtcp_packet();
  const bool gcm = GetParam() == SrtpSuite::kAeadAes128Gcm || GetParam() == SrtpSuite::kAeadAes256Gcm;
  rtcp_e[gcm ? rtcp_e.size() - 4 : rtcp_e.size() - 14] |= 0x80;  // RFC 7714 puts E||index last
  const auto before = rx.counters().auth_failures;
  rt = rx.unprotect_rtcp(rtcp_e);
  ASSERT_FALSE(rt);
  EXPECT_EQ(rt.error().code, "srtp-auth-failed") << rt.error().to_string();
  EXPECT_EQ(rx.counters().auth_failures, before + 1);
  EXPECT_EQ(rx.counters().unprotected_packets, 1u);
}

TEST_P(SrtpSuiteTest, SequenceWraparoundAdvancesRoc) {
  // RFC 3711 3.3.1: the rollover counter counts sequence wraps; both sides must track it.
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  Bytes after_wrap;
  std::uint16_t seq = 65530;
  for (int i = 0; i < 12; ++i, ++seq) {  // 65530..65535, 0..5
    const Bytes plain = rtp_packet(seq);
    Bytes p = plain;
    ASSERT_TRUE(tx.protect(p)) << seq;
    if (seq == 0) after_wrap = p;
    ASSERT_TRUE(rx.unprotect(p)) << seq;
    EXPECT_EQ(p, plain);
  }
  // Seq 0 with ROC 1 is a different packet index than seq 0 with ROC 0, so its keystream and tag
  // differ from what a fresh sender produces for the same RTP bytes.
  SrtpSession fresh = make(key_, Direction::kOutbound);
  Bytes p0 = rtp_packet(0);
  ASSERT_TRUE(fresh.protect(p0));
  EXPECT_NE(p0, after_wrap);
  // And a receiver that never saw the wrap cannot authenticate the ROC=1 packet.
  SrtpSession late = make(key_, Direction::kInbound);
  Bytes q = after_wrap;
  EXPECT_FALSE(late.unprotect(q));
}

TEST_P(SrtpSuiteTest, SrtcpRoundTripAndReplay) {
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  const Bytes plain = rtcp_packet();
  const std::size_t overhead = srtcp_overhead(GetParam());
  const bool gcm = GetParam() == SrtpSuite::kAeadAes128Gcm || GetParam() == SrtpSuite::kAeadAes256Gcm;
  EXPECT_EQ(overhead, gcm ? 20u : 14u);  // 4-byte E||index + 16- or 80-bit tag
  Bytes first;
  for (int i = 0; i < 3; ++i) {
    Bytes c = plain;
    ASSERT_TRUE(tx.protect_rtcp(c));
    ASSERT_EQ(c.size(), plain.size() + overhead);
    EXPECT_TRUE(std::equal(plain.begin(), plain.begin() + 8, c.begin()));  // header + SSRC clear
    if (i == 0) first = c;
    ASSERT_TRUE(rx.unprotect_rtcp(c));
    EXPECT_EQ(c, plain);
  }
  auto st = rx.unprotect_rtcp(first);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "srtp-replay");
  EXPECT_EQ(rx.counters().replays_dropped, 1u);
  EXPECT_EQ(rx.counters().unprotected_packets, 3u);
}

TEST_P(SrtpSuiteTest, ManySsrcsShareTheSession) {
  // ssrc_any_inbound / ssrc_any_outbound: one key serves every SSRC the peer uses.
  SrtpSession tx = make(key_, Direction::kOutbound);
  SrtpSession rx = make(key_, Direction::kInbound);
  for (std::uint32_t ssrc : {1u, 0xffffffffu, 0x12345678u}) {
    const Bytes plain = rtp_packet(1, 80, ssrc);
    Bytes p = plain;
    ASSERT_TRUE(tx.protect(p));
    ASSERT_TRUE(rx.unprotect(p));
    EXPECT_EQ(p, plain);
  }
}

INSTANTIATE_TEST_SUITE_P(AllSuites, SrtpSuiteTest, ::testing::ValuesIn(kAllSrtpSuites),
                         [](const ::testing::TestParamInfo<SrtpSuite>& info) {
                           std::string n(srtp_suite_name(info.param));
                           for (char& c : n) {
                             if (c == '-') c = '_';
                           }
                           return n;
                         });
