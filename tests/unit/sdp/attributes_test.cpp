#include <gtest/gtest.h>

#include <string>

#include "sdp/attributes.h"

namespace sdp = exphone::sdp;

namespace {
template <class R>
std::string code_of(const R& r) {
  return r.ok() ? std::string("ok") : r.error().code;
}
}  // namespace

TEST(SdpRtpmap, Parses) {
  auto r = sdp::parse_rtpmap("96 opus/48000/2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->payload_type, 96);
  EXPECT_EQ(r->encoding, "opus");
  EXPECT_EQ(r->clock_rate, 48000u);
  EXPECT_EQ(r->channels, 2u);
  EXPECT_EQ(sdp::to_string(*r), "96 opus/48000/2");
  auto t = sdp::parse_rtpmap("101 telephone-event/8000");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->channels);
  EXPECT_EQ(sdp::to_string(*t), "101 telephone-event/8000");
  EXPECT_TRUE(sdp::parse_rtpmap("99 h263-1998/90000").ok());
}

TEST(SdpRtpmap, Malformed) {
  for (const char* v : {"", "96", "96 opus", "96 opus/", "96 opus/0", "96 opus/x", "128 opus/48000",
                        "x opus/48000", "96 /48000", "96 opus/48000/0", "96 opus/48000/2/1",
                        "96 opus/48000 extra", "96 op\"us/48000", "96 opus/99999999999"}) {
    EXPECT_EQ(code_of(sdp::parse_rtpmap(v)), "sdp-bad-rtpmap") << v;
  }
}

TEST(SdpRtpmap, StaticPayloadTypes) {
  EXPECT_EQ(sdp::static_rtpmap(0)->encoding, "PCMU");
  EXPECT_EQ(sdp::static_rtpmap(8)->encoding, "PCMA");
  EXPECT_EQ(sdp::static_rtpmap(9)->clock_rate, 8000u);  // RFC 3551: G.722 is 8000 on the wire
  EXPECT_EQ(sdp::static_rtpmap(18)->encoding, "G729");
  EXPECT_FALSE(sdp::static_rtpmap(96));
  EXPECT_FALSE(sdp::static_rtpmap(2));
}

TEST(SdpFmtp, ParsesAndSplits) {
  auto f = sdp::parse_fmtp("111 minptime=10; useinbandfec=1");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->payload_type, 111);
  EXPECT_EQ(f->params, "minptime=10; useinbandfec=1");
  auto p = sdp::split_fmtp_params(f->params);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1].first, "useinbandfec");
  EXPECT_EQ(p[1].second, "1");
  auto dtmf = sdp::split_fmtp_params("0-16");
  ASSERT_EQ(dtmf.size(), 1u);
  EXPECT_EQ(dtmf[0].first, "0-16");
  EXPECT_EQ(dtmf[0].second, "");
  EXPECT_TRUE(sdp::split_fmtp_params(";;").empty());
  EXPECT_EQ(sdp::to_string(*f), "111 minptime=10; useinbandfec=1");
  EXPECT_EQ(code_of(sdp::parse_fmtp("abc 0-16")), "sdp-bad-fmtp");
  EXPECT_EQ(code_of(sdp::parse_fmtp("")), "sdp-bad-fmtp");
  EXPECT_EQ(code_of(sdp::parse_fmtp("200 x=1")), "sdp-bad-fmtp");
}

TEST(SdpPtime, Parses) {
  EXPECT_EQ(*sdp::parse_ptime("20"), 20u);
  EXPECT_EQ(*sdp::parse_ptime("20.0"), 20u);
  EXPECT_EQ(*sdp::parse_ptime("30.5"), 30u);
  for (const char* v : {"", "0", "-20", "20ms", "20.", ".5", "20.x", "99999999999"})
    EXPECT_EQ(code_of(sdp::parse_ptime(v)), "sdp-bad-ptime") << v;
}

