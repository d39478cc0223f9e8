// RTCP compound packets (RFC 3550 6, validity checks of A.2), reception statistics (A.1, A.3,
// A.8) and the round-trip time from LSR/DLSR (6.4.1).
#include "media/rtcp.h"

#include <gtest/gtest.h>

#include <vector>

#include "media/rtp_source_stats.h"

using namespace exphone;
using namespace exphone::media;
using namespace std::chrono_literals;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string code_of(const Bytes& b) {
  auto r = parse_rtcp_compound(b);
  return r ? std::string("ok") : r.error().code;
}

// SR (SSRC 0x11223344, one report block) + SDES (CNAME "ab@c") + BYE (reason "gone"), by hand.
Bytes sample_compound() {
  return {
      // SR: V=2 RC=1 PT=200 length=12 (13 words)
      0x81, 200, 0x00, 12, 0x11, 0x22, 0x33, 0x44,
      0xe8, 0x00, 0x00, 0x01, 0x80, 0x00, 0x00, 0x00,  // NTP 0xe8000001.80000000
      0x00, 0x00, 0x10, 0x00,                          // RTP timestamp 4096
      0x00, 0x00, 0x00, 0x32,                          // packet count 50
      0x00, 0x00, 0x1f, 0x40,                          // octet count 8000
      0xca, 0xfe, 0xba, 0xbe,                          // block: SSRC
      0x40, 0xff, 0xff, 0xfe,                          // fraction 64/256, cumulative lost -2
      0x00, 0x01, 0x00, 0x05,                          // extended highest seq: cycle 1, seq 5
      0x00, 0x00, 0x00, 0x50,                          // jitter 80
      0xb7, 0x05, 0x20, 0x00,                          // LSR
      0x00, 0x05, 0x40, 0x00,                          // DLSR 5.25 s
      // SDES: SC=1, length 3: SSRC, CNAME(1) len 4 "ab@c", end + pad
      0x81, 202, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44, 0x01, 0x04, 'a', 'b', '@', 'c', 0x00, 0x00,
      // BYE: SC=1, length 3: SSRC, reason len 4 "gone", pad
      0x81, 203, 0x00, 0x03, 0x11, 0x22, 0x33, 0x44, 0x04, 'g', 'o', 'n', 'e', 0x00, 0x00, 0x00,
  };
}

}  // namespace

TEST(Rtcp, ParsesACompoundPacket) {
  auto r = parse_rtcp_compound(sample_compound());
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 3u);
  const auto& sr = std::get<RtcpSenderReport>((*r)[0]);
  EXPECT_EQ(sr.ssrc, 0x11223344u);
  EXPECT_EQ(sr.sender.ntp_timestamp, 0xe800000180000000ull);
  EXPECT_EQ(sr.sender.rtp_timestamp, 4096u);
  EXPECT_EQ(sr.sender.packet_count, 50u);
  EXPECT_EQ(sr.sender.octet_count, 8000u);
  ASSERT_EQ(sr.reports.size(), 1u);
  const auto& b = sr.reports[0];
  EXPECT_EQ(b.ssrc, 0xcafebabeu);
  EXPECT_EQ(b.fraction_lost, 64);
  EXPECT_EQ(b.cumulative_lost, -2);  // signed 24 bits
  EXPECT_EQ(b.extended_highest_seq, 0x10005u);
  EXPECT_EQ(b.jitter, 80u);
  EXPECT_EQ(b.lsr, 0xb7052000u);
  EXPECT_EQ(b.dlsr, 0x00054000u);
  const auto& sdes = std::get<RtcpSdes>((*r)[1]);
  ASSERT_EQ(sdes.chunks.size(), 1u);
  EXPECT_EQ(sdes.chunks[0].ssrc, 0x11223344u);
  EXPECT_EQ(sdes.chunks[0].cname(), "ab@c");
  const auto& bye = std::get<RtcpBye>((*r)[2]);
  EXPECT_EQ(bye.ssrcs, std::vector<std::uint32_t>{0x11223344u});
  EXPECT_EQ(bye.reason, "gone");

  // serialize_rtcp writes the same bytes back
  auto wire = serialize_rtcp(*r);
  ASSERT_TRUE(wire) << wire.error().to_string();
  EXPECT_EQ(*wire, sample_compound());
}

