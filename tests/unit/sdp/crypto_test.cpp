#include <gtest/gtest.h>

#include <string>

#include "core/base64.h"
#include "sdp/attributes.h"

namespace sdp = exphone::sdp;
using sdp::CryptoSuite;

namespace {

std::string key_of(std::size_t n) {
  exphone::Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return exphone::base64_encode(b);
}

std::string crypto_error(const std::string& value) {
  auto r = sdp::parse_crypto(value);
  if (r.ok()) return "ok";
  return r.error().code;
}

}  // namespace

TEST(SdpCrypto, Rfc4568Example) {
  // RFC 4568 section 4 example (tag 1).
  auto r = sdp::parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->tag, 1u);
  EXPECT_TRUE(r->known_suite());
  EXPECT_EQ(r->suite, CryptoSuite::kAesCm128HmacSha1_80);
  EXPECT_EQ(r->suite_name, "AES_CM_128_HMAC_SHA1_80");
  ASSERT_EQ(r->keys.size(), 1u);
  EXPECT_EQ(r->keys[0].key_salt.size(), 30u);
  EXPECT_EQ(r->keys[0].lifetime, 1048576u);
  ASSERT_TRUE(r->keys[0].mki);
  EXPECT_EQ(r->keys[0].mki->value, 1u);
  EXPECT_EQ(r->keys[0].mki->length, 32u);
  EXPECT_TRUE(r->session_params.empty());
}

TEST(SdpCrypto, KeyLengthPerSuite) {
  struct Case {
    const char* suite;
    CryptoSuite id;
    std::size_t len;
  };
  const Case cases[] = {
      {"AES_CM_128_HMAC_SHA1_80", CryptoSuite::kAesCm128HmacSha1_80, 30},
      {"AES_CM_128_HMAC_SHA1_32", CryptoSuite::kAesCm128HmacSha1_32, 30},
      {"F8_128_HMAC_SHA1_80", CryptoSuite::kF8_128HmacSha1_80, 30},
      {"AES_192_CM_HMAC_SHA1_80", CryptoSuite::kAes192CmHmacSha1_80, 38},
      {"AES_192_CM_HMAC_SHA1_32", CryptoSuite::kAes192CmHmacSha1_32, 38},
      {"AES_256_CM_HMAC_SHA1_80", CryptoSuite::kAes256CmHmacSha1_80, 46},
      {"AES_256_CM_HMAC_SHA1_32", CryptoSuite::kAes256CmHmacSha1_32, 46},
      {"AEAD_AES_128_GCM", CryptoSuite::kAeadAes128Gcm, 28},
      {"AEAD_AES_256_GCM", CryptoSuite::kAeadAes256Gcm, 44},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.suite);
    EXPECT_EQ(sdp::crypto_key_salt_length(c.id), c.len);
    EXPECT_EQ(sdp::crypto_suite_name(c.id), c.suite);
    auto ok = sdp::parse_crypto(std::string("7 ") + c.suite + " inline:" + key_of(c.len));
    ASSERT_TRUE(ok.ok()) << ok.error().to_string();
    EXPECT_EQ(ok->suite, c.id);
    EXPECT_EQ(ok->keys[0].key_salt.size(), c.len);
    EXPECT_EQ(crypto_error(std::string("7 ") + c.suite + " inline:" + key_of(c.len - 1)), "sdp-crypto-bad-key-length");
    EXPECT_EQ(crypto_error(std::string("7 ") + c.suite + " inline:" + key_of(c.len + 2)), "sdp-crypto-bad-key-length");
  }
}

TEST(SdpCrypto, UnknownSuiteIsKeptAndFlagged) {
  auto r = sdp::parse_crypto("3 NULL_HMAC_SHA1_80 inline:" + key_of(17));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_FALSE(r->known_suite());
  EXPECT_EQ(r->suite, CryptoSuite::kUnknown);
  EXPECT_EQ(r->suite_name, "NULL_HMAC_SHA1_80");
  EXPECT_EQ(r->keys[0].key_salt.size(), 17u);  // no length rule for an unknown suite
  // Suite names are case-sensitive (RFC 4568 registry names).
  auto lower = sdp::parse_crypto("3 aes_cm_128_hmac_sha1_80 inline:" + key_of(30));
  ASSERT_TRUE(lower.ok());
  EXPECT_FALSE(lower->known_suite());
}

TEST(SdpCrypto, SessionParams) {
  auto r = sdp::parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + key_of(30) + " KDR=23 UNENCRYPTED_SRTCP  FEC_ORDER=FEC_SRTP");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->session_params, (std::vector<std::string>{"KDR=23", "UNENCRYPTED_SRTCP", "FEC_ORDER=FEC_SRTP"}));
  EXPECT_TRUE(r->has_session_param("UNENCRYPTED_SRTCP"));
  EXPECT_TRUE(r->has_session_param("KDR"));
  EXPECT_FALSE(r->has_session_param("UNENCRYPTED_SRTP"));
}

