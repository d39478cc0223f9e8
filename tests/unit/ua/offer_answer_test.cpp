// RFC 3264 offer/answer with RFC 4568 SDES under the account's SRTP policy.
#include <gtest/gtest.h>

#include "ua/offer_answer.h"

using namespace exphone;
using namespace exphone::ua;
using sdp::CryptoSuite;

namespace {

sdp::Session reparse(const sdp::Session& s) {
  auto r = sdp::parse(sdp::serialize(s));  // everything goes through the wire form
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().to_string());
  return *r;
}

sdp::Session parse(const std::string& text) {
  auto r = sdp::parse(text);
  EXPECT_TRUE(r.ok()) << (r ? "" : r.error().to_string());
  return *r;
}

MediaPolicy policy(SrtpPolicy p) {
  MediaPolicy m;
  m.srtp = p;
  return m;
}

LocalMedia local(const char* address, std::uint16_t port) {
  LocalMedia l;
  l.address = address;
  l.port = port;
  return l;
}
const LocalMedia kA = local("192.0.2.1", 40000);
const LocalMedia kB = local("192.0.2.2", 50000);

// A side that can do DTLS-SRTP and ICE-lite (fingerprint bytes are arbitrary here).
LocalMedia dtls_side(const char* address, std::uint16_t port, std::uint8_t fp) {
  LocalMedia l = local(address, port);
  l.dtls_fingerprint = Bytes(32, fp);
  l.ice_ufrag = std::string("uf") + char('A' + fp % 26) + "x";
  l.ice_pwd = "0123456789012345678901";
  return l;
}

MediaPolicy dtls_policy(KeyExchange k, SrtpPolicy p = SrtpPolicy::kMandatory) {
  MediaPolicy m;
  m.srtp = p;
  m.key_exchange = k;
  return m;
}

// What Chrome 156 offers (JsSIP, trimmed to the audio parts): full ICE, actpass, BUNDLE, rtcp-mux.
const std::string kBrowserOffer =
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
    "a=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n"
    "m=audio 45001 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 127.0.0.1\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1 1 udp 2113937151 127.0.0.1 45001 typ host generation 0 network-cost 999\r\n"
    "a=ice-ufrag:Ab3d\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 "
    "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9:0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=msid:stream track\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n"
    "a=ssrc:1 cname:x\r\n";

// An Asterisk-style best-effort offer: SDES inside RTP/AVP.
const std::string kAsteriskOffer =
    "v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=Asterisk\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
    "m=audio 10000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"
    "a=sendrecv\r\n";

std::string replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

}  // namespace

TEST(OfferAnswer, MandatoryOfferOverTls) {
  auto o = make_offer(policy(SrtpPolicy::kMandatory), kA, true, 42);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  sdp::Session s = reparse(o->sdp);
  const auto& m = s.media().at(0);
  EXPECT_EQ(m.proto, "RTP/SAVP");
  auto cryptos = m.cryptos();
  ASSERT_EQ(cryptos.size(), MediaPolicy{}.suites.size());  // every suite we support, strongest first
  for (const auto& c : cryptos) {
    ASSERT_TRUE(c.ok()) << c.error().to_string();
    EXPECT_EQ(c->keys[0].key_salt.size(), sdp::crypto_key_salt_length(c->suite));
  }
  EXPECT_EQ(cryptos[0]->suite, CryptoSuite::kAeadAes256Gcm);
  // fresh keys from the CSPRNG for every offer
  auto o2 = make_offer(policy(SrtpPolicy::kMandatory), kA, true, 43);
  EXPECT_NE(o->crypto[0].second.local_key_salt, o2->crypto[0].second.local_key_salt);
}

TEST(OfferAnswer, NoSdesKeyWithoutTls) {
  auto m = make_offer(policy(SrtpPolicy::kMandatory), kA, false, 1);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, "sdes-over-insecure-transport");
  auto o = make_offer(policy(SrtpPolicy::kOptional), kA, false, 1);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(sdp::serialize(o->sdp).find("a=crypto"), std::string::npos);  // no key in clear
  EXPECT_EQ(o->sdp.media()[0].proto, "RTP/AVP");
  MediaPolicy lab = policy(SrtpPolicy::kOptional);
  lab.allow_sdes_over_insecure_transport = true;
  EXPECT_NE(sdp::serialize(make_offer(lab, kA, false, 1)->sdp).find("a=crypto"), std::string::npos);
}

