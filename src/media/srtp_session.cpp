#include "media/srtp_session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>

#include <array>
#include <climits>
#include <cstring>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>

#include "media/rtp.h"
#include "media/srtp_crypto_openssl.h"

namespace exphone::media {

static_assert(kSrtpTrailerSpace == SRTP_MAX_TRAILER_LEN + 4,
              "kSrtpTrailerSpace must follow libsrtp2's SRTP_MAX_TRAILER_LEN");
static_assert(std::is_same_v<srtp_t, srtp_ctx_t_*>, "srtp_t is expected to be srtp_ctx_t_*");

namespace {

struct SuiteInfo {
  std::string_view name;
  std::size_t key;
  std::size_t salt;
  std::size_t rtp_tag;
  std::size_t rtcp_tag;
};

const SuiteInfo& info(SrtpSuite s) {
  // Lengths: RFC 4568 6.2, RFC 6188 7.1, RFC 7714 12.
  static constexpr SuiteInfo kAesCm128_80{"AES_CM_128_HMAC_SHA1_80", 16, 14, 10, 10};
  static constexpr SuiteInfo kAesCm128_32{"AES_CM_128_HMAC_SHA1_32", 16, 14, 4, 10};
  static constexpr SuiteInfo kAes192_80{"AES_192_CM_HMAC_SHA1_80", 24, 14, 10, 10};
  static constexpr SuiteInfo kAes192_32{"AES_192_CM_HMAC_SHA1_32", 24, 14, 4, 10};
  static constexpr SuiteInfo kAes256_80{"AES_256_CM_HMAC_SHA1_80", 32, 14, 10, 10};
  static constexpr SuiteInfo kAes256_32{"AES_256_CM_HMAC_SHA1_32", 32, 14, 4, 10};
  static constexpr SuiteInfo kGcm128{"AEAD_AES_128_GCM", 16, 12, 16, 16};
  static constexpr SuiteInfo kGcm256{"AEAD_AES_256_GCM", 32, 12, 16, 16};
  switch (s) {
    case SrtpSuite::kAesCm128HmacSha1_80: return kAesCm128_80;
    case SrtpSuite::kAesCm128HmacSha1_32: return kAesCm128_32;
    case SrtpSuite::kAes192CmHmacSha1_80: return kAes192_80;
    case SrtpSuite::kAes192CmHmacSha1_32: return kAes192_32;
    case SrtpSuite::kAes256CmHmacSha1_80: return kAes256_80;
    case SrtpSuite::kAes256CmHmacSha1_32: return kAes256_32;
    case SrtpSuite::kAeadAes128Gcm: return kGcm128;
    case SrtpSuite::kAeadAes256Gcm: return kGcm256;
  }
  return kAesCm128_80;  // unreachable for valid enum values
}

std::size_t suite_index(SrtpSuite s) { return static_cast<std::size_t>(s); }
constexpr std::size_t kSuiteCount = std::size(kAllSrtpSuites);

// libsrtp policies per suite. The _32 suites keep an 80-bit tag for SRTCP (RFC 4568 6.2.2,
// RFC 3711 5.2; libsrtp's documentation of srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32 says the
// same). GCM uses the 16-octet tag (RFC 7714 12); the 8-octet variants are not offered in SDES.
void set_policies(SrtpSuite s, srtp_policy_t& p) {
  switch (s) {
    case SrtpSuite::kAesCm128HmacSha1_80:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAesCm128HmacSha1_32:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAes192CmHmacSha1_80:
      srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&p.rtp);
      srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAes192CmHmacSha1_32:
      srtp_crypto_policy_set_aes_cm_192_hmac_sha1_32(&p.rtp);
      srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAes256CmHmacSha1_80:
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p.rtp);
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAes256CmHmacSha1_32:
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(&p.rtp);
      srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(&p.rtcp);
      return;
    case SrtpSuite::kAeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
      return;
    case SrtpSuite::kAeadAes256Gcm:
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtp);
      srtp_crypto_policy_set_aes_gcm_256_16_auth(&p.rtcp);
      return;
  }
}