TEST(SdpCrypto, MultipleKeysWithMki) {
  auto r = sdp::parse_crypto("1 AES_CM_128_HMAC_SHA1_80 inline:" + key_of(30) + "|2^20|1:4;inline:" + key_of(30) +
                             "|2^20|2:4");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->keys.size(), 2u);
  EXPECT_EQ(r->keys[1].mki->value, 2u);
  // RFC 4568 6.1: several keys need MKIs.
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:" + key_of(30) + ";inline:" + key_of(30)),
            "sdp-crypto-bad-mki");
}

TEST(SdpCrypto, LifetimeAndMkiForms) {
  const std::string base = "1 AES_CM_128_HMAC_SHA1_80 inline:" + key_of(30);
  auto dec = sdp::parse_crypto(base + "|1000");
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(dec->keys[0].lifetime, 1000u);
  EXPECT_FALSE(dec->keys[0].mki);
  auto mki_only = sdp::parse_crypto(base + "|5:2");
  ASSERT_TRUE(mki_only.ok());
  EXPECT_FALSE(mki_only->keys[0].lifetime);
  EXPECT_EQ(mki_only->keys[0].mki->value, 5u);
  EXPECT_TRUE(sdp::parse_crypto(base + "|2^63").ok());

  EXPECT_EQ(crypto_error(base + "|2^64"), "sdp-crypto-bad-lifetime");
  EXPECT_EQ(crypto_error(base + "|2^"), "sdp-crypto-bad-lifetime");
  EXPECT_EQ(crypto_error(base + "|0"), "sdp-crypto-bad-lifetime");
  EXPECT_EQ(crypto_error(base + "|forever"), "sdp-crypto-bad-lifetime");
  EXPECT_EQ(crypto_error(base + "|"), "sdp-crypto-bad-lifetime");
  EXPECT_EQ(crypto_error(base + "|1:4|2^20"), "sdp-crypto-bad-lifetime");  // lifetime after MKI
  EXPECT_EQ(crypto_error(base + "|1:0"), "sdp-crypto-bad-mki");
  EXPECT_EQ(crypto_error(base + "|1:129"), "sdp-crypto-bad-mki");
  EXPECT_EQ(crypto_error(base + "|256:1"), "sdp-crypto-bad-mki");  // does not fit one byte
  EXPECT_EQ(crypto_error(base + "|x:4"), "sdp-crypto-bad-mki");
  EXPECT_EQ(crypto_error(base + "|1:0004"), "sdp-crypto-bad-mki");
  EXPECT_EQ(crypto_error(base + "|1:4|2:4"), "sdp-crypto-bad-mki");
  EXPECT_EQ(crypto_error(base + "|2^20|1:4|x"), "sdp-crypto-bad-key-method");
}

TEST(SdpCrypto, Malformed) {
  const std::string key = key_of(30);
  EXPECT_EQ(crypto_error(""), "sdp-crypto-bad-tag");
  EXPECT_EQ(crypto_error("x AES_CM_128_HMAC_SHA1_80 inline:" + key), "sdp-crypto-bad-tag");
  EXPECT_EQ(crypto_error("-1 AES_CM_128_HMAC_SHA1_80 inline:" + key), "sdp-crypto-bad-tag");
  EXPECT_EQ(crypto_error("1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key), "sdp-crypto-bad-tag");
  EXPECT_EQ(crypto_error("1"), "sdp-crypto-bad-suite");
  EXPECT_EQ(crypto_error("1 AES-CM inline:" + key), "sdp-crypto-bad-suite");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80"), "sdp-crypto-missing-key");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 " + key), "sdp-crypto-bad-key-method");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 uri:http://x/" + key), "sdp-crypto-bad-key-method");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:"), "sdp-crypto-bad-base64");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:not*base64*at*all!!"), "sdp-crypto-bad-base64");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:" + key.substr(1)), "sdp-crypto-bad-base64");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:" + key + ";"), "sdp-crypto-bad-key-method");
  EXPECT_EQ(crypto_error("1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " \x7f"), "sdp-crypto-bad-session-param");
}

TEST(SdpCrypto, ErrorOffsetPointsIntoValue) {
  const std::string v = "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@";
  auto r = sdp::parse_crypto(v);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "sdp-crypto-bad-base64");
  EXPECT_EQ(r.error().offset, v.find("@@@@"));
}

TEST(SdpCrypto, ToStringRoundTrip) {
  auto r = sdp::parse_crypto("9 AES_256_CM_HMAC_SHA1_32 inline:" + key_of(46) + "|2^31|7:2 UNENCRYPTED_SRTCP");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  std::string s = sdp::to_string(*r);
  auto again = sdp::parse_crypto(s);
  ASSERT_TRUE(again.ok()) << s;
  EXPECT_EQ(*again, *r);
  // A Crypto built in code (as the media layer does for an offer).
  sdp::Crypto c;
  c.tag = 1;
  c.suite = CryptoSuite::kAeadAes128Gcm;
  c.keys.push_back({exphone::Bytes(28, 0xab), std::nullopt, std::nullopt});
  auto built = sdp::parse_crypto(sdp::to_string(c));
  ASSERT_TRUE(built.ok()) << sdp::to_string(c);
  EXPECT_EQ(built->suite_name, "AEAD_AES_128_GCM");
  EXPECT_EQ(built->keys, c.keys);
}