TEST(OfferAnswer, FullExchangeCrossesTheKeys) {
  MediaPolicy p = policy(SrtpPolicy::kMandatory);
  auto offer = make_offer(p, kA, true, 7);
  int status = 0;
  auto answer = answer_offer(p, reparse(offer->sdp), kB, true, 9, &status);
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  ASSERT_TRUE(answer->audio.srtp);
  EXPECT_EQ(answer->audio.srtp->suite, CryptoSuite::kAeadAes256Gcm);  // strongest shared
  EXPECT_EQ(answer->audio.codec.name, "G722");
  EXPECT_EQ(answer->audio.dtmf_pt, 101);
  EXPECT_EQ(answer->audio.remote_address, "192.0.2.1");
  EXPECT_EQ(answer->audio.remote_port, 40000);
  auto neg = process_answer(p, *offer, reparse(answer->sdp));
  ASSERT_TRUE(neg.ok()) << neg.error().to_string();
  ASSERT_TRUE(neg->srtp);
  // what A sends, B receives with: keys cross over
  EXPECT_EQ(neg->srtp->local_key_salt, answer->audio.srtp->remote_key_salt);
  EXPECT_EQ(neg->srtp->remote_key_salt, answer->audio.srtp->local_key_salt);
  EXPECT_EQ(neg->remote_port, 50000);
  // the answer echoes the chosen offer's tag (RFC 4568 section 7.1.2) with our own key
  EXPECT_NE(sdp::serialize(answer->sdp).find("a=crypto:1 AEAD_AES_256_GCM inline:"), std::string::npos);
}

TEST(OfferAnswer, SuitePreferenceFollowsOurOrder) {
  MediaPolicy p = policy(SrtpPolicy::kOptional);
  p.suites = {CryptoSuite::kAesCm128HmacSha1_80, CryptoSuite::kAesCm128HmacSha1_32};
  auto a = answer_offer(p, parse(kAsteriskOffer), kB, true, 1);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->audio.srtp->suite, CryptoSuite::kAesCm128HmacSha1_80);
  EXPECT_EQ(a->sdp.media()[0].proto, "RTP/AVP");  // best effort stays in AVP, as Asterisk offered
  EXPECT_NE(sdp::serialize(a->sdp).find("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"), std::string::npos);
  EXPECT_EQ(a->audio.codec.name, "PCMU");  // the offerer's order
  p.suites = {CryptoSuite::kAesCm128HmacSha1_32};
  EXPECT_EQ(answer_offer(p, parse(kAsteriskOffer), kB, true, 1)->audio.srtp->suite, CryptoSuite::kAesCm128HmacSha1_32);
}

