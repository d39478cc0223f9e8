// NTP packet parsing, reply validation and offset math (RFC 4330 sections 3-5, 8).
#include <gtest/gtest.h>

#include "clock/ntp_packet.h"
#include "clock/sntp_config.h"
#include "core/trusted_clock.h"

namespace exphone::clock {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

constexpr std::int64_t kNs = 1000000000LL;

// A valid reply to a request with transmit timestamp `sent`, with T2/T3 at the given times.
NtpPacket reply(NtpTimestamp sent, system_clock::time_point t2, system_clock::time_point t3) {
  NtpPacket p;
  p.leap = 0;
  p.version = 4;
  p.mode = kModeServer;
  p.stratum = 8;
  p.reference_id = 0x7f7f0101;
  p.reference = to_ntp(t2 - 10s);
  p.originate = sent;
  p.receive = to_ntp(t2);
  p.transmit = to_ntp(t3);
  return p;
}

const NtpTimestamp kSent{0x12345678u, 0x9abcdef0u};

TEST(NtpPacket, ShortPacketIsMalformed) {
  std::vector<std::uint8_t> d(47, 0);
  auto p = parse_ntp_packet(d);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, "ntp-malformed");
  EXPECT_FALSE(parse_ntp_packet({}));
}

TEST(NtpPacket, RoundTripAndFields) {
  NtpPacket p = make_request(kSent);
  auto wire = serialize(p);
  EXPECT_EQ(wire[0], 0x23);  // LI 0, VN 4, mode 3 (RFC 4330 section 5)
  for (std::size_t i = 1; i < 40; ++i) EXPECT_EQ(wire[i], 0) << i;
  auto back = parse_ntp_packet(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->mode, kModeClient);
  EXPECT_EQ(back->version, 4);
  EXPECT_EQ(back->transmit, kSent);
  // Extension fields / a MAC after the header are ignored.
  std::vector<std::uint8_t> longer(wire.begin(), wire.end());
  longer.resize(68, 0xee);
  EXPECT_TRUE(parse_ntp_packet(longer));
}

TEST(NtpPacket, TimestampConversionsAndEras) {
  // 1970-01-01 is NTP second 2208988800 (RFC 5905 figure 4).
  EXPECT_EQ(to_ntp(system_clock::time_point{}).seconds, 2208988800u);
  auto t = system_clock::time_point{} + seconds(1764115200) + milliseconds(250);  // 2025-11-26
  NtpTimestamp n = to_ntp(t);
  EXPECT_EQ(n.fraction, 0x40000000u);
  EXPECT_EQ(duration_cast<milliseconds>(from_ntp(n) - t).count(), 0);
  // RFC 4330 section 3: after 2036-02-07 06:28:16 the seconds wrap (era 1, top bit clear).
  auto t2040 = system_clock::time_point{} + seconds(2208988800LL);  // 2039-12-31
  NtpTimestamp w = to_ntp(t2040);
  EXPECT_EQ(w.seconds & 0x80000000u, 0u);
  EXPECT_EQ(duration_cast<seconds>(from_ntp(w) - t2040).count(), 0);
}

TEST(NtpPacket, OffsetAndDelayMath) {
  // RFC 4330 section 5: offset = ((T2 - T1) + (T3 - T4)) / 2, delay = (T4 - T1) - (T3 - T2).
  // Client 100 s behind the server, 20 ms each way, 2 ms in the server.
  std::int64_t t1 = 1000 * kNs, t2 = t1 + 100 * kNs + 20000000, t3 = t2 + 2000000, t4 = t1 + 42000000;
  SntpSample s = compute_sample(t1, t2, t3, t4);
  EXPECT_EQ(s.offset.count(), 100 * kNs);
  EXPECT_EQ(s.delay.count(), 40000000);
  // A device in 1970 against a server in 2026: an offset of ~56 years, no overflow.
  std::int64_t far = 1764115200LL * kNs;
  SntpSample f = compute_sample(86400 * kNs, far, far, 86400 * kNs);
  EXPECT_EQ(f.offset.count(), far - 86400 * kNs);
}

TEST(NtpPacket, ValidReply) {
  auto t1 = system_clock::now();
  auto t4 = t1 + 10ms;
  auto r = check_reply(reply(kSent, t1 + 3600s + 5ms, t1 + 3600s + 5ms), kSent, t1, t4);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_NEAR(duration_cast<milliseconds>(r->offset).count(), 3600000, 1);
  EXPECT_NEAR(duration_cast<milliseconds>(r->delay).count(), 10, 1);
  EXPECT_EQ(r->stratum, 8);
}

