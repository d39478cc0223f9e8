#include <gtest/gtest.h>

#include <string>

#include "sdp/session.h"
#include "samples.h"

using namespace std::string_literals;
namespace sdp = exphone::sdp;
using sdp::Direction;

namespace {

// Replaces CRLF by LF.
std::string to_lf(std::string s) {
  std::string out;
  for (char c : s)
    if (c != '\r') out += c;
  return out;
}

const char* kMinimal = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

// Parses `text` and expects failure with `code`; returns the error.
exphone::Error expect_error(std::string_view text, const std::string& code, const sdp::Limits& limits = {}) {
  auto r = sdp::parse(text, limits);
  EXPECT_FALSE(r.ok()) << "expected " << code;
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  return r.error();
}

std::string with_media(const std::string& m_line) {
  return std::string(kMinimal) + m_line + "\r\n";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Realistic offers

TEST(SdpParse, AsteriskSrtpOffer) {
  auto r = sdp::parse(sdp::samples::kAsteriskSrtp);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const sdp::Session& s = *r;
  EXPECT_EQ(s.version, 0u);
  EXPECT_EQ(s.origin.username, "-");
  EXPECT_EQ(s.origin.session_id, 1693214532u);
  EXPECT_EQ(s.origin.session_version, 1693214533u);
  EXPECT_EQ(s.origin.address, "192.0.2.10");
  EXPECT_EQ(s.name, "Asterisk");
  ASSERT_TRUE(s.connection);
  EXPECT_TRUE(s.connection->is_ip4());
  ASSERT_EQ(s.timings.size(), 1u);
  ASSERT_EQ(s.media().size(), 1u);

  const auto& m = s.media()[0];
  EXPECT_EQ(m.media, "audio");
  EXPECT_EQ(m.port, 17042);
  EXPECT_EQ(m.proto, "RTP/SAVP");
  EXPECT_EQ(m.proto_kind(), sdp::Proto::kRtpSavp);
  EXPECT_TRUE(m.is_srtp());
  EXPECT_FALSE(m.is_dtls_srtp());
  EXPECT_EQ(m.payload_types(), (std::vector<std::uint8_t>{0, 8, 101}));
  EXPECT_EQ(m.direction(s), Direction::kSendRecv);
  ASSERT_NE(m.connection(s), nullptr);
  EXPECT_EQ(m.connection(s)->address, "192.0.2.10");

  auto rtpmaps = m.rtpmaps();
  ASSERT_EQ(rtpmaps.size(), 3u);
  for (const auto& rm : rtpmaps) EXPECT_TRUE(rm.ok());
  auto te = m.rtpmap(101);
  ASSERT_TRUE(te);
  EXPECT_EQ(te->encoding, "telephone-event");
  EXPECT_EQ(te->clock_rate, 8000u);
  auto fmtp = m.fmtp(101);
  ASSERT_TRUE(fmtp);
  EXPECT_EQ(fmtp->params, "0-16");
  auto ptime = m.ptime();
  ASSERT_TRUE(ptime.ok());
  EXPECT_EQ(ptime->value_or(0), 20u);
  auto maxptime = m.maxptime();
  ASSERT_TRUE(maxptime.ok());
  EXPECT_EQ(maxptime->value_or(0), 150u);

  auto cryptos = m.cryptos();
  ASSERT_EQ(cryptos.size(), 2u);
  ASSERT_TRUE(cryptos[0].ok()) << cryptos[0].error().to_string();
  ASSERT_TRUE(cryptos[1].ok()) << cryptos[1].error().to_string();
  EXPECT_EQ(cryptos[0]->tag, 1u);
  EXPECT_EQ(cryptos[0]->suite, sdp::CryptoSuite::kAesCm128HmacSha1_80);
  EXPECT_EQ(cryptos[0]->keys.at(0).key_salt.size(), 30u);
  EXPECT_EQ(cryptos[1]->suite, sdp::CryptoSuite::kAesCm128HmacSha1_32);
  EXPECT_EQ(cryptos[1]->keys.at(0).lifetime, std::uint64_t{1} << 20);
  ASSERT_TRUE(cryptos[1]->keys.at(0).mki);
  EXPECT_EQ(cryptos[1]->keys.at(0).mki->value, 1u);
  EXPECT_EQ(cryptos[1]->keys.at(0).mki->length, 4u);
  EXPECT_TRUE(sdp::attribute_errors(s).empty());
}

TEST(SdpParse, BaresipOffer) {
  auto r = sdp::parse(sdp::samples::kBaresip);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& s = *r;
  EXPECT_EQ(s.name, "-");
  ASSERT_NE(s.attribute("tool"), nullptr);
  EXPECT_EQ(s.attribute("tool")->value, "baresip 3.10.1");
  const auto& m = s.media().at(0);
  EXPECT_EQ(m.proto_kind(), sdp::Proto::kRtpAvp);
  EXPECT_FALSE(m.is_srtp());
  ASSERT_EQ(m.bandwidths.size(), 1u);
  EXPECT_EQ(m.bandwidths[0].type, "AS");
  EXPECT_EQ(m.bandwidths[0].value, 128u);
  auto opus = m.rtpmap(96);
  ASSERT_TRUE(opus);
  EXPECT_EQ(opus->encoding, "opus");
  EXPECT_EQ(opus->clock_rate, 48000u);
  EXPECT_EQ(opus->channels, 2u);
  auto params = sdp::split_fmtp_params(m.fmtp(96)->params);
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"stereo", "1"}));
  EXPECT_TRUE(m.rtcp_mux());
  auto rtcp = m.rtcp();
  ASSERT_TRUE(rtcp.ok());
  ASSERT_TRUE(*rtcp);
  EXPECT_EQ((*rtcp)->port, 10459);
  EXPECT_FALSE((*rtcp)->address);
  // Unknown attributes are kept, in order, with their values.
  std::vector<std::string> names;
  for (const auto& a : m.attributes) names.push_back(a.name);
  EXPECT_EQ(names, (std::vector<std::string>{"rtpmap", "fmtp", "rtpmap", "rtpmap", "rtpmap", "rtpmap", "fmtp",
                                             "rtcp-mux", "rtcp", "ssrc", "sendrecv", "label", "ptime"}));
  EXPECT_FALSE(m.attributes[7].value.has_value());  // a=rtcp-mux has no value
  EXPECT_EQ(m.attributes[9].value, "3318519093 cname:ae86ef68-7c7c-4a52");
  EXPECT_TRUE(m.cryptos().empty());
}