int openssl_primitives = 0;

// srtp_init() once per process, then OpenSSL's primitives in place of the ones libsrtp2 was built
// with (srtp_crypto_openssl.h). libsrtp2 keeps its crypto kernel for the life of the process;
// srtp_shutdown() is never called because sessions may outlive any owner we could pick.
srtp_err_status_t init_libsrtp() {
  static std::once_flag once;
  static srtp_err_status_t status = srtp_err_status_ok;
  std::call_once(once, [] {
    status = srtp_init();
    if (status == srtp_err_status_ok) openssl_primitives = install_openssl_srtp_crypto();
  });
  return status;
}

// Creates the libsrtp session; the policy's copy of the key is wiped before returning. libsrtp
// derives the session keys (RFC 3711 4.3) during srtp_create and keeps only those.
srtp_err_status_t create_ctx(SrtpSuite suite, std::span<const std::uint8_t> key_salt,
                             Direction direction, std::size_t window, srtp_t* out) {
  std::array<unsigned char, SRTP_MAX_KEY_LEN> key{};
  std::memcpy(key.data(), key_salt.data(), key_salt.size());
  srtp_policy_t policy;
  std::memset(&policy, 0, sizeof(policy));
  set_policies(suite, policy);
  policy.ssrc.type = direction == Direction::kOutbound ? ssrc_any_outbound : ssrc_any_inbound;
  policy.key = key.data();
  policy.window_size = window;
  policy.allow_repeat_tx = 0;
  policy.next = nullptr;
  srtp_err_status_t st = srtp_create(out, &policy);
  OPENSSL_cleanse(key.data(), key.size());
  return st;
}

std::string status_text(int st) {
  switch (st) {
    case srtp_err_status_fail: return "unspecified failure";
    case srtp_err_status_bad_param: return "bad parameter";
    case srtp_err_status_alloc_fail: return "allocation failure";
    case srtp_err_status_init_fail: return "initialization failure";
    case srtp_err_status_auth_fail: return "authentication failure";
    case srtp_err_status_cipher_fail: return "cipher failure";
    case srtp_err_status_replay_fail: return "replayed packet index";
    case srtp_err_status_replay_old: return "packet index older than the replay window";
    case srtp_err_status_no_ctx: return "no stream context";
    case srtp_err_status_key_expired: return "key expired (packet index limit reached)";
    case srtp_err_status_parse_err: return "malformed packet";
    case srtp_err_status_cant_check:
      return "cannot check the packet (SRTCP E flag contradicts the policy: unencrypted SRTCP)";
    case srtp_err_status_bad_mki: return "bad MKI";
    default: return "libsrtp2 status " + std::to_string(st);
  }
}

}  // namespace

std::string_view srtp_suite_name(SrtpSuite s) { return info(s).name; }

std::optional<SrtpSuite> srtp_suite_from_name(std::string_view name) {
  for (SrtpSuite s : kAllSrtpSuites) {
    if (info(s).name == name) return s;
  }
  return std::nullopt;
}
std::size_t srtp_master_key_length(SrtpSuite s) { return info(s).key; }
std::size_t srtp_master_salt_length(SrtpSuite s) { return info(s).salt; }
std::size_t srtp_key_salt_length(SrtpSuite s) { return info(s).key + info(s).salt; }
std::size_t srtp_tag_length(SrtpSuite s) { return info(s).rtp_tag; }
std::size_t srtcp_overhead(SrtpSuite s) { return info(s).rtcp_tag + 4; }

// ---- SrtpKey ---------------------------------------------------------------------------------

SrtpKey::~SrtpKey() {
  if (!master_key_salt.empty()) OPENSSL_cleanse(master_key_salt.data(), master_key_salt.size());
}

