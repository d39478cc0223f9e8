// The HTML report (html_report.h) and the classifications it shows: escaping of hostile capture
// text, the ladder and timeline elements, activity runs with a gap, TLS records as encrypted SIP,
// and the suite-mismatch hint of an SRTP stream that does not authenticate.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "../tools_test_util.h"
#include "core/base64.h"
#include "media/rtp.h"
#include "media/srtp_session.h"
#include "pcap_writer.h"
#include "tools/diag/diag.h"
#include "tools/diag/html_report.h"
#include "tools/diag/report.h"

namespace exphone::diag {
namespace {

using test::bytes;
using test::frame;

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

std::string sdp(int host, int port, bool srtp) {
  return "v=0\r\no=- 1 1 IN IP4 127.0.0." + std::to_string(host) + "\r\ns=-\r\nc=IN IP4 127.0.0." +
         std::to_string(host) + "\r\nt=0 0\r\nm=audio " + std::to_string(port) + (srtp ? " RTP/SAVP" : " RTP/AVP") +
         " 0\r\na=rtpmap:0 PCMU/8000\r\n";
}

std::string sip(const std::string& start, const std::string& call_id, const std::string& from, const std::string& body) {
  return start + "\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nFrom: " + from +
         ";tag=1\r\nTo: <sip:b@127.0.0.2>\r\nCall-ID: " + call_id +
         "\r\nCSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.1>\r\nContent-Type: application/sdp\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// `n` packets every 20 ms from t0 (PCMU-like clear payload, or protected with `key` under `suite`).
void rtp(test::PcapWriter& w, double t0, int n, std::uint8_t src, std::uint16_t sport, std::uint8_t dst,
         std::uint16_t dport, std::uint32_t ssrc, const std::vector<std::uint8_t>* key = nullptr,
         media::SrtpSuite suite = media::SrtpSuite::kAesCm128HmacSha1_80, std::uint16_t seq0 = 100) {
  std::optional<media::SrtpSession> tx;
  if (key) {
    auto k = media::SrtpKey::from_bytes(suite, *key);
    ASSERT_TRUE(k);
    auto s = media::SrtpSession::create(*k, media::Direction::kOutbound);
    ASSERT_TRUE(s);
    tx.emplace(std::move(*s));
  }
  for (int i = 0; i < n; ++i) {
    std::vector<std::uint8_t> payload(160);
    for (int k = 0; k < 160; ++k) payload[k] = static_cast<std::uint8_t>(0xff - (k % 8));  // quiet PCMU
    media::RtpHeader h;
    h.payload_type = 0;
    h.sequence = static_cast<std::uint16_t>(seq0 + i);
    h.timestamp = static_cast<std::uint32_t>((seq0 + i) * 160);
    h.ssrc = ssrc;
    std::vector<std::uint8_t> pkt(12 + payload.size());
    ASSERT_TRUE(media::write_rtp(h, payload, pkt));
    if (tx) {
      ASSERT_TRUE(tx->protect(pkt));
    }
    w.add(t0 + i * 0.02, frame(src, sport, dst, dport, pkt));
  }
}

TEST(DiagHtml, EscapesMarkupQuotesControlsAndInvalidUtf8) {
  EXPECT_EQ(html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(html_escape("caf\xC3\xA9 \xE2\x86\x92"), "caf\xC3\xA9 \xE2\x86\x92");  // valid UTF-8 kept
  EXPECT_EQ(html_escape(std::string("a\0b", 3)), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(html_escape("\xC0\xBC"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '<' is not a '<'
  EXPECT_EQ(html_escape("\xE2\x86"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // cut sequence
  EXPECT_EQ(html_escape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(DiagHtml, HostileCaptureTextIsEscapedAndOneWayCallIsDrawn) {
  testutil::TempDir dir;
  const std::string cid = "<script>alert(1)</script>@x";
  const std::string from = "\"<script>alert(2)</script>\" <sip:a@127.0.0.1>";
  {
    test::PcapWriter w(dir / "c.pcap");
    w.add(1.0, frame(1, 5060, 2, 5062, bytes(sip("INVITE sip:b@127.0.0.2 SIP/2.0", cid, from, sdp(1, 40000, false)))));
    w.add(1.1, frame(2, 5062, 1, 5060,
                     bytes(sip("SIP/2.0 200 <img src=x onerror=alert(3)>", cid, from, sdp(2, 40002, false)))));
    rtp(w, 1.2, 50, 1, 40000, 2, 40002, 1);   // caller -> callee, 1 s
    rtp(w, 3.2, 25, 1, 40000, 2, 40002, 1, nullptr, media::SrtpSuite::kAesCm128HmacSha1_80, 200);  // after a 1 s gap
  }
  auto r = analyze(dir / "c.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->calls.size(), 1u);
  const auto& c = r->calls[0];
  EXPECT_EQ(c.call_id, cid);
  EXPECT_EQ(c.from, from + ";tag=1");
  ASSERT_EQ(c.events.size(), 2u);
  EXPECT_EQ(c.events[0].label, "INVITE");
  EXPECT_EQ(c.events[1].label, "200 <img src=x onerror=alert(3)> (INVITE)");
  ASSERT_EQ(r->streams.size(), 1u);
  ASSERT_EQ(r->streams[0].activity.size(), 2u);  // the 1 s pause splits the runs
  EXPECT_EQ(r->streams[0].activity[0].packets, 50u);
  EXPECT_EQ(r->streams[0].activity[1].packets, 25u);
  EXPECT_NEAR(r->streams[0].activity[1].start, 3.2, 1e-3);

  std::string html = to_html(*r);
  // Nothing from the capture became markup: no element the page did not write itself.
  EXPECT_EQ(count(html, "<script"), 0u);
  EXPECT_EQ(count(html, "<img"), 0u);
  EXPECT_EQ(count(html, "onerror=alert"), count(html, "&lt;img src=x onerror=alert(3)&gt;"));  // only as text
  EXPECT_GE(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;@x"), 2u);  // verdict table and section title
  EXPECT_GE(count(html, "&quot;&lt;script&gt;alert(2)&lt;/script&gt;&quot;"), 1u);
  EXPECT_GE(count(html, "200 &lt;img src=x onerror=alert(3)&gt; (INVITE)"), 1u);
  // The page's parts.
  EXPECT_EQ(count(html, "<table id=\"verdicts\""), 1u);
  EXPECT_EQ(count(html, "<svg class=\"ladder\""), 1u);
  EXPECT_EQ(count(html, "<svg class=\"timeline\""), 1u);
  EXPECT_EQ(count(html, "no packets in this direction"), 1u);  // callee -> caller
  EXPECT_EQ(count(html, "<rect class=\"bar-rtp\""), 2u);         // two runs of plain RTP
  EXPECT_EQ(count(html, "127.0.0.1:5060</text>"), 1u);            // a ladder column per endpoint
  EXPECT_EQ(count(html, "127.0.0.2:5062</text>"), 1u);
  // Self-contained: no reference outside the page.
  EXPECT_EQ(count(html, "http://"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(count(html, "https://"), 0u);
  EXPECT_EQ(count(html, "<link"), 0u);

  ASSERT_TRUE(write_html(*r, dir / "r.html"));
  EXPECT_FALSE(write_html(*r, dir / "missing-dir/r.html"));
  EXPECT_EQ(to_json(*r)["calls"][0]["from"], from + ";tag=1");
}

TEST(DiagHtml, TlsRecordsAreEncryptedSipArrows) {
  testutil::TempDir dir;
  auto key = std::vector<std::uint8_t>(30, 0x42);
  {
    test::PcapWriter w(dir / "t.pcap");
    std::vector<std::uint8_t> ch = {22, 3, 1, 0, 4, 1, 0, 0, 0};        // ClientHello record (stub)
    std::vector<std::uint8_t> app(5 + 300, 0x5a);                        // application data, 300 B
    app[0] = 23; app[1] = 3; app[2] = 3; app[3] = 300 >> 8; app[4] = 300 & 0xff;
    w.add(1.0, frame(1, 33000, 2, 5061, ch, true, 1000));
    std::vector<std::uint8_t> two = app;  // two records in one segment
    two.insert(two.end(), app.begin(), app.end());
    w.add(1.1, frame(1, 33000, 2, 5061, two, true, 1000 + static_cast<std::uint32_t>(ch.size())));
    rtp(w, 1.5, 20, 1, 40000, 2, 40002, 9, &key);
    rtp(w, 1.5, 20, 2, 40002, 1, 40000, 10, &key);
  }
  auto r = analyze(dir / "t.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->signaling.size(), 1u);
  ASSERT_EQ(r->signaling[0].records.size(), 3u);
  EXPECT_EQ(r->signaling[0].records[0].content_type, 22);
  EXPECT_EQ(r->signaling[0].records[2].content_type, 23);
  EXPECT_EQ(r->signaling[0].records[2].length, 300u);
  ASSERT_EQ(r->calls.size(), 1u);
  EXPECT_EQ(r->calls[0].transport, "unreadable");
  std::string html = to_html(*r);
  EXPECT_EQ(count(html, "encrypted SIP, 300 B [tls]</text>"), 2u);
  EXPECT_EQ(count(html, "TLS handshake, 4 B [tls]</text>"), 1u);
  EXPECT_EQ(count(html, "<g class=\"lock\""), 2u);  // the application-data hops only
  EXPECT_EQ(count(html, "<rect class=\"bar-srtp\""), 2u);
}

// A TLS 1.3 connection: the encrypted handshake flights end with each side's Finished (69-byte
// records under TLS_AES_256_GCM_SHA384); what follows is drawn as encrypted SIP.
TEST(DiagHtml, Tls13EncryptedHandshakeIsNotSip) {
  testutil::TempDir dir;
  auto rec = [](std::uint8_t type, std::size_t len) {
    std::vector<std::uint8_t> r(5 + len, 0x77);
    r[0] = type; r[1] = 3; r[2] = 3;
    r[3] = static_cast<std::uint8_t>(len >> 8); r[4] = static_cast<std::uint8_t>(len);
    return r;
  };
  auto cat = [](std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  std::vector<std::uint8_t> sh = {2, 0, 0, 46, 3, 3};  // ServerHello, RFC 8446 4.1.3
  sh.resize(6 + 32, 0xab);
  sh.push_back(0);
  sh.insert(sh.end(), {0x13, 0x02, 0});
  sh.insert(sh.end(), {0, 6, 0, 0x2b, 0, 2, 3, 4});
  std::vector<std::uint8_t> sh_rec = {22, 3, 3, 0, static_cast<std::uint8_t>(sh.size())};
  sh_rec.insert(sh_rec.end(), sh.begin(), sh.end());
  {
    test::PcapWriter w(dir / "t13.pcap");
    auto c1 = rec(22, 200);                                                               // ClientHello
    auto s1 = cat({sh_rec, rec(20, 1), rec(23, 23), rec(23, 62), rec(23, 1875), rec(23, 281), rec(23, 69)});
    auto c2 = cat({rec(20, 1), rec(23, 1836), rec(23, 281), rec(23, 69)});               // client flight
    auto c3 = rec(23, 1479);                                                              // INVITE
    auto s2 = rec(23, 721);                                                               // 200 OK
    std::uint32_t cs = 1000, ss = 5000;
    w.add(1.00, frame(1, 33000, 2, 5061, c1, true, cs)); cs += static_cast<std::uint32_t>(c1.size());
    w.add(1.01, frame(2, 5061, 1, 33000, s1, true, ss)); ss += static_cast<std::uint32_t>(s1.size());
    w.add(1.02, frame(1, 33000, 2, 5061, c2, true, cs)); cs += static_cast<std::uint32_t>(c2.size());
    w.add(1.03, frame(1, 33000, 2, 5061, c3, true, cs));
    w.add(1.10, frame(2, 5061, 1, 33000, s2, true, ss));
    auto key = std::vector<std::uint8_t>(30, 0x42);
    rtp(w, 1.2, 20, 1, 40000, 2, 40002, 9, &key);
  }
  auto r = analyze(dir / "t13.pcap", Options{});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->signaling.size(), 1u);
  EXPECT_EQ(r->signaling[0].tls_version, "TLSv1.3");
  EXPECT_EQ(r->signaling[0].records.size(), 14u);
  std::string html = to_html(*r);
  // each arrow: its label, its tooltip and the tooltip of its mark on the timeline
  EXPECT_EQ(count(html, "TLS handshake (encrypted)"), 3u * 8u);
  EXPECT_EQ(count(html, "encrypted SIP, 1479 B [tls]</text>"), 1u);
  EXPECT_EQ(count(html, "encrypted SIP, 721 B [tls]</text>"), 1u);
  EXPECT_EQ(count(html, "encrypted SIP,"), 3u * 2u);
}

TEST(DiagHtml, SuiteMismatchIsNamed) {
  testutil::TempDir dir;
  auto key = std::vector<std::uint8_t>(30, 0x42);
  {
    test::PcapWriter w(dir / "s.pcap");
    rtp(w, 1.0, 20, 1, 40000, 2, 40002, 9, &key, media::SrtpSuite::kAesCm128HmacSha1_80);
    rtp(w, 1.0, 20, 2, 40002, 1, 40000, 10, &key, media::SrtpSuite::kAesCm128HmacSha1_80);
  }
  // The key log names the right key under the 32-bit tag suite for one direction, and a wrong
  // key for the other.
  std::string k = base64_encode(key), bad = base64_encode(std::vector<std::uint8_t>(30, 0x43));
  testutil::write(dir / "keys.log",
                  "t call_id=x local=127.0.0.1:40000 remote=127.0.0.2:40002 ssrc=- direction=outbound "
                  "suite=AES_CM_128_HMAC_SHA1_32 key=" + k + " source=sdes\n"
                  "t call_id=x local=127.0.0.1:40000 remote=127.0.0.2:40002 ssrc=- direction=inbound "
                  "suite=AES_CM_128_HMAC_SHA1_80 key=" + bad + " source=sdes\n");
  Options o;
  o.srtp_keys = dir / "keys.log";
  auto r = analyze(dir / "s.pcap", o);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->streams[0].auth_failures, 20u);
  EXPECT_EQ(r->streams[0].suite_hint, "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(r->streams[1].auth_failures, 20u);
  EXPECT_EQ(r->streams[1].suite_hint, "");
  ASSERT_EQ(r->calls.size(), 1u);
  const auto& d = r->calls[0].diagnosis;
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NE(d[0].find("caller -> callee: 20 SRTP authentication failure(s), 0 decrypted: suite mismatch: the key "
                      "authenticates as AES_CM_128_HMAC_SHA1_80"),
            std::string::npos)
      << d[0];
  EXPECT_NE(d[1].find("callee -> caller: 20 SRTP authentication failure(s), 0 decrypted: key or suite mismatch"),
            std::string::npos)
      << d[1];
  std::string html = to_html(*r);
  EXPECT_EQ(count(html, "<rect class=\"bar-fail\""), 2u);
}

}  // namespace
}  // namespace exphone::diag