TEST(SdpParse, WebRtcOffer) {
  auto r = sdp::parse(sdp::samples::kWebRtc);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& s = *r;
  EXPECT_EQ(s.origin.session_id, 4611731400430051336u);
  EXPECT_FALSE(s.connection);
  ASSERT_EQ(s.media().size(), 2u);
  const auto& audio = s.media()[0];
  EXPECT_TRUE(audio.is_dtls_srtp());
  EXPECT_EQ(audio.proto_kind(), sdp::Proto::kUdpTlsRtpSavpf);
  const auto* c = audio.connection(s);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_ip6());
  EXPECT_EQ(c->address, "2001:db8::1");

  auto fp = audio.fingerprint(s);  // session-level fallback
  ASSERT_TRUE(fp.ok());
  ASSERT_TRUE(*fp);
  EXPECT_EQ((*fp)->hash, sdp::HashFunction::kSha256);
  EXPECT_EQ((*fp)->bytes.size(), 32u);
  EXPECT_EQ((*fp)->bytes.front(), 0xD2);
  EXPECT_EQ((*fp)->bytes.back(), 0x0F);

  auto setup = audio.setup(s);
  ASSERT_TRUE(setup.ok());
  EXPECT_EQ(*setup, sdp::Setup::kActPass);
  EXPECT_TRUE(audio.rtcp_mux());
  EXPECT_EQ(audio.mid(), "0");
  auto ufrag = audio.ice_ufrag(s);
  ASSERT_TRUE(ufrag.ok());
  EXPECT_EQ(*ufrag, "EsAw");
  auto pwd = audio.ice_pwd(s);
  ASSERT_TRUE(pwd.ok());
  EXPECT_EQ(*pwd, "bP+XJMM09aR8AiX1jdukzR6Y");
  EXPECT_EQ(audio.ice_options(s), (std::vector<std::string>{"trickle", "renomination"}));
  EXPECT_FALSE(s.ice_lite());

  auto rtcp = audio.rtcp();
  ASSERT_TRUE(rtcp.ok());
  ASSERT_TRUE(*rtcp);
  EXPECT_EQ((*rtcp)->port, 9);
  EXPECT_EQ((*rtcp)->address, "0.0.0.0");

  auto cands = audio.candidates();
  ASSERT_EQ(cands.size(), 3u);
  for (const auto& cand : cands) ASSERT_TRUE(cand.ok()) << cand.error().to_string();
  EXPECT_EQ(cands[0]->address, "2001:db8::1");
  EXPECT_EQ(cands[0]->type, "host");
  EXPECT_EQ(cands[1]->type, "srflx");
  EXPECT_EQ(cands[1]->rel_addr, "10.0.0.2");
  EXPECT_EQ(cands[1]->rel_port, 46243);
  EXPECT_EQ(cands[2]->transport, "tcp");
  ASSERT_FALSE(cands[2]->extensions.empty());
  EXPECT_EQ(cands[2]->extensions[0], (std::pair<std::string, std::string>{"tcptype", "active"}));

  const auto& data = s.media()[1];
  EXPECT_EQ(data.media, "application");
  EXPECT_FALSE(data.is_rtp());
  EXPECT_EQ(data.formats, (std::vector<std::string>{"webrtc-datachannel"}));
  EXPECT_TRUE(data.payload_types().empty());
  EXPECT_EQ(data.mid(), "1");
  // The msid-semantic value keeps its leading space.
  EXPECT_EQ(s.attribute("msid-semantic")->value, " WMS stream1");
  EXPECT_TRUE(sdp::attribute_errors(s).empty());
}

