// Whole-capture verdicts: captures built in code (SIP + SDP + RTP/SRTP made with the real
// media::SrtpSession and G.711 codec), analysed by diag::analyze.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "../tools_test_util.h"
#include "core/base64.h"
#include "media/audio_codec.h"
#include "media/rtp.h"
#include "media/srtp_session.h"
#include "media/wav.h"
#include "pcap_writer.h"
#include "tools/diag/diag.h"
#include "tools/diag/report.h"

namespace exphone::diag {
namespace {

using test::bytes;
using test::frame;

// caller 127.0.0.1:5060 media :40000; callee 127.0.0.2:5062 media :40002
std::string sdp(int port, bool srtp, const std::string& key_b64) {
  std::string s = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0." + std::string(port == 40000 ? "1" : "2") +
                  "\r\nt=0 0\r\nm=audio " + std::to_string(port) + (srtp ? " RTP/SAVP" : " RTP/AVP") +
                  " 0\r\na=rtpmap:0 PCMU/8000\r\n";
  if (srtp) s += "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" + key_b64 + "\r\n";
  return s;
}

std::string sip(const std::string& start, const std::string& body) {
  return start +
         "\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\n"
         "To: <sip:b@127.0.0.2>\r\nCall-ID: call-1@test\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\n"
         "Content-Type: application/sdp\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::uint8_t> key_bytes(std::uint8_t fill) { return std::vector<std::uint8_t>(30, fill); }

// 50 packets (1 s) of a PCMU tone from src to dst; protected with `key` when given.
void media(test::PcapWriter& w, double t0, std::uint8_t src, std::uint16_t sport, std::uint8_t dst,
           std::uint16_t dport, double hz, const std::vector<std::uint8_t>* key, std::uint32_t ssrc) {
  auto codec = media::make_audio_codec("PCMU");
  ASSERT_TRUE(codec);
  std::optional<media::SrtpSession> tx;
  if (key) {
    auto k = media::SrtpKey::from_bytes(media::SrtpSuite::kAesCm128HmacSha1_80, *key);
    ASSERT_TRUE(k);
    auto s = media::SrtpSession::create(*k, media::Direction::kOutbound);
    ASSERT_TRUE(s);
    tx.emplace(std::move(*s));
  }
  for (int i = 0; i < 50; ++i) {
    std::vector<std::int16_t> pcm(160);
    for (int n = 0; n < 160; ++n)
      pcm[n] = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * hz * (i * 160 + n) / 8000.0));
    std::vector<std::uint8_t> payload;
    ASSERT_TRUE((*codec)->encode(pcm, payload));
    media::RtpHeader h;
    h.payload_type = 0;
    h.sequence = static_cast<std::uint16_t>(100 + i);
    h.timestamp = static_cast<std::uint32_t>(i * 160);
    h.ssrc = ssrc;
    std::vector<std::uint8_t> pkt(12 + payload.size());
    ASSERT_TRUE(media::write_rtp(h, payload, pkt));
    if (tx) {
      ASSERT_TRUE(tx->protect(pkt));
    }
    w.add(t0 + i * 0.02, frame(src, sport, dst, dport, pkt));
  }
}

// Goertzel power ratio of `hz` against the whole signal, as tests/interop/lib/audio.py does.
double tone_ratio(const std::vector<std::int16_t>& x, double hz, double rate) {
  double w = 2 * M_PI * hz / rate, c = 2 * std::cos(w), s1 = 0, s2 = 0, total = 0;
  for (auto v : x) {
    double s = v + c * s1 - s2;
    s2 = s1;
    s1 = s;
    total += static_cast<double>(v) * v;
  }
  double p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return total > 0 ? 2 * p / (static_cast<double>(x.size()) * total) : 0;
}

const Finding* find(const Report& r, const std::string& id) {
  for (const auto& f : r.findings)
    if (f.id == id) return &f;
  return nullptr;
}

TEST(DiagAnalyze, SdesOverUdpIsKeysExposedAndDecrypts) {
  testutil::TempDir dir;
  auto kc = key_bytes(0x11), ke = key_bytes(0x22);
  {
    test::PcapWriter w(dir / "c.pcap");
    w.add(1.0, frame(1, 5060, 2, 5062, bytes(sip("INVITE sip:b@127.0.0.2 SIP/2.0", sdp(40000, true, base64_encode(kc))))));
    w.add(1.1, frame(2, 5062, 1, 5060, bytes(sip("SIP/2.0 200 OK", sdp(40002, true, base64_encode(ke))))));
    media(w, 2.0, 1, 40000, 2, 40002, 1000, &kc, 0xc0ffee);
    media(w, 2.0, 2, 40002, 1, 40000, 440, &ke, 0xbeef);
  }
  // The phone's key log: the caller's view (outbound by SSRC, inbound by addresses).
  std::string keys =
      "2026-11-26T16:45:00.123Z call_id=call-1@test local=127.0.0.1:40000 remote=127.0.0.2:40002 ssrc=0x00c0ffee "
      "direction=outbound suite=AES_CM_128_HMAC_SHA1_80 key=" + base64_encode(kc) + " source=sdes\n" +
      "2026-11-26T16:45:00.123Z call_id=call-1@test local=127.0.0.1:40000 remote=127.0.0.2:40002 ssrc=- "
      "direction=inbound suite=AES_CM_128_HMAC_SHA1_80 key=" + base64_encode(ke) + " source=sdes\n";
  std::ofstream(dir / "keys.log") << keys;
  Options o;
  o.srtp_keys = dir / "keys.log";
  o.out_dir = dir / "wav";
  auto r = analyze(dir / "c.pcap", o);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->calls.size(), 1u);
  const auto& c = r->calls[0];
  EXPECT_EQ(c.call_id, "call-1@test");
  EXPECT_TRUE(c.answered);
  EXPECT_TRUE(c.keys_exposed);
  EXPECT_FALSE(c.signaling_encrypted);
  EXPECT_TRUE(c.caller_to_callee.encrypted);
  EXPECT_TRUE(c.callee_to_caller.encrypted);
  EXPECT_FALSE(c.padlock_equivalent);
  const Finding* f = find(*r, "keys-exposed");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::kCritical);
  ASSERT_EQ(r->streams.size(), 2u);
  for (const auto& s : r->streams) {
    EXPECT_EQ(s.kind, "srtp");
    EXPECT_EQ(s.rtp_packets, 50u);
    EXPECT_EQ(s.lost, 0u);
    EXPECT_EQ(s.decrypted, 50u);
    EXPECT_EQ(s.auth_failures, 0u);
    ASSERT_FALSE(s.wav.empty());
    auto wav = media::read_wav(s.wav);
    ASSERT_TRUE(wav);
    double hz = s.direction == "caller->callee" ? 1000 : 440;
    EXPECT_GT(tone_ratio(wav->samples, hz, 8000), 0.5) << s.wav;
  }
  EXPECT_EQ(r->streams[0].direction, "caller->callee");
  // The JSON document carries the verdict table.
  auto j = to_json(*r);
  EXPECT_EQ(j["calls"][0]["keys_exposed"], true);
  EXPECT_EQ(j["calls"][0]["media"]["caller_to_callee"]["encrypted"], true);
}