TEST(SdpDirection, Names) {
  EXPECT_EQ(sdp::parse_direction("sendonly"), sdp::Direction::kSendOnly);
  EXPECT_EQ(sdp::parse_direction("RECVONLY"), sdp::Direction::kRecvOnly);
  EXPECT_FALSE(sdp::parse_direction("sendrecvx"));
  EXPECT_EQ(sdp::to_string(sdp::Direction::kInactive), "inactive");
  sdp::AttributeList list{{"rtpmap", "0 PCMU/8000"}, {"inactive", std::nullopt}, {"sendonly", std::nullopt}};
  EXPECT_EQ(sdp::find_direction(list), sdp::Direction::kInactive);
  EXPECT_EQ(sdp::find_attributes(list, "RTPMAP").size(), 1u);
}

TEST(SdpSetup, Values) {
  EXPECT_EQ(*sdp::parse_setup("active"), sdp::Setup::kActive);
  EXPECT_EQ(*sdp::parse_setup("passive"), sdp::Setup::kPassive);
  EXPECT_EQ(*sdp::parse_setup("actpass"), sdp::Setup::kActPass);
  EXPECT_EQ(*sdp::parse_setup("holdconn"), sdp::Setup::kHoldConn);
  EXPECT_EQ(code_of(sdp::parse_setup("")), "sdp-bad-setup");
  EXPECT_EQ(code_of(sdp::parse_setup("act pass")), "sdp-bad-setup");
  EXPECT_EQ(sdp::to_string(sdp::Setup::kActPass), "actpass");
}

TEST(SdpRtcp, Forms) {
  auto a = sdp::parse_rtcp("53020");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 53020);
  auto b = sdp::parse_rtcp("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->addr_type, "IP6");
  EXPECT_EQ(sdp::to_string(*b), "53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  for (const char* v : {"", "x", "65536", "1 IN IP4", "1 IN IP4 a b"})
    EXPECT_EQ(code_of(sdp::parse_rtcp(v)), "sdp-bad-rtcp") << v;
}

TEST(SdpFingerprint, Parses) {
  auto f = sdp::parse_fingerprint("SHA-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->hash, sdp::HashFunction::kSha1);
  EXPECT_EQ(f->hash_name, "sha-1");
  EXPECT_EQ(f->bytes.size(), 20u);
  EXPECT_EQ(f->bytes[0], 0x4A);
  EXPECT_EQ(sdp::to_string(*f), "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
  // Lower-case hex is accepted.
  std::string lower = "sha-256 ";
  for (int i = 0; i < 32; ++i) lower += std::string(i ? ":" : "") + "ab";
  EXPECT_TRUE(sdp::parse_fingerprint(lower).ok());
}

TEST(SdpFingerprint, LengthsPerHash) {
  struct Case {
    const char* name;
    int len;
  };
  for (Case c : {Case{"sha-1", 20}, Case{"sha-224", 28}, Case{"sha-256", 32}, Case{"sha-384", 48},
                 Case{"sha-512", 64}}) {
    auto make = [&](int n) {
      std::string s = std::string(c.name) + " ";
      for (int i = 0; i < n; ++i) s += std::string(i ? ":" : "") + "0F";
      return s;
    };
    EXPECT_EQ(code_of(sdp::parse_fingerprint(make(c.len))), "ok") << c.name;
    EXPECT_EQ(code_of(sdp::parse_fingerprint(make(c.len - 1))), "sdp-fingerprint-bad-length") << c.name;
    EXPECT_EQ(code_of(sdp::parse_fingerprint(make(c.len + 1))), "sdp-fingerprint-bad-length") << c.name;
  }
  // Unknown hash functions are kept (not length-checked), flagged.
  auto md5 = sdp::parse_fingerprint("md5 00:11:22");
  ASSERT_TRUE(md5.ok());
  EXPECT_FALSE(md5->known_hash());
}

TEST(SdpFingerprint, Malformed) {
  EXPECT_EQ(code_of(sdp::parse_fingerprint("")), "sdp-bad-fingerprint");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-256")), "sdp-bad-fingerprint");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-256 AB CD")), "sdp-bad-fingerprint");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 4A:AD:B")), "sdp-fingerprint-bad-hex");    // odd
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 4AAD")), "sdp-fingerprint-bad-hex");       // no colons
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 4A:AD:")), "sdp-fingerprint-bad-hex");     // trailing colon
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 :4A:AD")), "sdp-fingerprint-bad-hex");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 4A::AD")), "sdp-fingerprint-bad-hex");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 GG:AD")), "sdp-fingerprint-bad-hex");
  EXPECT_EQ(code_of(sdp::parse_fingerprint("sha-1 4A:A")), "sdp-fingerprint-bad-hex");
}