TEST(SdpParse, BareLfEqualsCrlf) {
  for (const char* text : {sdp::samples::kAsteriskSrtp, sdp::samples::kBaresip, sdp::samples::kWebRtc,
                           sdp::samples::kEveryLine}) {
    auto crlf = sdp::parse(text);
    auto lf = sdp::parse(to_lf(text));
    ASSERT_TRUE(crlf.ok());
    ASSERT_TRUE(lf.ok()) << lf.error().to_string();
    EXPECT_EQ(*crlf, *lf);
  }
}

TEST(SdpParse, MixedLineEndingsAndNoFinalNewline) {
  auto r = sdp::parse("v=0\no=- 1 1 IN IP4 192.0.2.1\r\ns=x\nt=0 0\r\nm=audio 4000 RTP/AVP 0");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->media().at(0).formats, std::vector<std::string>{"0"});
}

TEST(SdpParse, TrailingSpacesAndEmptyLinesAreTolerated) {
  auto r = sdp::parse(
      "v=0 \r\no=- 1 1 IN IP4 192.0.2.1  \r\ns=-\t\r\nt=0 0 \r\n"
      "m=audio 4000 RTP/AVP 0 8 \r\na=sendonly \r\na=ptime:20 \r\n\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& m = r->media().at(0);
  EXPECT_EQ(m.formats, (std::vector<std::string>{"0", "8"}));
  EXPECT_EQ(m.direction(*r), Direction::kSendOnly);
  EXPECT_EQ(m.attributes.back().value, "20");
}

TEST(SdpParse, MissingTimeIsReadAsZero) {
  auto r = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nm=audio 4000 RTP/AVP 0\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->timings.size(), 1u);
  EXPECT_EQ(r->timings[0], sdp::Timing{});
}

TEST(SdpParse, EmptySessionNameIsTolerated) {
  auto r = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=\r\nt=0 0\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->name, "");
  auto r2 = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns= \r\nt=0 0\r\n");
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->name, "");
}

TEST(SdpParse, SessionLinesInLenientOrder) {
  // c= after t= and a= before t=: seen from real stacks, accepted.
  auto r = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\na=sendonly\r\nt=0 0\r\nc=IN IP4 192.0.2.1\r\n"
                      "m=audio 4000 RTP/AVP 0\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->media()[0].direction(*r), Direction::kSendOnly);
  EXPECT_EQ(r->media()[0].connection(*r)->address, "192.0.2.1");
}