TEST(DiagAnalyze, OneWayRtpAndWrongKey) {
  testutil::TempDir dir;
  auto kc = key_bytes(0x11);
  {
    test::PcapWriter w(dir / "c.pcap");
    w.add(1.0, frame(1, 5060, 2, 5062, bytes(sip("INVITE sip:b@127.0.0.2 SIP/2.0", sdp(40000, false, "")))));
    w.add(1.1, frame(2, 5062, 1, 5060, bytes(sip("SIP/2.0 200 OK", sdp(40002, false, "")))));
    media(w, 2.0, 1, 40000, 2, 40002, 1000, nullptr, 1);  // only the caller sends
  }
  auto r = analyze(dir / "c.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->streams.at(0).kind, "rtp");
  EXPECT_FALSE(r->calls[0].caller_to_callee.encrypted);
  EXPECT_FALSE(r->calls[0].callee_to_caller.seen);
  ASSERT_NE(find(*r, "one-way-audio"), nullptr);
  EXPECT_NE(find(*r, "one-way-audio")->message.find("callee -> caller missing"), std::string::npos);
  EXPECT_NE(find(*r, "rtp-in-clear"), nullptr);
  EXPECT_NE(find(*r, "sip-in-clear"), nullptr);
  EXPECT_EQ(find(*r, "keys-exposed"), nullptr);

  // SRTP without readable signaling, and a key log with the wrong key: auth failures.
  {
    test::PcapWriter w(dir / "s.pcap");
    media(w, 2.0, 1, 40000, 2, 40002, 1000, &kc, 7);
    media(w, 2.0, 2, 40002, 1, 40000, 440, &kc, 8);
  }
  std::ofstream(dir / "bad.log") << "t call_id=x local=127.0.0.1:40000 remote=127.0.0.2:40002 ssrc=- direction=inbound "
                                    "suite=AES_CM_128_HMAC_SHA1_80 key=" << base64_encode(key_bytes(0x33)) << "\n";
  Options o;
  o.srtp_keys = dir / "bad.log";
  auto s = analyze(dir / "s.pcap", o);
  ASSERT_TRUE(s) << s.error().to_string();
  ASSERT_EQ(s->streams.size(), 2u);
  EXPECT_EQ(s->streams[0].kind, "srtp");  // entropy: no SDP, no key for it
  EXPECT_EQ(s->streams[0].evidence, "entropy");
  EXPECT_EQ(s->streams[1].auth_failures, 50u);
  EXPECT_NE(find(*s, "srtp-auth-failures"), nullptr);
}

// The callee behind NAT announces its private address; its SIP and media come from the NAT's
// public one. Packets flow both ways in the capture, yet the caller's go to 10.0.0.5: named.
TEST(DiagAnalyze, PrivateSdpAddressBehindNatIsNamed) {
  testutil::TempDir dir;
  const std::uint32_t caller = 0xC6336407, nat = 0xCB007109, lan = 0x0A000005;  // 198.51.100.7, 203.0.113.9, 10.0.0.5
  auto sdp_at = [](const std::string& ip, int port) {
    return "v=0\r\no=- 1 1 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip + "\r\nt=0 0\r\nm=audio " +
           std::to_string(port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  };
  auto rtp_pkt = [](int i, std::uint32_t ssrc) {
    std::vector<std::uint8_t> p(12 + 160, 0xfe);
    media::RtpHeader h;
    h.payload_type = 0;
    h.sequence = static_cast<std::uint16_t>(i);
    h.timestamp = static_cast<std::uint32_t>(i * 160);
    h.ssrc = ssrc;
    std::vector<std::uint8_t> payload(160, 0xfe);
    EXPECT_TRUE(media::write_rtp(h, payload, p));
    return p;
  };
  auto run = [&](const std::string& caller_media_ip) {
    {
      test::PcapWriter w(dir / "n.pcap");
      w.add(1.0, test::frame_ip(caller, 5060, nat, 5060,
                                bytes(sip("INVITE sip:b@203.0.113.9 SIP/2.0", sdp_at(caller_media_ip, 40000)))));
      w.add(1.1, test::frame_ip(nat, 5060, caller, 5060, bytes(sip("SIP/2.0 200 OK", sdp_at("10.0.0.5", 40002)))));
      for (int i = 0; i < 20; ++i) {
        w.add(1.2 + i * 0.02, test::frame_ip(caller, 40000, lan, 40002, rtp_pkt(i, 1)));
        w.add(1.2 + i * 0.02, test::frame_ip(nat, 40002, caller, 40000, rtp_pkt(i, 2)));
      }
    }
    return analyze(dir / "n.pcap", Options{});
  };
  auto r = run("198.51.100.7");
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->calls.size(), 1u);
  const auto& c = r->calls[0];
  EXPECT_TRUE(c.caller_to_callee.seen);
  EXPECT_TRUE(c.callee_to_caller.seen);
  ASSERT_EQ(c.diagnosis.size(), 1u);
  EXPECT_EQ(c.diagnosis[0],
            "caller -> callee: the callee's SDP announces the private address 10.0.0.5:40002 but its SIP comes from "
            "203.0.113.9: behind NAT, media sent there likely never arrives (no ALG/SBC rewrote the SDP)");
  ASSERT_NE(find(*r, "sdp-private-address"), nullptr);
  EXPECT_EQ(find(*r, "sdp-private-address")->severity, Severity::kError);
  EXPECT_EQ(find(*r, "one-way-audio"), nullptr);
  // Both sides with private media addresses (a cloud PBX, phones on one LAN): nothing to say.
  auto both = run("192.168.1.20");
  ASSERT_TRUE(both) << both.error().to_string();
  EXPECT_EQ(find(*both, "sdp-private-address"), nullptr);
}

TEST(DiagAnalyze, SipOverTcpAndTlsVersion) {
  testutil::TempDir dir;
  {
    test::PcapWriter w(dir / "t.pcap");
    std::string inv = sip("INVITE sip:b@127.0.0.2 SIP/2.0", sdp(40000, false, ""));
    auto b = bytes(inv);
    std::vector<std::uint8_t> a1(b.begin(), b.begin() + 50), a2(b.begin() + 50, b.end());
    w.add(1.0, frame(1, 33000, 2, 5060, {}, true, 999, true));
    w.add(1.1, frame(1, 33000, 2, 5060, a2, true, 1050));  // out of order
    w.add(1.2, frame(1, 33000, 2, 5060, a1, true, 1000));
    // TLS 1.3 ServerHello (RFC 8446 4.1.3) on a non-standard port, selected version in the extension.
    std::vector<std::uint8_t> sh = {2, 0, 0, 46, 3, 3};
    sh.resize(6 + 32, 0xab);
    sh.push_back(0);              // session id
    sh.insert(sh.end(), {0x13, 0x02, 0});  // cipher, compression
    sh.insert(sh.end(), {0, 6, 0, 0x2b, 0, 2, 3, 4});
    std::vector<std::uint8_t> rec = {22, 3, 3, 0, static_cast<std::uint8_t>(sh.size())};
    rec.insert(rec.end(), sh.begin(), sh.end());
    w.add(1.3, frame(2, 9999, 1, 34000, rec, true, 5000));
  }
  auto r = analyze(dir / "t.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].transport, "tcp");
  ASSERT_EQ(r->signaling.size(), 2u);
  EXPECT_EQ(r->signaling[1].transport, "tls");
  EXPECT_EQ(r->signaling[1].tls_version, "TLSv1.3");
  EXPECT_EQ(r->signaling[1].tls_cipher, "0x1302");
}

TEST(DiagAnalyze, MalformedInputNeverCrashes) {
  testutil::TempDir dir;
  {
    test::PcapWriter w(dir / "g.pcap");
    std::vector<std::uint8_t> junk(200);
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 37 + 128);
    junk[0] = 0x05;  // not RTP-shaped (RFC 7983: 4..19 is none of ours)
    w.add(1, frame(1, 1, 2, 2, junk));
    w.add(1, frame(1, 5060, 2, 5060, bytes("INVITE sip:x SIP/2.0\r\nbroken")));
    w.add(1, frame(1, 5, 2, 6, bytes("\x16\x03\x01\xff\xff"), true, 1));
    w.add(1, frame(1, 5, 2, 6, {0x80}));
  }
  auto r = analyze(dir / "g.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->calls.empty());
  Options o;
  o.srtp_keys = dir / "missing.log";
  auto m = analyze(dir / "g.pcap", o);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, "diag-keylog-unreadable");
}

}  // namespace
}  // namespace exphone::diag
