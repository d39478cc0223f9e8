#include <gtest/gtest.h>

#include <string>

#include "sdp/session.h"
#include "samples.h"

namespace sdp = exphone::sdp;

namespace {

// parse(serialize(parse(x))) == parse(x), and serialize is a fixed point after one pass.
void expect_round_trip(std::string_view text) {
  auto first = sdp::parse(text);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  std::string wire = sdp::serialize(*first);
  auto second = sdp::parse(wire);
  ASSERT_TRUE(second.ok()) << second.error().to_string() << "\n" << wire;
  EXPECT_EQ(*first, *second) << wire;
  EXPECT_EQ(sdp::serialize(*second), wire);
}

}  // namespace

TEST(SdpRoundTrip, Samples) {
  for (const char* text : {sdp::samples::kAsteriskSrtp, sdp::samples::kBaresip, sdp::samples::kWebRtc,
                           sdp::samples::kEveryLine}) {
    SCOPED_TRACE(text);
    expect_round_trip(text);
  }
}

TEST(SdpRoundTrip, CanonicalSamplesSerializeByteForByte) {
  // These samples are already in canonical order with single spaces and CRLF.
  for (const char* text : {sdp::samples::kAsteriskSrtp, sdp::samples::kBaresip, sdp::samples::kWebRtc,
                           sdp::samples::kEveryLine}) {
    auto r = sdp::parse(text);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(sdp::serialize(*r), text);
  }
}

TEST(SdpRoundTrip, LenientInputBecomesCanonical) {
  const char* in =
      "v=0\n"
      "o=-  7 8  IN IP4 192.0.2.1 \n"
      "s=\n"
      "a=sendonly\n"
      "c=IN IP4 192.0.2.1\n"
      "m=audio  4000  RTP/AVP  0   8 \n"
      "a=rtcp-mux\n"
      "\n";
  auto r = sdp::parse(in);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(sdp::serialize(*r),
            "v=0\r\n"
            "o=- 7 8 IN IP4 192.0.2.1\r\n"
            "s= \r\n"
            "c=IN IP4 192.0.2.1\r\n"
            "t=0 0\r\n"
            "a=sendonly\r\n"
            "m=audio 4000 RTP/AVP 0 8\r\n"
            "a=rtcp-mux\r\n");
  expect_round_trip(in);
}

TEST(SdpRoundTrip, AttributeValuesPreserved) {
  expect_round_trip(
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
      "a=x-empty:\r\na=x-flag\r\na=x-colons:a:b:c\r\na=x-space: leading\r\n"
      "m=audio 0 RTP/AVP\r\n");
}

TEST(SdpRoundTrip, BuiltModel) {
  sdp::Session s;
  s.origin.session_id = 42;
  s.origin.session_version = 1;
  s.origin.address = "192.0.2.5";
  s.connection = sdp::Connection{"IN", "IP4", "192.0.2.5", std::nullopt, std::nullopt};
  sdp::MediaDescription m;
  m.media = "audio";
  m.port = 30000;
  m.proto = "RTP/SAVP";
  m.formats = {"0", "101"};
  m.attributes.push_back({"rtpmap", sdp::to_string(sdp::Rtpmap{0, "PCMU", 8000, std::nullopt})});
  m.attributes.push_back({"rtpmap", "101 telephone-event/8000"});
  sdp::Crypto c;
  c.tag = 1;
  c.suite = sdp::CryptoSuite::kAesCm128HmacSha1_80;
  c.keys.push_back({exphone::Bytes(30, 0x11), std::nullopt, std::nullopt});
  m.attributes.push_back({"crypto", sdp::to_string(c)});
  m.attributes.push_back({"sendrecv", std::nullopt});
  s.media().push_back(m);

  std::string wire = sdp::serialize(s);
  EXPECT_EQ(wire.substr(0, 5), "v=0\r\n");
  EXPECT_NE(wire.find("t=0 0\r\n"), std::string::npos);  // no timings in the model: t=0 0 written
  auto r = sdp::parse(wire);
  ASSERT_TRUE(r.ok()) << r.error().to_string() << "\n" << wire;
  auto cryptos = r->media()[0].cryptos();
  ASSERT_EQ(cryptos.size(), 1u);
  ASSERT_TRUE(cryptos[0].ok());
  EXPECT_EQ(cryptos[0]->keys[0].key_salt, exphone::Bytes(30, 0x11));
  s.timings.push_back({});
  EXPECT_EQ(*r, s);
}

TEST(SdpRoundTrip, SerializerCannotInjectLines) {
  sdp::Session s;
  s.origin.address = "192.0.2.5";
  s.name = "evil\r\nm=audio 1 RTP/AVP 0";
  s.attributes.push_back({"x", std::string("a\nb\0c", 5)});
  std::string wire = sdp::serialize(s);
  auto r = sdp::parse(wire);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->media().empty());
  EXPECT_EQ(r->name, "evilm=audio 1 RTP/AVP 0");
  EXPECT_EQ(r->attributes.at(0).value, "abc");
}

TEST(SdpRoundTrip, EqualityIgnoresOffsets) {
  auto a = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\na=x\r\n");
  auto b = sdp::parse("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\na=x\n");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->attributes[0].offset, b->attributes[0].offset);
  EXPECT_EQ(*a, *b);
}