TEST(SdpIce, Credentials) {
  EXPECT_EQ(*sdp::parse_ice_ufrag("8hhY"), "8hhY");
  EXPECT_EQ(code_of(sdp::parse_ice_ufrag("abc")), "sdp-bad-ice-ufrag");
  EXPECT_EQ(code_of(sdp::parse_ice_ufrag("ab-cd")), "sdp-bad-ice-ufrag");
  EXPECT_EQ(code_of(sdp::parse_ice_ufrag(std::string(257, 'a'))), "sdp-bad-ice-ufrag");
  EXPECT_EQ(*sdp::parse_ice_pwd("asd88fgpdd777uzjYhagZg"), "asd88fgpdd777uzjYhagZg");
  EXPECT_EQ(code_of(sdp::parse_ice_pwd("short+pwd/123")), "sdp-bad-ice-pwd");
  EXPECT_EQ(sdp::parse_ice_options(" trickle  ice2 "), (std::vector<std::string>{"trickle", "ice2"}));
}

TEST(SdpIce, Candidates) {
  auto c = sdp::parse_candidate("1 1 UDP 2130706431 10.0.1.1 8998 typ host");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->foundation, "1");
  EXPECT_EQ(c->component, 1);
  EXPECT_EQ(c->transport, "UDP");
  EXPECT_EQ(c->priority, 2130706431u);
  EXPECT_EQ(c->address, "10.0.1.1");
  EXPECT_EQ(c->port, 8998);
  EXPECT_EQ(c->type, "host");
  EXPECT_EQ(sdp::to_string(*c), "1 1 UDP 2130706431 10.0.1.1 8998 typ host");

  auto r = sdp::parse_candidate(
      "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 10.0.1.1 rport 8998 generation 0 ufrag EsAw");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->rel_addr, "10.0.1.1");
  EXPECT_EQ(r->rel_port, 8998);
  ASSERT_EQ(r->extensions.size(), 2u);
  EXPECT_EQ(r->extensions[1].second, "EsAw");
  auto again = sdp::parse_candidate(sdp::to_string(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *r);

  // mDNS host name and the trickle "candidate:" prefix.
  auto m = sdp::parse_candidate("candidate:3 1 udp 2122262783 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host");
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->foundation, "3");
}

TEST(SdpIce, MalformedCandidates) {
  for (const char* v : {
           "",
           "1 1 UDP 2130706431 10.0.1.1 8998",                        // no typ
           "1 1 UDP 2130706431 10.0.1.1 8998 type host",              // "type" not "typ"
           "1 0 UDP 2130706431 10.0.1.1 8998 typ host",               // component 0
           "1 257 UDP 2130706431 10.0.1.1 8998 typ host",             // component > 256
           "1 1 UDP 4294967296 10.0.1.1 8998 typ host",               // priority > 2^32-1
           "1 1 UDP x 10.0.1.1 8998 typ host",
           "1 1 UDP 1 10.0.1.1 65536 typ host",                       // port
           "1 1 UDP 1 10.0.1.1 -1 typ host",
           "f-o 1 UDP 1 10.0.1.1 1 typ host",                         // foundation char
           "123456789012345678901234567890123 1 UDP 1 10.0.1.1 1 typ host",  // foundation > 32
           "1 1 UDP 1 10.0.1.1 1 typ host raddr",                     // dangling extension
           "1 1 UDP 1 10.0.1.1 1 typ srflx rport x",
           "1 1 UDP 1 10.0.1.1 1 typ srflx raddr a raddr b",
       }) {
    EXPECT_EQ(code_of(sdp::parse_candidate(v)), "sdp-bad-candidate") << v;
  }
}
