// Capture decoding, TCP reassembly and the SRTP key log parser.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "pcap_writer.h"
#include "../tools_test_util.h"
#include "tools/diag/capture.h"
#include "tools/diag/keylog.h"
#include "tools/diag/tcp_stream.h"

namespace exphone::diag {
namespace {

using test::bytes;
using test::frame;

TEST(DiagCapture, ReadsEthernetUdpAndTcp) {
  testutil::TempDir dir;
  {
    test::PcapWriter w(dir / "a.pcap");
    ASSERT_TRUE(w.ok());
    w.add(1.5, frame(1, 5060, 2, 5062, bytes("hello")));
    w.add(2.0, frame(2, 40000, 1, 5061, bytes("tcp!"), true, 1000));
    w.add(2.5, std::vector<std::uint8_t>(10, 0));  // runt frame
  }
  std::vector<Packet> got;
  auto st = read_capture(dir / "a.pcap", [&](const Packet& p) { got.push_back(p); });
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(st->format, "pcap");
  EXPECT_EQ(st->frames, 3u);
  EXPECT_EQ(st->malformed, 1u);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].l4, L4::kUdp);
  EXPECT_EQ(to_string(got[0].src), "127.0.0.1:5060");
  EXPECT_EQ(to_string(got[0].dst), "127.0.0.2:5062");
  EXPECT_EQ(std::string(got[0].payload.begin(), got[0].payload.end()), "hello");
  EXPECT_NEAR(got[0].time, 1.5, 1e-6);
  EXPECT_EQ(got[1].l4, L4::kTcp);
  EXPECT_EQ(got[1].seq, 1000u);
}

TEST(DiagCapture, TruncatedFileKeepsWhatCameBefore) {
  testutil::TempDir dir;
  {
    test::PcapWriter w(dir / "t.pcap");
    w.add(1, frame(1, 1, 2, 2, bytes("first")));
    w.add(2, frame(1, 1, 2, 2, bytes("second packet, cut in the middle")));
  }
  auto size = std::filesystem::file_size(dir / "t.pcap");
  std::filesystem::resize_file(dir / "t.pcap", size - 10);
  std::size_t n = 0;
  auto st = read_capture(dir / "t.pcap", [&](const Packet&) { ++n; });
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_TRUE(st->truncated);
  EXPECT_EQ(n, 1u);
}