Result<SrtpKey> SrtpKey::generate(SrtpSuite suite) {
  SrtpKey k;
  k.suite = suite;
  k.master_key_salt.resize(srtp_key_salt_length(suite));
  if (RAND_bytes(k.master_key_salt.data(), static_cast<int>(k.master_key_salt.size())) != 1) {
    return make_error("srtp-rng-failed", "the system random generator produced no key");
  }
  return k;
}

Result<SrtpKey> SrtpKey::from_bytes(SrtpSuite suite, std::span<const std::uint8_t> key_salt) {
  if (key_salt.size() != srtp_key_salt_length(suite)) {
    return make_error("srtp-bad-key-length",
                      std::string(srtp_suite_name(suite)) + " needs " +
                          std::to_string(srtp_key_salt_length(suite)) +
                          " bytes of key and salt, got " + std::to_string(key_salt.size()));
  }
  SrtpKey k;
  k.suite = suite;
  k.master_key_salt.assign(key_salt.begin(), key_salt.end());
  return k;
}

// ---- SrtpSession -----------------------------------------------------------------------------

std::string SrtpSession::crypto_backend() {
  if (init_libsrtp() != srtp_err_status_ok) return "none (srtp_init failed)";
  if (openssl_primitives == kOpensslSrtpPrimitives) return "OpenSSL";
  if (openssl_primitives == 0) return "libsrtp2's own";
  return "OpenSSL for " + std::to_string(openssl_primitives) + " of " + std::to_string(kOpensslSrtpPrimitives) +
         " primitives, libsrtp2's own for the rest";
}

bool SrtpSession::suite_supported(SrtpSuite suite) {
  static std::once_flag once;
  static std::array<bool, kSuiteCount> supported{};
  std::call_once(once, [] {
    if (init_libsrtp() != srtp_err_status_ok) return;
    for (SrtpSuite s : kAllSrtpSuites) {
      // A throwaway session with a fixed (non-secret) key: creation fails with bad_param when the
      // cipher or auth type is not compiled into libsrtp2 (e.g. GCM without OpenSSL/NSS).
      std::array<std::uint8_t, SRTP_MAX_KEY_LEN> probe_key{};
      probe_key.fill(0x5a);
      srtp_t ctx = nullptr;
      if (create_ctx(s, std::span(probe_key).first(srtp_key_salt_length(s)), Direction::kOutbound,
                     kDefaultReplayWindow, &ctx) == srtp_err_status_ok) {
        supported[suite_index(s)] = true;
        srtp_dealloc(ctx);
      }
    }
  });
  const std::size_t i = suite_index(suite);
  return i < kSuiteCount && supported[i];
}

Result<SrtpSession> SrtpSession::create(const SrtpKey& key, Direction direction,
                                        std::size_t window_size) {
  if (srtp_err_status_t st = init_libsrtp(); st != srtp_err_status_ok) {
    return make_error("srtp-init-failed", "srtp_init: " + status_text(st));
  }
  if (suite_index(key.suite) >= kSuiteCount) {
    return make_error("srtp-unsupported-suite", "unknown SRTP suite");
  }
  if (key.master_key_salt.size() != srtp_key_salt_length(key.suite)) {
    return make_error("srtp-bad-key-length",
                      std::string(srtp_suite_name(key.suite)) + " needs " +
                          std::to_string(srtp_key_salt_length(key.suite)) +
                          " bytes of key and salt, got " +
                          std::to_string(key.master_key_salt.size()));
  }
  // libsrtp2's replay database (srtp_rdbx_init) takes 64 <= window < 2^15.
  if (window_size < 64 || window_size >= 0x8000) {
    return make_error("srtp-bad-window", "replay window of " + std::to_string(window_size) +
                                             " packets, libsrtp2 accepts 64..32767");
  }
  if (!suite_supported(key.suite)) {
    return make_error("srtp-unsupported-suite", std::string(srtp_suite_name(key.suite)) +
                                                    " is not supported by the installed libsrtp2");
  }
  srtp_t ctx = nullptr;
  if (srtp_err_status_t st = create_ctx(key.suite, key.master_key_salt, direction, window_size, &ctx);
      st != srtp_err_status_ok) {
    return make_error("srtp-create-failed", "srtp_create: " + status_text(st));
  }
  return SrtpSession(ctx, key.suite, direction);
}