TEST(Rtcp, RoundTripsEveryPacketType) {
  RtcpReportBlock blk{0x01020304, 255, -0x800000, 0xffffffff, 12345, 0xdeadbeef, 77};
  std::vector<RtcpPacket> packets = {
      RtcpReceiverReport{0xaabbccdd, {blk, blk}},
      RtcpSdes{{RtcpSdesChunk{1, {{1, "x@y"}, {6, "exphone"}}}, RtcpSdesChunk{2, {}},
                RtcpSdesChunk{3, {{2, "abc"}}}}},
      RtcpApp{3, 0x55, {'t', 'e', 's', 't'}, {1, 2, 3, 4, 5, 6, 7, 8}},
      RtcpOther{205, 1, {0, 0, 0, 1, 0, 0, 0, 2}},  // RFC 4585 generic NACK shape: kept opaque
      RtcpBye{{7, 8, 9}, ""},
  };
  auto wire = serialize_rtcp(packets);
  ASSERT_TRUE(wire) << wire.error().to_string();
  EXPECT_EQ(wire->size() % 4, 0u);
  auto back = parse_rtcp_compound(*wire);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(*back, packets);
}

TEST(Rtcp, BuildReportIsSrOrRrThenCname) {
  RtcpReportParts parts;
  parts.ssrc = 42;
  parts.cname = "phone@example";
  parts.reports.push_back({.ssrc = 7, .jitter = 3});
  auto rr = build_report(parts);
  ASSERT_TRUE(rr);
  auto p = parse_rtcp_compound(*rr);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ(std::get<RtcpReceiverReport>((*p)[0]).reports.at(0).jitter, 3u);
  EXPECT_EQ(std::get<RtcpSdes>((*p)[1]).chunks.at(0).cname(), "phone@example");

  parts.sender = RtcpSenderInfo{1, 2, 3, 4};
  parts.bye = true;
  parts.bye_reason = "hangup";
  auto sr = build_report(parts);
  ASSERT_TRUE(sr);
  p = parse_rtcp_compound(*sr);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 3u);
  EXPECT_EQ(std::get<RtcpSenderReport>((*p)[0]).sender.packet_count, 3u);
  EXPECT_EQ(std::get<RtcpBye>((*p)[2]).reason, "hangup");

  parts.reports.assign(32, RtcpReportBlock{});
  auto too_many = build_report(parts);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, "rtcp-too-many-reports");
  parts.reports.clear();
  parts.cname.assign(256, 'x');
  EXPECT_FALSE(build_report(parts));
}

TEST(Rtcp, ValidityChecksOfAppendixA2) {
  const Bytes good = sample_compound();
  EXPECT_EQ(code_of(good), "ok");

  EXPECT_EQ(code_of(Bytes(good.begin(), good.begin() + 7)), "rtcp-too-short");
  EXPECT_EQ(code_of(Bytes(kRtcpMaxPacket + 4, 0)), "rtcp-too-long");

  Bytes sdes_first(good.begin() + 52, good.end());  // reduced-size RTCP (RFC 5506): SDES first
  EXPECT_EQ(code_of(sdes_first), "ok");
  Bytes rtp_type_first = good;
  rtp_type_first[1] = 96;  // an RTP payload type where the first RTCP type belongs
  EXPECT_EQ(code_of(rtp_type_first), "rtcp-bad-first");

  Bytes v1 = good;
  v1[52] = 0x41;  // the SDES packet says version 1
  EXPECT_EQ(code_of(v1), "rtcp-bad-version");

  Bytes padded_first = good;
  padded_first[0] |= 0x20;  // padding on the first packet of a compound
  EXPECT_EQ(code_of(padded_first), "rtcp-bad-padding");

  Bytes padded_last = good;
  padded_last[68] |= 0x20;  // BYE (the last packet) padded: count 0 in its last octet
  EXPECT_EQ(code_of(padded_last), "rtcp-bad-padding");
  padded_last.back() = 3;   // not whole words
  EXPECT_EQ(code_of(padded_last), "rtcp-bad-padding");
  padded_last.back() = 4;   // one word of padding eats the end of "gone": the reason overruns
  EXPECT_EQ(code_of(padded_last), "rtcp-bad-bye");
  padded_last[76] = 3;      // reason "gon" ends before the padding: fine
  EXPECT_EQ(code_of(padded_last), "ok");

  Bytes long_len = good;
  long_len[71] = 4;  // BYE length one word longer than the datagram
  EXPECT_EQ(code_of(long_len), "rtcp-bad-length");

  Bytes trailing = good;
  trailing.push_back(0x81);
  trailing.push_back(200);
  EXPECT_EQ(code_of(trailing), "rtcp-too-short");

  Bytes sr_short = good;
  sr_short[0] = 0x82;  // RC=2 but only one block
  EXPECT_EQ(code_of(sr_short), "rtcp-bad-sr");

  Bytes rr = {0x81, 201, 0x00, 0x01, 0, 0, 0, 1};  // RR with RC=1 and no block
  EXPECT_EQ(code_of(rr), "rtcp-bad-rr");

  Bytes sdes_item = good;
  sdes_item[61] = 9;  // CNAME length runs past the SDES packet
  EXPECT_EQ(code_of(sdes_item), "rtcp-bad-sdes");
  Bytes sdes_chunks = good;
  sdes_chunks[52] = 0x82;  // two chunks announced, one present
  EXPECT_EQ(code_of(sdes_chunks), "rtcp-bad-sdes");

  Bytes app = {0x80, 201, 0x00, 0x01, 0, 0, 0, 1, 0x80, 204, 0x00, 0x01, 0, 0, 0, 1};
  EXPECT_EQ(code_of(app), "rtcp-bad-app");  // APP needs SSRC and name
}