TEST(OfferAnswer, MandatoryRefusesWith488) {
  MediaPolicy p = policy(SrtpPolicy::kMandatory);
  std::string plain = kAsteriskOffer;
  plain = replace(plain, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", "");
  plain = replace(plain, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n", "");
  int status = 0;
  auto r = answer_offer(p, parse(plain), kB, true, 1, &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(status, 488);
  EXPECT_EQ(r.error().code, "srtp-no-usable-crypto");
  // garbage a=crypto: a clear reason, still 488, no crash
  std::string bad = replace(kAsteriskOffer, "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", "inline:!!notbase64!!");
  bad = replace(bad, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n", "");
  status = 0;
  r = answer_offer(p, parse(bad), kB, true, 1, &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(status, 488);
  EXPECT_EQ(r.error().code, "sdp-crypto-bad-base64");
  // unknown suite only
  std::string unknown = replace(plain, "a=sendrecv", "a=crypto:1 FOO_BAR_99 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\na=sendrecv");
  EXPECT_FALSE(answer_offer(p, parse(unknown), kB, true, 1).ok());
  // a key that would go back in clear
  status = 0;
  r = answer_offer(p, parse(kAsteriskOffer), kB, false, 1, &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sdes-over-insecure-transport");
  EXPECT_EQ(status, 488);
}

TEST(OfferAnswer, OptionalAndOff) {
  std::string plain = kAsteriskOffer;
  plain = replace(plain, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", "");
  plain = replace(plain, "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n", "");
  auto a = answer_offer(policy(SrtpPolicy::kOptional), parse(plain), kB, true, 1);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->audio.srtp);  // plain RTP when the peer has none
  // optional over UDP: the offer's key is ignored rather than answered in clear
  auto insecure = answer_offer(policy(SrtpPolicy::kOptional), parse(kAsteriskOffer), kB, false, 1);
  ASSERT_TRUE(insecure.ok());
  EXPECT_FALSE(insecure->audio.srtp);
  EXPECT_EQ(sdp::serialize(insecure->sdp).find("a=crypto"), std::string::npos);
  // off: a=crypto ignored; an RTP/SAVP offer refused
  auto off = answer_offer(policy(SrtpPolicy::kOff), parse(kAsteriskOffer), kB, true, 1);
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->audio.srtp);
  std::string savp = replace(kAsteriskOffer, "RTP/AVP", "RTP/SAVP");
  int status = 0;
  auto r = answer_offer(policy(SrtpPolicy::kOff), parse(savp), kB, true, 1, &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "srtp-disabled");
  EXPECT_EQ(status, 488);
}

TEST(OfferAnswer, CodecsAndDirection) {
  std::string g729 = replace(kAsteriskOffer, "m=audio 10000 RTP/AVP 0 8 101", "m=audio 10000 RTP/AVP 18");
  int status = 0;
  auto r = answer_offer(policy(SrtpPolicy::kOptional), parse(g729), kB, true, 1, &status);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "no-common-codec");
  EXPECT_EQ(status, 488);
  std::string hold = replace(kAsteriskOffer, "a=sendrecv", "a=sendonly");
  auto h = answer_offer(policy(SrtpPolicy::kOptional), parse(hold), kB, true, 1);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->audio.direction, sdp::Direction::kRecvOnly);
  EXPECT_NE(sdp::serialize(h->sdp).find("a=recvonly"), std::string::npos);
}

TEST(OfferAnswer, ProcessAnswerRefusesDowngrades) {
  MediaPolicy p = policy(SrtpPolicy::kMandatory);
  auto offer = make_offer(p, kA, true, 7);
  std::string plain_answer = "v=0\r\no=- 2 2 IN IP4 192.0.2.2\r\ns=-\r\nc=IN IP4 192.0.2.2\r\nt=0 0\r\n"
                             "m=audio 50000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  auto r = process_answer(p, *offer, parse(plain_answer));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "srtp-required");
  // a crypto answer with a tag we never offered
  std::string wrong = replace(plain_answer, "a=rtpmap:0 PCMU/8000\r\n",
                              "a=rtpmap:0 PCMU/8000\r\na=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n");
  EXPECT_EQ(process_answer(p, *offer, parse(wrong)).error().code, "sdp-crypto-bad-answer");
  std::string rejected = replace(plain_answer, "m=audio 50000", "m=audio 0");
  EXPECT_EQ(process_answer(p, *offer, parse(rejected)).error().code, "media-rejected");
}

TEST(OfferAnswerDtls, AnswersABrowserOfferAsActiveLiteAgent) {
  int status = 0;
  auto a = answer_offer(dtls_policy(KeyExchange::kAuto), parse(kBrowserOffer), dtls_side("127.0.0.1", 40000, 1), true, 7,
                        &status);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_TRUE(a->audio.dtls);
  EXPECT_TRUE(a->audio.dtls->we_are_client);  // actpass -> active (RFC 5763 5)
  EXPECT_EQ(a->audio.dtls->remote_fingerprint.bytes.size(), 32u);
  EXPECT_TRUE(a->audio.rtcp_mux);
  EXPECT_EQ(a->audio.remote_ice_ufrag, "Ab3d");
  EXPECT_FALSE(a->audio.srtp);
  EXPECT_EQ(a->audio.codec.name, "opus");  // the browser's first choice we share
  sdp::Session s = reparse(a->sdp);
  const auto& m = s.media().at(0);
  EXPECT_EQ(m.proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_TRUE(s.ice_lite());
  EXPECT_TRUE(m.rtcp_mux());
  EXPECT_EQ(m.mid().value_or(""), "0");
  ASSERT_NE(s.attribute("group"), nullptr);
  EXPECT_EQ(*m.setup(s).value(), sdp::Setup::kActive);
  EXPECT_EQ(m.fingerprint(s).value()->bytes, Bytes(32, 1));
  EXPECT_TRUE(m.cryptos().empty());
  ASSERT_EQ(m.candidates().size(), 1u);
  EXPECT_EQ(m.candidates()[0]->port, 40000);
  EXPECT_EQ(m.ice_ufrag(s).value().value_or(""), "ufBx");
}

TEST(OfferAnswerDtls, SdesOnlyAccountRefusesDtlsAndDtlsAccountRefusesSdes) {
  int status = 0;
  auto a = answer_offer(dtls_policy(KeyExchange::kSdes), parse(kBrowserOffer), dtls_side("127.0.0.1", 40000, 1), true, 7,
                        &status);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "dtls-not-enabled");
  EXPECT_EQ(status, 488);
  status = 0;
  a = answer_offer(dtls_policy(KeyExchange::kDtls), parse(kAsteriskOffer), dtls_side("127.0.0.1", 40000, 1), true, 7,
                   &status);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "dtls-required");
  EXPECT_EQ(status, 488);
  // no a=fingerprint in a DTLS profile offer
  std::string nofp = kBrowserOffer;
  nofp.erase(nofp.find("a=fingerprint"), nofp.find("a=setup") - nofp.find("a=fingerprint"));
  a = answer_offer(dtls_policy(KeyExchange::kDtls), parse(nofp), dtls_side("127.0.0.1", 40000, 1), true, 7, &status);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, "dtls-no-fingerprint");
}

TEST(OfferAnswerDtls, DtlsOfferAndAnswerRoundTrip) {
  const LocalMedia us = dtls_side("192.0.2.1", 40000, 1), them = dtls_side("192.0.2.2", 50000, 2);
  auto o = make_offer(dtls_policy(KeyExchange::kDtls), us, true, 1);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  sdp::Session offer = reparse(o->sdp);
  EXPECT_EQ(offer.media().at(0).proto, "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(*offer.media().at(0).setup(offer).value(), sdp::Setup::kActPass);
  EXPECT_TRUE(offer.media().at(0).cryptos().empty());  // dtls only: no SDES key, even over TLS
  auto a = answer_offer(dtls_policy(KeyExchange::kDtls), offer, them, true, 2);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_TRUE(a->audio.dtls->we_are_client);
  EXPECT_TRUE(a->audio.remote_ice_ufrag.empty());  // we are lite, they are lite: no checks
  auto n = process_answer(dtls_policy(KeyExchange::kDtls), *o, reparse(a->sdp));
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  ASSERT_TRUE(n->dtls);
  EXPECT_FALSE(n->dtls->we_are_client);  // they took active
  EXPECT_EQ(n->dtls->remote_fingerprint.bytes, Bytes(32, 2));
  EXPECT_TRUE(n->rtcp_mux);
}

TEST(OfferAnswerDtls, AutoOffersBothAndPrefersSdesOverTlsWhenAnswering) {
  const LocalMedia us = dtls_side("192.0.2.1", 40000, 1), them = dtls_side("192.0.2.2", 50000, 2);
  auto o = make_offer(dtls_policy(KeyExchange::kAuto), us, true, 1);
  ASSERT_TRUE(o.ok());
  sdp::Session offer = reparse(o->sdp);
  const auto& m = offer.media().at(0);
  EXPECT_EQ(m.proto, "RTP/SAVP");
  EXPECT_FALSE(m.cryptos().empty());
  EXPECT_TRUE(m.fingerprint(offer).value().has_value());
  auto a = answer_offer(dtls_policy(KeyExchange::kAuto), offer, them, true, 2);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->audio.srtp);
  EXPECT_FALSE(a->audio.dtls);
  // without TLS the SDES key cannot travel: under "optional" the offer is answered with DTLS
  // (opportunistic: encrypted, the fingerprint unauthenticated)
  const MediaPolicy optional = dtls_policy(KeyExchange::kAuto, SrtpPolicy::kOptional);
  auto o2 = make_offer(optional, us, false, 1);
  ASSERT_TRUE(o2.ok());
  EXPECT_TRUE(reparse(o2->sdp).media().at(0).cryptos().empty());
  auto a2 = answer_offer(optional, reparse(o2->sdp), them, false, 2);
  ASSERT_TRUE(a2.ok()) << a2.error().to_string();
  EXPECT_TRUE(a2->audio.dtls);
  auto n = process_answer(optional, *o2, reparse(a2->sdp));
  ASSERT_TRUE(n.ok()) << n.error().to_string();
  EXPECT_TRUE(n->dtls);
}

TEST(OfferAnswerDtls, MandatoryNeedsTlsForTheFingerprint) {
  const LocalMedia us = dtls_side("192.0.2.1", 40000, 1), them = dtls_side("192.0.2.2", 50000, 2);
  auto o = make_offer(dtls_policy(KeyExchange::kDtls), us, false, 1);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, "dtls-over-insecure-transport");
  int status = 0;
  auto a = answer_offer(dtls_policy(KeyExchange::kAuto), parse(kBrowserOffer), them, false, 2, &status);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(status, 488);
  // the lab override lets it through
  MediaPolicy lab = dtls_policy(KeyExchange::kDtls);
  lab.allow_sdes_over_insecure_transport = true;
  EXPECT_TRUE(make_offer(lab, us, false, 1).ok());
}

TEST(OfferAnswerDtls, AnswerWithActpassIsRefused) {
  const LocalMedia us = dtls_side("192.0.2.1", 40000, 1), them = dtls_side("192.0.2.2", 50000, 2);
  auto o = make_offer(dtls_policy(KeyExchange::kDtls), us, true, 1);
  auto a = answer_offer(dtls_policy(KeyExchange::kDtls), reparse(o->sdp), them, true, 2);
  std::string text = replace(sdp::serialize(a->sdp), "a=setup:active", "a=setup:actpass");
  auto n = process_answer(dtls_policy(KeyExchange::kDtls), *o, parse(text));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, "sdp-bad-setup");
}