SrtpSession::SrtpSession(SrtpSession&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)),
      suite_(other.suite_),
      direction_(other.direction_),
      counters_(other.counters_) {}

SrtpSession& SrtpSession::operator=(SrtpSession&& other) noexcept {
  if (this != &other) {
    if (ctx_) srtp_dealloc(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
    suite_ = other.suite_;
    direction_ = other.direction_;
    counters_ = other.counters_;
  }
  return *this;
}

SrtpSession::~SrtpSession() {
  if (ctx_) srtp_dealloc(ctx_);
}

Status SrtpSession::fail(int st, bool protecting, bool rtcp) {
  const char* what = rtcp ? (protecting ? "srtp_protect_rtcp" : "srtp_unprotect_rtcp")
                          : (protecting ? "srtp_protect" : "srtp_unprotect");
  switch (st) {
    case srtp_err_status_auth_fail:
      ++counters_.auth_failures;
      return make_error("srtp-auth-failed", std::string(what) + ": authentication tag mismatch");
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      ++counters_.replays_dropped;
      return make_error("srtp-replay", std::string(what) + ": " + status_text(st));
    default:
      ++counters_.other_errors;
      return make_error(protecting ? "srtp-protect-failed" : "srtp-bad-packet",
                        std::string(what) + ": " + status_text(st));
  }
}

namespace {

Error local_error(SrtpSession::Counters& c, std::string code, std::string message) {
  ++c.other_errors;
  return make_error(std::move(code), std::move(message));
}

}  // namespace

Status SrtpSession::protect(std::uint8_t* buf, std::size_t& len, std::size_t capacity) {
  if (!ctx_) return local_error(counters_, "srtp-no-session", "moved-from SRTP session");
  if (direction_ != Direction::kOutbound) {
    return local_error(counters_, "srtp-wrong-direction", "protect on an inbound SRTP session");
  }
  if (auto hs = rtp_header_size({buf, len}); !hs) {
    return local_error(counters_, "srtp-bad-packet", "not an RTP packet: " + hs.error().to_string());
  }
  if (capacity < len || capacity - len < kSrtpTrailerSpace || capacity > INT_MAX) {
    return local_error(counters_, "srtp-buffer-too-small",
                       "SRTP needs " + std::to_string(kSrtpTrailerSpace) +
                           " bytes of room after the RTP packet");
  }
  int n = static_cast<int>(len);
  // RFC 3711 3.3: encrypt the payload with the keystream for this packet index, append the tag.
  srtp_err_status_t st = srtp_protect(ctx_, buf, &n);
  if (st != srtp_err_status_ok) return fail(st, true, false);
  len = static_cast<std::size_t>(n);
  ++counters_.protected_packets;
  return Ok{};
}

Status SrtpSession::protect(std::vector<std::uint8_t>& rtp) {
  std::size_t len = rtp.size();
  rtp.resize(len + kSrtpTrailerSpace);
  Status st = protect(rtp.data(), len, rtp.size());
  rtp.resize(st.ok() ? len : rtp.size() - kSrtpTrailerSpace);
  return st;
}

Status SrtpSession::unprotect(std::uint8_t* buf, std::size_t& len) {
  if (!ctx_) return local_error(counters_, "srtp-no-session", "moved-from SRTP session");
  if (direction_ != Direction::kInbound) {
    return local_error(counters_, "srtp-wrong-direction", "unprotect on an outbound SRTP session");
  }
  // The header is in the clear (RFC 3711 3.1); check it and that a whole tag follows it before
  // handing the bytes to libsrtp2.
  auto hs = rtp_header_size({buf, len});
  if (!hs) {
    return local_error(counters_, "srtp-bad-packet", "not an SRTP packet: " + hs.error().to_string());
  }
  if (len - *hs < srtp_tag_length(suite_) || len > INT_MAX) {
    return local_error(counters_, "srtp-bad-packet", "SRTP packet too short for its tag");
  }
  int n = static_cast<int>(len);
  srtp_err_status_t st = srtp_unprotect(ctx_, buf, &n);
  if (st != srtp_err_status_ok) return fail(st, false, false);
  len = static_cast<std::size_t>(n);
  ++counters_.unprotected_packets;
  return Ok{};
}

Status SrtpSession::unprotect(std::vector<std::uint8_t>& srtp) {
  std::size_t len = srtp.size();
  Status st = unprotect(srtp.data(), len);
  if (st.ok()) srtp.resize(len);
  return st;
}

// RTCP (RFC 3550 6.4.1): V=2 and at least the 8 bytes of header + sender SSRC, which SRTCP leaves
// in the clear (RFC 3711 3.4).
static bool plausible_rtcp(const std::uint8_t* buf, std::size_t len) {
  return len >= 8 && (buf[0] >> 6) == kRtpVersion;
}

Status SrtpSession::protect_rtcp(std::uint8_t* buf, std::size_t& len, std::size_t capacity) {
  if (!ctx_) return local_error(counters_, "srtp-no-session", "moved-from SRTP session");
  if (direction_ != Direction::kOutbound) {
    return local_error(counters_, "srtp-wrong-direction",
                       "protect_rtcp on an inbound SRTP session");
  }
  if (!plausible_rtcp(buf, len)) {
    return local_error(counters_, "srtp-bad-packet", "not an RTCP packet");
  }
  if (capacity < len || capacity - len < kSrtpTrailerSpace || capacity > INT_MAX) {
    return local_error(counters_, "srtp-buffer-too-small",
                       "SRTCP needs " + std::to_string(kSrtpTrailerSpace) +
                           " bytes of room after the RTCP packet");
  }
  int n = static_cast<int>(len);
  srtp_err_status_t st = srtp_protect_rtcp(ctx_, buf, &n);
  if (st != srtp_err_status_ok) return fail(st, true, true);
  len = static_cast<std::size_t>(n);
  ++counters_.protected_packets;
  return Ok{};
}

Status SrtpSession::protect_rtcp(std::vector<std::uint8_t>& rtcp) {
  std::size_t len = rtcp.size();
  rtcp.resize(len + kSrtpTrailerSpace);
  Status st = protect_rtcp(rtcp.data(), len, rtcp.size());
  rtcp.resize(st.ok() ? len : rtcp.size() - kSrtpTrailerSpace);
  return st;
}

Status SrtpSession::unprotect_rtcp(std::uint8_t* buf, std::size_t& len) {
  if (!ctx_) return local_error(counters_, "srtp-no-session", "moved-from SRTP session");
  if (direction_ != Direction::kInbound) {
    return local_error(counters_, "srtp-wrong-direction",
                       "unprotect_rtcp on an outbound SRTP session");
  }
  // RFC 3711 3.4: header and sender SSRC, encrypted part, E-flag + SRTCP index, tag.
  if (!plausible_rtcp(buf, len) || len - 8 < srtcp_overhead(suite_) || len > INT_MAX) {
    return local_error(counters_, "srtp-bad-packet", "not an SRTCP packet");
  }
  int n = static_cast<int>(len);
  srtp_err_status_t st = srtp_unprotect_rtcp(ctx_, buf, &n);
  if (st != srtp_err_status_ok) return fail(st, false, true);
  len = static_cast<std::size_t>(n);
  ++counters_.unprotected_packets;
  return Ok{};
}

Status SrtpSession::unprotect_rtcp(std::vector<std::uint8_t>& srtcp) {
  std::size_t len = srtcp.size();
  Status st = unprotect_rtcp(srtcp.data(), len);
  if (st.ok()) srtcp.resize(len);
  return st;
}

}  // namespace exphone::media