TEST(DiagCapture, NotACaptureIsAClearError) {
  testutil::TempDir dir;
  std::ofstream(dir / "x.pcap") << "this is not a capture file at all";
  auto st = read_capture(dir / "x.pcap", [](const Packet&) {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, "diag-open-failed");
  auto missing = read_capture(dir / "missing.pcap", [](const Packet&) {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "diag-open-failed");
}

TEST(DiagCapture, DecodesSll2NullAndIpv6) {
  // IPv6 UDP ::1 -> ::1, behind a Linux cooked v2 header (protocol 0x86dd at offset 0).
  std::vector<std::uint8_t> ip6(40 + 8 + 3, 0);
  ip6[0] = 0x60;
  test::put16(ip6, 4, 11);
  ip6[6] = 17;
  ip6[23] = 1;
  ip6[39] = 1;
  test::put16(ip6, 40, 7000);
  test::put16(ip6, 42, 7002);
  test::put16(ip6, 44, 11);
  ip6[48] = 'a'; ip6[49] = 'b'; ip6[50] = 'c';
  std::vector<std::uint8_t> sll2(20, 0);
  test::put16(sll2, 0, 0x86dd);
  sll2.insert(sll2.end(), ip6.begin(), ip6.end());
  CaptureStats st;
  Packet p;
  ASSERT_TRUE(decode_frame(276, sll2.data(), sll2.size(), 0, p, st));
  EXPECT_EQ(to_string(p.src), "[::1]:7000");
  EXPECT_EQ(p.payload.size(), 3u);
  // DLT_NULL: 4-byte family then IPv4
  auto eth = frame(1, 10, 2, 20, bytes("x"));
  std::vector<std::uint8_t> null{2, 0, 0, 0};
  null.insert(null.end(), eth.begin() + 14, eth.end());
  ASSERT_TRUE(decode_frame(0, null.data(), null.size(), 0, p, st));
  EXPECT_EQ(to_string(p.dst), "127.0.0.2:20");
  // An IPv4 header claiming more header than captured
  std::vector<std::uint8_t> bad(eth.begin(), eth.begin() + 20);
  EXPECT_FALSE(decode_frame(1, bad.data(), bad.size(), 0, p, st));
  EXPECT_GE(st.malformed, 1u);
}

TEST(DiagTcp, ReordersRetransmitsAndSkipsHoles) {
  TcpDirection d;
  std::string got;
  auto out = [&](std::span<const std::uint8_t> b) { got.append(b.begin(), b.end()); };
  auto seg = [&](std::uint32_t seq, const std::string& s) { d.segment(seq, false, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()), out); };
  d.segment(99, true, {}, out);
  seg(105, "world");   // ahead: held
  seg(100, "hello");   // fills the hole, releases "world"
  seg(100, "hello");   // retransmission: ignored
  seg(108, "ldwide");  // overlaps the end
  EXPECT_EQ(got, "helloworldwide");
  EXPECT_EQ(d.gaps(), 0u);
}

TEST(DiagKeylog, ParsesTheDocumentedFormat) {
  std::string key16(30, 'k');  // AES_CM_128: 16 + 14 bytes
  std::string line =
      "2026-11-26T16:45:00.123Z call_id=abc@x local=127.0.0.1:40000 remote=[::1]:40002 ssrc=0x1a2b3c4d "
      "direction=outbound suite=AES_CM_128_HMAC_SHA1_80 key=a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr source=sdes\n"
      "# comment\n\n"
      "2026-11-26T16:45:00.124Z call_id=abc@x local=127.0.0.1:40000 remote=127.0.0.1:40002 ssrc=- "
      "direction=inbound suite=AES_CM_128_HMAC_SHA1_80 key=a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr source=sdes\n";
  auto k = parse_srtp_keylog(line);
  ASSERT_TRUE(k) << k.error().to_string();
  ASSERT_EQ(k->size(), 2u);
  EXPECT_EQ((*k)[0].call_id, "abc@x");
  EXPECT_EQ((*k)[0].ssrc, 0x1a2b3c4du);
  EXPECT_EQ(to_string((*k)[0].dst()), "[::1]:40002");
  EXPECT_EQ((*k)[0].key_salt, std::vector<std::uint8_t>(key16.begin(), key16.end()));
  EXPECT_FALSE((*k)[1].ssrc);
  EXPECT_EQ(to_string((*k)[1].src()), "127.0.0.1:40002");  // inbound: remote -> local
  EXPECT_EQ((*k)[1].line, 4u);

  auto short_key = parse_srtp_keylog(
      "t call_id=a local=1.2.3.4:1 remote=1.2.3.4:2 ssrc=- direction=inbound suite=AEAD_AES_256_GCM key=a2tr source=sdes");
  ASSERT_FALSE(short_key);
  EXPECT_EQ(short_key.error().code, "diag-keylog-bad-line");
  EXPECT_NE(short_key.error().message.find("line 1"), std::string::npos);
  EXPECT_FALSE(parse_srtp_keylog("t call_id=a local=nope remote=1.2.3.4:2 ssrc=- direction=inbound suite=AES_CM_128_HMAC_SHA1_80 key=x"));
  EXPECT_FALSE(parse_srtp_keylog("t call_id=a local=1.1.1.1:1 remote=1.2.3.4:2 ssrc=- direction=sideways suite=AES_CM_128_HMAC_SHA1_80 key=x"));
}

}  // namespace
}  // namespace exphone::diag
