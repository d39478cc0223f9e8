// a=crypto, SDP Security Descriptions for media streams (RFC 4568).
#include <array>

#include "core/base64.h"
#include "core/text.h"
#include "sdp/attributes.h"
#include "sdp/detail.h"

namespace exphone::sdp {
namespace {

struct SuiteInfo {
  CryptoSuite suite;
  std::string_view name;
  std::size_t key_salt_len;  // master key + master salt, bytes
};

// RFC 4568 section 6.2 (AES_CM_128_*, F8_128_*), RFC 6188 section 7.1 (AES_192/256_CM_*),
// RFC 7714 section 12 (AEAD_AES_*_GCM: 128/256-bit key + 96-bit salt).
constexpr std::array<SuiteInfo, 9> kSuites = {{
    {CryptoSuite::kAesCm128HmacSha1_80, "AES_CM_128_HMAC_SHA1_80", 30},
    {CryptoSuite::kAesCm128HmacSha1_32, "AES_CM_128_HMAC_SHA1_32", 30},
    {CryptoSuite::kF8_128HmacSha1_80, "F8_128_HMAC_SHA1_80", 30},
    {CryptoSuite::kAes192CmHmacSha1_80, "AES_192_CM_HMAC_SHA1_80", 38},
    {CryptoSuite::kAes192CmHmacSha1_32, "AES_192_CM_HMAC_SHA1_32", 38},
    {CryptoSuite::kAes256CmHmacSha1_80, "AES_256_CM_HMAC_SHA1_80", 46},
    {CryptoSuite::kAes256CmHmacSha1_32, "AES_256_CM_HMAC_SHA1_32", 46},
    {CryptoSuite::kAeadAes128Gcm, "AEAD_AES_128_GCM", 28},
    {CryptoSuite::kAeadAes256Gcm, "AEAD_AES_256_GCM", 44},
}};

Error crypto_error(const char* code, std::string_view reason, std::string_view value,
                   std::string_view at) {
  // `at` is a view into `value`: report its position.
  std::size_t off = static_cast<std::size_t>(at.data() - value.data());
  return detail::value_error(code, "crypto", reason, value, off);
}

bool is_suite_char(char c) { return text::is_alnum(c) || c == '_'; }

// key-info for SRTP (RFC 4568 section 9.2): key-salt ["|" lifetime] ["|" mki]
Result<CryptoKeyParam> parse_key_param(std::string_view param, std::size_t expected_len,
                                       std::string_view value) {
  constexpr std::string_view kInline = "inline:";
  if (!text::istarts_with(param, kInline))
    return crypto_error("sdp-crypto-bad-key-method", "key parameter does not start with 'inline:'",
                        value, param);
  auto parts = detail::split(param.substr(kInline.size()), '|');
  if (parts.size() > 3)
    return crypto_error("sdp-crypto-bad-key-method", "too many '|' fields in key parameter", value, param);
  CryptoKeyParam kp;
  auto decoded = base64_decode(parts[0]);
  if (!decoded) return crypto_error("sdp-crypto-bad-base64", "key||salt is not valid base64", value, parts[0]);
  if (expected_len != 0 && decoded->size() != expected_len)
    return crypto_error("sdp-crypto-bad-key-length",
                        "key||salt is " + std::to_string(decoded->size()) + " bytes, suite needs " +
                            std::to_string(expected_len),
                        value, parts[0]);
  kp.key_salt = std::move(*decoded);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    auto colon = p.find(':');
    if (colon == std::string_view::npos) {
      // lifetime = ["2^"] 1*(DIGIT); it must come before the MKI and appear once.
      if (kp.lifetime || kp.mki)
        return crypto_error("sdp-crypto-bad-lifetime", "misplaced lifetime", value, p);
      std::optional<std::uint64_t> life;
      if (p.substr(0, 2) == "2^") {
        auto n = text::parse_uint(p.substr(2), 63);
        if (n) life = std::uint64_t{1} << *n;
      } else {
        life = text::parse_uint(p, UINT64_MAX);
      }
      if (!life || *life == 0)
        return crypto_error("sdp-crypto-bad-lifetime", "lifetime is not a decimal or 2^n", value, p);
      kp.lifetime = life;
    } else {
      // mki = mki-value ":" mki-length, length 1*3DIGIT in 1..128 bytes.
      if (kp.mki) return crypto_error("sdp-crypto-bad-mki", "more than one MKI", value, p);
      auto mval = text::parse_uint(p.substr(0, colon), UINT64_MAX);
      auto mlen = text::parse_uint(p.substr(colon + 1), 128);
      if (!mval || !mlen || *mlen == 0 || p.size() - colon - 1 > 3)
        return crypto_error("sdp-crypto-bad-mki", "MKI is not <value>:<length 1..128>", value, p);
      if (*mlen < 8 && *mval >= (std::uint64_t{1} << (8 * *mlen)))
        return crypto_error("sdp-crypto-bad-mki", "MKI value does not fit its length", value, p);
      kp.mki = CryptoMki{*mval, static_cast<std::uint8_t>(*mlen)};
    }
  }
  return kp;
}

}  // namespace