TEST(SdpParse, DirectionMediaOverridesSession) {
  auto r = sdp::parse(std::string(kMinimal) +
                      "a=recvonly\r\nm=audio 4000 RTP/AVP 0\r\na=inactive\r\nm=video 4002 RTP/AVP 96\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->direction(), Direction::kRecvOnly);
  EXPECT_EQ(r->media()[0].direction(*r), Direction::kInactive);
  EXPECT_EQ(r->media()[1].direction(*r), Direction::kRecvOnly);
  EXPECT_EQ(r->media()[1].own_direction(), std::nullopt);
}

TEST(SdpParse, ConnectionFallbackAndNone) {
  auto r = sdp::parse(with_media("m=audio 4000 RTP/AVP 0"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->media()[0].connection(*r), nullptr);
}

TEST(SdpParse, MulticastConnections) {
  auto r = sdp::parse(sdp::samples::kEveryLine);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->connection->address, "224.2.17.12");
  EXPECT_EQ(r->connection->ttl, 127);
  EXPECT_FALSE(r->connection->address_count);
  const auto& m = r->media()[0];
  EXPECT_EQ(m.port_count, 2u);
  ASSERT_EQ(m.connections.size(), 2u);
  EXPECT_EQ(m.connections[0].address, "ff15::101");
  EXPECT_FALSE(m.connections[0].ttl);
  EXPECT_EQ(m.connections[0].address_count, 3u);
  EXPECT_EQ(m.connections[1].ttl, 127);
  EXPECT_EQ(m.connections[1].address_count, 3u);
  ASSERT_EQ(r->timings.size(), 2u);
  EXPECT_EQ(r->timings[0].start, 2873397496u);
  EXPECT_EQ(r->timings[0].repeats, std::vector<std::string>{"7d 1h 0 25h"});
  EXPECT_EQ(r->zone_adjustments, "2882844526 -1h 2898848070 0");
  EXPECT_EQ(r->emails.size(), 1u);
  EXPECT_EQ(r->phones.size(), 1u);
  EXPECT_TRUE(r->media()[2].rejected());
  EXPECT_EQ(m.attribute("empty-value")->value, "");
}

TEST(SdpParse, RejectedStreamWithoutFormatsTolerated) {
  auto r = sdp::parse(with_media("m=video 0 RTP/AVP"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->media()[0].rejected());
}

TEST(SdpParse, OneBadCryptoDoesNotFailTheSession) {
  std::string text = with_media("m=audio 4000 RTP/SAVP 0") +
                     "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:not*base64\r\n"
                     "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n";
  auto r = sdp::parse(text);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto c = r->media()[0].cryptos();
  ASSERT_EQ(c.size(), 2u);
  ASSERT_FALSE(c[0].ok());
  EXPECT_EQ(c[0].error().code, "sdp-crypto-bad-base64");
  EXPECT_EQ(c[0].error().offset, text.find("a=crypto:1"));  // the a= line in the input
  EXPECT_TRUE(c[1].ok());
  auto errors = sdp::attribute_errors(*r);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, "sdp-crypto-bad-base64");
  EXPECT_NE(errors[0].message.find("media 1"), std::string::npos);
}

TEST(SdpParse, BadTypedAttributesSurfaceThroughAccessors) {
  auto r = sdp::parse(with_media("m=audio 4000 UDP/TLS/RTP/SAVP 0") +
                      "a=setup:sideways\r\na=fingerprint:sha-256 AB:CD\r\na=ptime:x\r\na=ice-ufrag:a\r\n"
                      "a=candidate:1 1 udp\r\na=rtpmap:0 PCMU\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const auto& m = r->media()[0];
  EXPECT_EQ(m.setup(*r).error().code, "sdp-bad-setup");
  EXPECT_EQ(m.fingerprint(*r).error().code, "sdp-fingerprint-bad-length");
  EXPECT_EQ(m.ptime().error().code, "sdp-bad-ptime");
  EXPECT_EQ(m.ice_ufrag(*r).error().code, "sdp-bad-ice-ufrag");
  EXPECT_EQ(m.candidates().at(0).error().code, "sdp-bad-candidate");
  EXPECT_EQ(m.rtpmaps().at(0).error().code, "sdp-bad-rtpmap");
  // The malformed rtpmap falls back to the RFC 3551 static mapping for pt 0.
  ASSERT_TRUE(m.rtpmap(0));
  EXPECT_EQ(m.rtpmap(0)->encoding, "PCMU");
  EXPECT_EQ(sdp::attribute_errors(*r).size(), 6u);
}

TEST(SdpParse, AbsentTypedAttributesAreNullopt) {
  auto r = sdp::parse(with_media("m=audio 4000 RTP/AVP 0"));
  ASSERT_TRUE(r.ok());
  const auto& m = r->media()[0];
  EXPECT_TRUE(m.setup(*r).ok());
  EXPECT_FALSE(*m.setup(*r));
  EXPECT_FALSE(*m.fingerprint(*r));
  EXPECT_FALSE(*m.ptime());
  EXPECT_FALSE(*m.rtcp());
  EXPECT_FALSE(*m.ice_ufrag(*r));
  EXPECT_FALSE(m.mid());
  EXPECT_FALSE(m.rtcp_mux());
  EXPECT_TRUE(m.candidates().empty());
}

TEST(SdpParse, MediaLevelFingerprintWinsOverSession) {
  auto r = sdp::parse(std::string(kMinimal) +
                      "a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33\r\n"
                      "m=audio 4000 UDP/TLS/RTP/SAVP 0\r\n"
                      "a=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n"
                      "m=audio 4002 UDP/TLS/RTP/SAVP 0\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r->media()[0].fingerprint(*r))->hash, sdp::HashFunction::kSha256);
  EXPECT_EQ((*r->media()[1].fingerprint(*r))->hash, sdp::HashFunction::kSha1);
  EXPECT_EQ(r->media()[0].fingerprints(*r).size(), 1u);
}

TEST(SdpParse, IceLiteSessionLevel) {
  auto r = sdp::parse(std::string(kMinimal) + "a=ice-lite\r\na=ice-ufrag:abcd\r\na=ice-options:ice2\r\n"
                      "m=audio 4000 RTP/AVP 0\r\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ice_lite());
  EXPECT_EQ(*r->media()[0].ice_ufrag(*r), "abcd");  // session-level fallback
  EXPECT_EQ(r->media()[0].ice_options(*r), std::vector<std::string>{"ice2"});
}

// ---------------------------------------------------------------------------------------------
// Malformed input: each case asserts its specific error code.

TEST(SdpParseError, EmptyInput) {
  expect_error("", "sdp-empty");
  expect_error("\r\n\r\n", "sdp-empty");
}

TEST(SdpParseError, MissingVersion) {
  auto e = expect_error("o=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", "sdp-missing-version");
  EXPECT_EQ(e.offset, 0u);
  EXPECT_NE(e.message.find("line 1"), std::string::npos);
}

TEST(SdpParseError, VersionOne) {
  expect_error("v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", "sdp-bad-version");
  expect_error("v=00\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", "sdp-bad-version");
  expect_error("v=\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n", "sdp-bad-version");
}

TEST(SdpParseError, DuplicateVersion) {
  expect_error("v=0\r\nv=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", "sdp-duplicate-line");
}

TEST(SdpParseError, GarbageLine) {
  std::string text = std::string(kMinimal) + "hello world\r\n";
  auto e = expect_error(text, "sdp-bad-line");
  EXPECT_EQ(e.offset, std::string(kMinimal).size());
  EXPECT_NE(e.message.find("line 5"), std::string::npos);
  EXPECT_NE(e.message.find("hello world"), std::string::npos);
  expect_error(std::string(kMinimal) + "A=upper\r\n", "sdp-bad-line");
  expect_error(std::string(kMinimal) + "a\r\n", "sdp-bad-line");
  expect_error(std::string(kMinimal) + "=x\r\n", "sdp-bad-line");
  expect_error(std::string(kMinimal) + "a =x\r\n", "sdp-bad-line");
  expect_error("GARBAGE", "sdp-bad-line");
}

TEST(SdpParseError, EmptyLineInTheMiddle) {
  expect_error("v=0\r\n\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n", "sdp-bad-line");
}

TEST(SdpParseError, UnknownLineType) {
  expect_error(std::string(kMinimal) + "x=whatever\r\n", "sdp-unknown-line-type");
  expect_error(with_media("m=audio 4000 RTP/AVP 0") + "y=1\r\n", "sdp-unknown-line-type");
}

TEST(SdpParseError, NulByte) {
  std::string text = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\0b\r\nt=0 0\r\n"s;
  auto e = expect_error(text, "sdp-bad-character");
  EXPECT_EQ(e.offset, text.find("s="));
  EXPECT_NE(e.message.find("\\x00"), std::string::npos);
  expect_error(std::string(kMinimal) + "a=x:\x01\r\n", "sdp-bad-character");
  expect_error(std::string(kMinimal) + "a=x:a\rb\r\n", "sdp-bad-character");  // lone CR
  expect_error("\0"s, "sdp-bad-character");
}

TEST(SdpParseError, MissingOriginAndName) {
  expect_error("v=0\r\ns=-\r\nt=0 0\r\n", "sdp-missing-origin");
  expect_error("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nt=0 0\r\n", "sdp-missing-session-name");
  expect_error("v=0\r\n", "sdp-missing-origin");
}

TEST(SdpParseError, BadOrigin) {
  auto bad = [](const std::string& o) {
    return "v=0\r\n" + o + "\r\ns=-\r\nt=0 0\r\n";
  };
  expect_error(bad("o=- 1 1 IN IP4"), "sdp-bad-origin");
  expect_error(bad("o=- x 1 IN IP4 192.0.2.1"), "sdp-bad-origin");
  expect_error(bad("o=- 1 -1 IN IP4 192.0.2.1"), "sdp-bad-origin");
  expect_error(bad("o=- 1 18446744073709551616 IN IP4 192.0.2.1"), "sdp-bad-origin");  // 2^64
  expect_error(bad("o=- 1 1 IN IP4 192.0.2.1 extra"), "sdp-bad-origin");
  expect_error(bad("o=- 1 1 IN IP4 300.0.2.1"), "sdp-bad-origin");
  expect_error(bad("o=- 1 1 I\"N IP4 192.0.2.1"), "sdp-bad-origin");
  // 64-bit maximum is fine.
  auto ok = sdp::parse(bad("o=- 18446744073709551615 18446744073709551615 IN IP4 host.example.com"));
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->origin.session_version, UINT64_MAX);
}

TEST(SdpParseError, DuplicateSessionLines) {
  expect_error(std::string(kMinimal) + "o=- 1 1 IN IP4 192.0.2.1\r\n", "sdp-duplicate-line");
  expect_error(std::string(kMinimal) + "s=again\r\n", "sdp-duplicate-line");
  expect_error(std::string(kMinimal) + "c=IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.2\r\n", "sdp-duplicate-line");
  expect_error(with_media("m=audio 4000 RTP/AVP 0") + "i=a\r\ni=b\r\n", "sdp-duplicate-line");
}

TEST(SdpParseError, MisplacedSessionLine) {
  expect_error(with_media("m=audio 4000 RTP/AVP 0") + "t=0 0\r\n", "sdp-misplaced-line");
  expect_error(with_media("m=audio 4000 RTP/AVP 0") + "o=- 1 1 IN IP4 192.0.2.1\r\n", "sdp-misplaced-line");
}

TEST(SdpParseError, BadConnection) {
  expect_error(std::string(kMinimal) + "c=IN IP4\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 192.0.2.1 x\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 192.0.2\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 224.2.1.1/256\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 224.2.1.1/127/0\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 224.2.1.1/127/3/1\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP6 ff15::101/3/1\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 ::1\r\n", "sdp-bad-connection");
  expect_error(std::string(kMinimal) + "c=IN IP4 $host\r\n", "sdp-bad-connection");
  expect_error(with_media("m=audio 4000 RTP/AVP 0") + "c=IN\r\n", "sdp-bad-connection");
}

TEST(SdpParseError, BadMedia) {
  expect_error(with_media("m=audio port RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio 65536 RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio 99999999999999999999999 RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio -1 RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000/0 RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000/ RTP/AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000 RTP/AVP"), "sdp-bad-media");  // no formats on a live stream
  expect_error(with_media("m=audio 4000 RTP/AVP 128"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000 RTP/AVP PCMU"), "sdp-bad-media");
  expect_error(with_media("m=audio 4000 RTP//AVP 0"), "sdp-bad-media");
  expect_error(with_media("m=au\"dio 4000 RTP/AVP 0"), "sdp-bad-media");
  auto e = expect_error(with_media("m=audio 70000 RTP/AVP 0"), "sdp-bad-media");
  EXPECT_EQ(e.offset, std::string(kMinimal).size());
  EXPECT_NE(e.message.find("line 5"), std::string::npos);
  // 65535 is the largest port.
  EXPECT_TRUE(sdp::parse(with_media("m=audio 65535 RTP/AVP 0")).ok());
}

TEST(SdpParseError, BadBandwidthTimeAttribute) {
  expect_error(std::string(kMinimal) + "b=AS\r\n", "sdp-bad-bandwidth");
  expect_error(std::string(kMinimal) + "b=AS:x\r\n", "sdp-bad-bandwidth");
  expect_error(std::string(kMinimal) + "b=:64\r\n", "sdp-bad-bandwidth");
  expect_error(std::string(kMinimal) + "t=0\r\n", "sdp-bad-time");
  expect_error(std::string(kMinimal) + "t=now later\r\n", "sdp-bad-time");
  expect_error("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nr=7d 1h 0\r\n", "sdp-bad-time");
  expect_error(std::string(kMinimal) + "a=\r\n", "sdp-bad-attribute");
  expect_error(std::string(kMinimal) + "a=:value\r\n", "sdp-bad-attribute");
  expect_error(std::string(kMinimal) + "a=bad name:x\r\n", "sdp-bad-attribute");
}

TEST(SdpParseError, TooLarge) {
  std::string text = std::string(kMinimal);
  while (text.size() <= 64 * 1024) text += "a=x-padding:0123456789012345678901234567890123456789\r\n";
  auto e = expect_error(text, "sdp-too-large");
  EXPECT_EQ(e.offset, 64u * 1024u);
  sdp::Limits small;
  small.max_size = 40;
  expect_error(kMinimal, "sdp-too-large", small);
}

TEST(SdpParseError, TooManyLines) {
  sdp::Limits limits;
  limits.max_lines = 4;
  EXPECT_TRUE(sdp::parse(kMinimal, limits).ok());
  auto e = expect_error(std::string(kMinimal) + "a=sendrecv\r\n", "sdp-too-many-lines", limits);
  EXPECT_EQ(e.offset, std::string(kMinimal).size());
  // Default limit: 1024 lines.
  std::string text = kMinimal;
  for (int i = 0; i < 1100; ++i) text += "b=AS:1\r\n";
  expect_error(text, "sdp-too-many-lines");
}

TEST(SdpParseError, TooManyMediaSections) {
  std::string text = kMinimal;
  for (int i = 0; i < 16; ++i) text += "m=audio " + std::to_string(4000 + 2 * i) + " RTP/AVP 0\r\n";
  EXPECT_TRUE(sdp::parse(text).ok());
  text += "m=audio 5000 RTP/AVP 0\r\n";
  expect_error(text, "sdp-too-many-media");
}

TEST(SdpParseError, TooManyAttributes) {
  std::string text = with_media("m=audio 4000 RTP/AVP 0");
  for (int i = 0; i < 256; ++i) text += "a=x" + std::to_string(i) + "\r\n";
  EXPECT_TRUE(sdp::parse(text).ok());
  expect_error(text + "a=one-more\r\n", "sdp-too-many-attributes");
  sdp::Limits limits;
  limits.max_attributes = 1;
  expect_error(std::string(kMinimal) + "a=a\r\na=b\r\n", "sdp-too-many-attributes", limits);
}

TEST(SdpParseError, ErrorMessagesAreBoundedAndEscaped) {
  std::string long_line = "zz" + std::string(5000, 'x');
  auto e = expect_error(std::string(kMinimal) + long_line + "\r\n", "sdp-bad-line");
  EXPECT_LT(e.message.size(), 200u);
  auto e2 = expect_error(std::string(kMinimal) + "\xff\xfe\r\n", "sdp-bad-line");
  EXPECT_NE(e2.message.find("\\xff"), std::string::npos);
}

TEST(SdpParse, NonAsciiTextIsKept) {
  auto r = sdp::parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=Caf\xc3\xa9\r\nt=0 0\r\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->name, "Caf\xc3\xa9");
}