TEST(Rtcp, NtpAndRoundTrip) {
  using std::chrono::system_clock;
  EXPECT_EQ(ntp_from_system(system_clock::time_point{}), 2208988800ull << 32);
  EXPECT_EQ(ntp_from_system(system_clock::time_point{} + 500ms), (2208988800ull << 32) | 0x80000000u);
  EXPECT_EQ(ntp_middle32(0x0000b71080000000ull), 0xb7108000u);

  // RFC 3550 6.4.1 figure 2: A = 46864.500 s, LSR = 46853.125 s, DLSR = 5.250 s -> 6.125 s.
  RtcpReportBlock b;
  b.lsr = 0xb7052000;
  b.dlsr = 0x00054000;
  auto rtt = rtcp_round_trip(0xb7108000, b);
  ASSERT_TRUE(rtt);
  EXPECT_EQ(*rtt, 6125ms);
  // Across the 32-bit wrap of the middle word.
  b.lsr = 0xffff0000;
  b.dlsr = 0x00008000;
  rtt = rtcp_round_trip(0x00010000, b);  // 2 s after the SR, held 0.5 s: 1.5 s
  ASSERT_TRUE(rtt);
  EXPECT_EQ(*rtt, 1500ms);
  b.lsr = 0;
  EXPECT_FALSE(rtcp_round_trip(0x00010000, b));  // no SR received by the peer yet
  b.lsr = 0x00020000;
  EXPECT_FALSE(rtcp_round_trip(0x00010000, b));  // arrival before the SR: nonsense
}

namespace {
using TP = RtpSourceStats::TimePoint;
const TP t0{};
}  // namespace

TEST(RtpSourceStats, CountsInOrderPacketsAfterProbation) {
  RtpSourceStats s(9, 8000);
  EXPECT_FALSE(s.on_packet(1000, 0, t0));  // A.1: first packet is on probation
  EXPECT_FALSE(s.valid());
  for (std::uint16_t i = 1; i < 100; ++i) {
    EXPECT_TRUE(s.on_packet(static_cast<std::uint16_t>(1000 + i), 160u * i, t0 + 20ms * i));
  }
  EXPECT_TRUE(s.valid());
  EXPECT_EQ(s.extended_highest_seq(), 1099u);
  EXPECT_EQ(s.received(), 99u);
  EXPECT_EQ(s.expected(), 99u);
  EXPECT_EQ(s.cumulative_lost(), 0);
  EXPECT_EQ(s.jitter_ticks(), 0.0);  // perfectly paced
  auto b = s.make_report_block(t0 + 2s);
  EXPECT_EQ(b.ssrc, 9u);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.lsr, 0u);
  EXPECT_EQ(b.dlsr, 0u);
}