std::optional<CryptoSuite> crypto_suite_from_name(std::string_view name) {
  for (const auto& s : kSuites)
    if (s.name == name) return s.suite;
  return std::nullopt;
}

std::string_view crypto_suite_name(CryptoSuite suite) {
  for (const auto& s : kSuites)
    if (s.suite == suite) return s.name;
  return {};
}

std::size_t crypto_key_salt_length(CryptoSuite suite) {
  for (const auto& s : kSuites)
    if (s.suite == suite) return s.key_salt_len;
  return 0;
}

bool Crypto::has_session_param(std::string_view name) const {
  for (const auto& p : session_params) {
    std::string_view sv = p;
    auto eq = sv.find('=');
    if (sv.substr(0, eq) == name) return true;
  }
  return false;
}

// RFC 4568 section 9.1:
//   "a=crypto:" tag 1*WSP crypto-suite 1*WSP key-params *(1*WSP session-param)
Result<Crypto> parse_crypto(std::string_view value) {
  auto fields = detail::split_ws(value);
  if (fields.empty() || fields[0].size() > 9 || !text::parse_uint(fields[0]))
    return crypto_error("sdp-crypto-bad-tag", "tag is not 1 to 9 digits", value,
                        fields.empty() ? value : fields[0]);
  if (fields.size() < 2)
    return crypto_error("sdp-crypto-bad-suite", "missing crypto-suite", value, value.substr(value.size()));
  for (char c : fields[1])
    if (!is_suite_char(c))
      return crypto_error("sdp-crypto-bad-suite", "bad crypto-suite name", value, fields[1]);
  if (fields.size() < 3)
    return crypto_error("sdp-crypto-missing-key", "missing key parameters", value, value.substr(value.size()));

  Crypto c;
  c.tag = static_cast<std::uint32_t>(*text::parse_uint(fields[0]));
  c.suite_name = std::string(fields[1]);
  c.suite = crypto_suite_from_name(fields[1]).value_or(CryptoSuite::kUnknown);
  std::size_t expected = crypto_key_salt_length(c.suite);

  for (auto param : detail::split(fields[2], ';')) {
    auto kp = parse_key_param(param, expected, value);
    if (!kp) return kp.error();
    c.keys.push_back(std::move(*kp));
  }
  // RFC 4568 section 6.1: with more than one master key, each one must carry an MKI.
  if (c.keys.size() > 1) {
    for (const auto& k : c.keys)
      if (!k.mki)
        return crypto_error("sdp-crypto-bad-mki", "several keys but not all carry an MKI", value, fields[2]);
  }
  for (std::size_t i = 3; i < fields.size(); ++i) {
    for (char ch : fields[i]) {
      auto u = static_cast<unsigned char>(ch);
      if (u < 0x21 || u > 0x7e)
        return crypto_error("sdp-crypto-bad-session-param", "session parameter is not VCHAR", value, fields[i]);
    }
    c.session_params.emplace_back(fields[i]);
  }
  return c;
}

std::string to_string(const Crypto& c) {
  std::string s = std::to_string(c.tag) + " ";
  s += c.suite_name.empty() ? std::string(crypto_suite_name(c.suite)) : c.suite_name;
  s += " ";
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    const auto& k = c.keys[i];
    if (i) s += ";";
    s += "inline:" + base64_encode(k.key_salt);
    if (k.lifetime) s += "|" + std::to_string(*k.lifetime);
    if (k.mki) s += "|" + std::to_string(k.mki->value) + ":" + std::to_string(k.mki->length);
  }
  for (const auto& p : c.session_params) s += " " + p;
  return s;
}

}  // namespace exphone::sdp