TEST(NtpPacket, SpoofedReplyWithWrongOriginateIsRefused) {
  auto t1 = system_clock::now();
  NtpPacket p = reply(NtpTimestamp{kSent.seconds, kSent.fraction + 1}, t1, t1);
  auto r = check_reply(p, kSent, t1, t1 + 1ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ntp-spoofed");
  // An attacker echoing the time it read off our request does not help: we send random bits.
  p.originate = to_ntp(t1);
  EXPECT_EQ(check_reply(p, kSent, t1, t1 + 1ms).error().code, "ntp-spoofed");
}

TEST(NtpPacket, SanityChecks) {
  auto t1 = system_clock::now(), t4 = t1 + 1ms;
  auto code = [&](auto mutate) {
    NtpPacket p = reply(kSent, t1, t1);
    mutate(p);
    auto r = check_reply(p, kSent, t1, t4);
    return r ? std::string("ok") : r.error().code;
  };
  EXPECT_EQ(code([](NtpPacket& p) { p.leap = kLeapAlarm; }), "ntp-unsynchronized");  // LI 3
  EXPECT_EQ(code([](NtpPacket& p) { p.stratum = 16; }), "ntp-unsynchronized");
  EXPECT_EQ(code([](NtpPacket& p) { p.mode = kModeClient; }), "ntp-bad-packet");
  EXPECT_EQ(code([](NtpPacket& p) { p.mode = 5; }), "ntp-bad-packet");  // broadcast
  EXPECT_EQ(code([](NtpPacket& p) { p.version = 2; }), "ntp-bad-packet");
  EXPECT_EQ(code([](NtpPacket& p) { p.version = 3; }), "ok");
  EXPECT_EQ(code([](NtpPacket& p) { p.transmit = {}; }), "ntp-bad-packet");
  EXPECT_EQ(code([](NtpPacket& p) { p.receive = {}; }), "ntp-bad-packet");
  EXPECT_EQ(code([&](NtpPacket& p) { p.transmit = to_ntp(t1 - 1s); }), "ntp-bad-packet");  // T3 < T2
  EXPECT_EQ(code([](NtpPacket& p) { p.leap = 1; }), "ok");  // leap second warning is still a time
}

TEST(NtpPacket, KissOfDeath) {
  auto t1 = system_clock::now();
  NtpPacket p = reply(kSent, t1, t1);
  p.stratum = 0;
  p.reference_id = 0x44454e59;  // "DENY" (RFC 4330 section 8)
  auto r = check_reply(p, kSent, t1, t1 + 1ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ntp-kiss-of-death");
  EXPECT_NE(r.error().message.find("DENY"), std::string::npos);
  p.reference_id = 0x52415445;  // "RATE"
  EXPECT_EQ(kiss_code(p), "RATE");
  p.reference_id = 0x01ff4100;
  EXPECT_EQ(kiss_code(p), "??A");
}

TEST(NtpPacket, ClockBeforeOrAfterTheErasIsRefusedNotOverflowed) {
  auto t1 = system_clock::time_point{} + seconds(5000000000LL);  // year 2128
  auto r = check_reply(reply(kSent, t1, t1), kSent, t1, t1 + 1ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "ntp-bad-packet");
}

TEST(SntpConfig, ServerAddresses) {
  auto a = parse_server("127.0.0.1:10123");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 10123);
  auto b = parse_server("pool.ntp.org");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->port, 123);
  auto c = parse_server("[::1]:123");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  for (const char* bad : {"", ":123", "host:", "host:0", "host:70000", "::1", "[::1", "[::1]x", "a b:1", "h:x"})
    EXPECT_FALSE(parse_server(bad)) << bad;
}

TEST(TrustedClock, OffsetAndPlausibility) {
  TrustedClock c;
  EXPECT_FALSE(c.synchronized());
  EXPECT_EQ(c.source(), "system");
  EXPECT_FALSE(c.verify_time());
  EXPECT_TRUE(c.system_plausible());  // the test machine's clock is after the build date
  EXPECT_TRUE(c.plausible());
  EXPECT_LE(build_time(), std::time(nullptr));
  c.set_sync({duration_cast<nanoseconds>(3600s), 2ms, "127.0.0.1:123", std::time(nullptr)});
  EXPECT_TRUE(c.synchronized());
  EXPECT_EQ(c.source(), "ntp 127.0.0.1:123");
  ASSERT_TRUE(c.verify_time());
  EXPECT_NEAR(static_cast<double>(*c.verify_time() - std::time(nullptr)), 3600.0, 2.0);
  EXPECT_EQ(format_utc(0), "1970-01-01 00:00:00 UTC");
}

}  // namespace
}  // namespace exphone::clock