TEST(RtpSourceStats, LossAndFractionPerInterval) {
  RtpSourceStats s(9, 8000);
  std::uint16_t seq = 0;
  for (int i = 0; i < 100; ++i, ++seq) {
    if (i > 1 && i % 10 == 0) continue;  // lose 10, 20, ..., 90: 9 packets
    s.on_packet(seq, 160u * seq, t0 + 20ms * seq);
  }
  // Expected counts from the second packet (seq 1, A.1 probation) to 99: 99 packets, 9 lost.
  EXPECT_EQ(s.expected(), 99u);
  EXPECT_EQ(s.cumulative_lost(), 9);
  auto b = s.make_report_block(t0 + 3s);
  EXPECT_EQ(b.cumulative_lost, 9);
  EXPECT_EQ(b.fraction_lost, 9 * 256 / 99);
  EXPECT_EQ(b.extended_highest_seq, 99u);
  // Next interval without loss: fraction 0, cumulative unchanged.
  for (int i = 0; i < 50; ++i, ++seq) s.on_packet(seq, 160u * seq, t0 + 20ms * seq);
  b = s.make_report_block(t0 + 5s);
  EXPECT_EQ(b.fraction_lost, 0);
  EXPECT_EQ(b.cumulative_lost, 9);
  // Duplicates make the loss negative (A.3) and the report carries it signed.
  for (int i = 0; i < 20; ++i) s.on_packet(static_cast<std::uint16_t>(seq - 1), 0, t0 + 6s);
  EXPECT_EQ(s.cumulative_lost(), -11);
  EXPECT_EQ(s.make_report_block(t0 + 6s).cumulative_lost, -11);
}

TEST(RtpSourceStats, SequenceWrapCountsACycle) {
  RtpSourceStats s(1, 8000);
  std::uint16_t seq = 65530;
  for (int i = 0; i < 12; ++i, ++seq) s.on_packet(seq, 160u * static_cast<unsigned>(i), t0 + 20ms * i);
  EXPECT_EQ(s.extended_highest_seq(), 65536u + 5);
  EXPECT_EQ(s.cumulative_lost(), 0);
  EXPECT_EQ(s.expected(), 11u);
}

TEST(RtpSourceStats, LargeJumpIsARestartOnlyWhenConfirmed) {
  RtpSourceStats s(1, 8000);
  for (std::uint16_t i = 0; i < 10; ++i) s.on_packet(i, 160u * i, t0 + 20ms * i);
  EXPECT_FALSE(s.on_packet(30000, 0, t0 + 1s));  // a stray packet far away: ignored
  EXPECT_EQ(s.extended_highest_seq(), 9u);
  EXPECT_TRUE(s.on_packet(10, 1600, t0 + 200ms));  // the stream goes on
  EXPECT_FALSE(s.on_packet(40000, 0, t0 + 2s));
  EXPECT_TRUE(s.on_packet(40001, 160, t0 + 2s + 20ms));  // sequential after the jump: restart
  EXPECT_EQ(s.extended_highest_seq(), 40001u);
  EXPECT_EQ(s.received(), 1u);
}

TEST(RtpSourceStats, JitterFollowsA8) {
  RtpSourceStats s(1, 8000);
  // Every other packet arrives 10 ms late: |D| = 80 ticks each time, J -> 80 (10 ms).
  for (std::uint16_t i = 0; i < 300; ++i) {
    s.on_packet(i, 160u * i, t0 + 20ms * i + (i % 2 ? 10ms : 0ms));
  }
  EXPECT_NEAR(s.jitter_ticks(), 80.0, 1.0);
  EXPECT_NEAR(static_cast<double>(s.jitter().count()), 10000.0, 150.0);
  EXPECT_EQ(s.make_report_block(t0 + 7s).jitter, 79u);  // truncated, converging from below
}

TEST(RtpSourceStats, LsrAndDlsrFromTheLastSenderReport) {
  RtpSourceStats s(1, 8000);
  s.on_packet(1, 0, t0);
  s.on_packet(2, 160, t0 + 20ms);
  s.on_sender_report(0x0123456789abcdefull, t0 + 1s);
  auto b = s.make_report_block(t0 + 2500ms);
  EXPECT_EQ(b.lsr, 0x456789abu);
  EXPECT_EQ(b.dlsr, 98304u);  // 1.5 s in 1/65536 s
  // What the SR's sender computes from it (RFC 3550 6.4.1): 0.25 s of network round trip.
  auto rtt = rtcp_round_trip(0x456789abu + 65536 * 7 / 4, b);
  ASSERT_TRUE(rtt);
  EXPECT_EQ(*rtt, 250ms);
}
