// SRTP/SRTCP sessions (RFC 3711; AEAD-GCM per RFC 7714) on top of libsrtp2. No cryptography is
// implemented here: libsrtp2 encrypts, authenticates and checks replays; OpenSSL RAND_bytes
// generates master keys.
//
// One SrtpSession is one direction of one media stream's key: an outbound session protects
// everything we send (libsrtp ssrc_any_outbound), an inbound session unprotects everything the
// peer sends under its key (ssrc_any_inbound). A call with SDES keying (RFC 4568) therefore has two
// sessions, one per a=crypto key. Each handles RTP and, with the same master key, RTCP (SRTCP,
// RFC 3711 3.4), which is what rtcp-mux (RFC 5761) needs.
//
// The AES and HMAC-SHA1 primitives under libsrtp2 are OpenSSL's (srtp_crypto_openssl.h), whatever
// crypto library libsrtp2 itself was built with.
//
// Suites and what the installed libsrtp2 supports. The enum names are those of
// exphone::sdp::CryptoSuite (src/sdp/attributes.h); media does not depend on sdp, so the caller
// maps between the two (F8_128_HMAC_SHA1_80 has no libsrtp2 implementation and no SrtpSuite).
// suite_supported() answers at runtime by creating a session. On the build host (Debian 12,
// libsrtp2 2.5.0-3, built against NSS rather than OpenSSL) every suite below was found supported,
// including the AES-192/256 counter-mode and AEAD-GCM suites that need an external crypto
// backend; a libsrtp2 built with its internal crypto only would report the AES-192/256 and GCM
// suites as unsupported.
//
//   suite                       key+salt  RTP tag  SRTCP tag (+4-byte E||index)
//   AES_CM_128_HMAC_SHA1_80     16+14     10       10    RFC 4568 6.2.1, RFC 3711 5
//   AES_CM_128_HMAC_SHA1_32     16+14      4       10    RFC 4568 6.2.2 (SRTCP keeps 80 bits)
//   AES_192_CM_HMAC_SHA1_80/32  24+14     10/4     10    RFC 6188 7.1
//   AES_256_CM_HMAC_SHA1_80/32  32+14     10/4     10    RFC 6188 7.1
//   AEAD_AES_128_GCM            16+12     16       16    RFC 7714 12 (16-octet tag, 12-octet salt)
//   AEAD_AES_256_GCM            32+12     16       16    RFC 7714 12
//
// Replay protection (RFC 3711 3.3.2) is always on: the RTP window is window_size packets (libsrtp
// accepts 64..32767); SRTCP uses libsrtp's fixed 128-entry window. Retransmitting a sequence
// number on an outbound session is refused (allow_repeat_tx off).
//
// Key material is never logged or formatted; SrtpKey wipes its bytes on destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct srtp_ctx_t_;  // libsrtp2's opaque session (srtp_t is srtp_ctx_t_*)

namespace exphone::media {

enum class SrtpSuite {
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kAes192CmHmacSha1_80,
  kAes192CmHmacSha1_32,
  kAes256CmHmacSha1_80,
  kAes256CmHmacSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

inline constexpr SrtpSuite kAllSrtpSuites[] = {
    SrtpSuite::kAesCm128HmacSha1_80, SrtpSuite::kAesCm128HmacSha1_32,
    SrtpSuite::kAes192CmHmacSha1_80, SrtpSuite::kAes192CmHmacSha1_32,
    SrtpSuite::kAes256CmHmacSha1_80, SrtpSuite::kAes256CmHmacSha1_32,
    SrtpSuite::kAeadAes128Gcm,       SrtpSuite::kAeadAes256Gcm,
};

std::string_view srtp_suite_name(SrtpSuite s);         // the RFC 4568/6188/7714 name
// Exact, case-sensitive; the same spelling as sdp::crypto_suite_name, so a caller can map an
// a=crypto suite by name. nullopt for names libsrtp2 has no suite for (e.g. F8_128_HMAC_SHA1_80).
std::optional<SrtpSuite> srtp_suite_from_name(std::string_view name);
std::size_t srtp_master_key_length(SrtpSuite s);       // bytes
std::size_t srtp_master_salt_length(SrtpSuite s);      // bytes: 14 (AES-CM) or 12 (GCM)
std::size_t srtp_key_salt_length(SrtpSuite s);         // key + salt
std::size_t srtp_tag_length(SrtpSuite s);              // bytes added to an RTP packet
std::size_t srtcp_overhead(SrtpSuite s);               // bytes added to an RTCP packet (tag + 4)

// Free space protect()/protect_rtcp() need after the packet in the caller's buffer: libsrtp2
// documents that it may write SRTP_MAX_TRAILER_LEN (tag + MKI, 144) bytes past the RTP packet, and
// 4 more for SRTCP's E-flag/index word. The packet only grows by srtp_tag_length/srtcp_overhead.
inline constexpr std::size_t kSrtpTrailerSpace = 144 + 4;

// A master key and master salt, concatenated (key||salt) as in the a=crypto inline key
// (RFC 4568 6.1) and libsrtp's policy key.
struct SrtpKey {
  SrtpSuite suite = SrtpSuite::kAesCm128HmacSha1_80;
  std::vector<std::uint8_t> master_key_salt;

  // A fresh random key and salt from the CSPRNG (OpenSSL RAND_bytes). srtp-rng-failed if the
  // generator cannot produce bytes.
  static Result<SrtpKey> generate(SrtpSuite suite);
  // Checks the length for the suite (srtp-bad-key-length).
  static Result<SrtpKey> from_bytes(SrtpSuite suite, std::span<const std::uint8_t> key_salt);

  ~SrtpKey();  // wipes master_key_salt (OPENSSL_cleanse)
};

enum class Direction { kOutbound, kInbound };

// Not thread-safe: a session belongs to the media loop's thread (DESIGN.md: one event loop).
class SrtpSession {
 public:
  struct Counters {
    std::uint64_t protected_packets = 0;    // RTP and RTCP protected successfully
    std::uint64_t unprotected_packets = 0;  // RTP and RTCP that authenticated and decrypted
    std::uint64_t auth_failures = 0;        // srtp_err_status_auth_fail
    std::uint64_t replays_dropped = 0;      // srtp_err_status_replay_fail / replay_old
    std::uint64_t other_errors = 0;         // malformed packets, buffer too small, libsrtp errors
  };

  static constexpr std::size_t kDefaultReplayWindow = 1024;

  // Errors: srtp-init-failed, srtp-bad-key-length, srtp-bad-window (outside 64..32767),
  // srtp-unsupported-suite (the installed libsrtp2 cannot do it), srtp-create-failed.
  static Result<SrtpSession> create(const SrtpKey& key, Direction direction,
                                    std::size_t window_size = kDefaultReplayWindow);

  // Whether the installed libsrtp2 can create a session for the suite (probed once, cached).
  static bool suite_supported(SrtpSuite suite);

  // Who does the AES and HMAC work under libsrtp2: "OpenSSL" when every primitive passed its
  // self-test as an OpenSSL adapter (srtp_crypto_openssl.h), "libsrtp2's own" when none did.
  static std::string crypto_backend();

  SrtpSession(SrtpSession&& other) noexcept;
  SrtpSession& operator=(SrtpSession&& other) noexcept;
  SrtpSession(const SrtpSession&) = delete;
  SrtpSession& operator=(const SrtpSession&) = delete;
  ~SrtpSession();

  // Protect an RTP packet in place (RFC 3711 3.3); the vector grows by srtp_tag_length().
  // Errors: srtp-wrong-direction (inbound session), srtp-bad-packet (not an RTP header),
  // srtp-replay (sequence number already sent), srtp-protect-failed.
  Status protect(std::vector<std::uint8_t>& rtp);
  // Zero-allocation form for a fixed buffer: buf holds len bytes of RTP and has room for
  // capacity bytes; capacity must be at least len + kSrtpTrailerSpace (srtp-buffer-too-small).
  // On success len is the SRTP packet length.
  Status protect(std::uint8_t* buf, std::size_t& len, std::size_t capacity);

  // Verify and decrypt an SRTP packet in place (RFC 3711 3.3); the vector shrinks to the RTP
  // packet. Errors: srtp-auth-failed, srtp-replay, srtp-bad-packet, srtp-wrong-direction. On
  // error the buffer contents are unspecified and the packet must be dropped. The padding count
  // is only readable after decryption: parse the result with parse_rtp before using it.
  Status unprotect(std::vector<std::uint8_t>& srtp);
  Status unprotect(std::uint8_t* buf, std::size_t& len);

  // SRTCP (RFC 3711 3.4): the packet grows by srtcp_overhead() (E-flag + 31-bit index + tag).
  Status protect_rtcp(std::vector<std::uint8_t>& rtcp);
  Status protect_rtcp(std::uint8_t* buf, std::size_t& len, std::size_t capacity);
  Status unprotect_rtcp(std::vector<std::uint8_t>& srtcp);
  Status unprotect_rtcp(std::uint8_t* buf, std::size_t& len);

  const Counters& counters() const { return counters_; }
  SrtpSuite suite() const { return suite_; }
  Direction direction() const { return direction_; }

 private:
  SrtpSession(srtp_ctx_t_* ctx, SrtpSuite suite, Direction direction)
      : ctx_(ctx), suite_(suite), direction_(direction) {}
  Status fail(int libsrtp_status, bool protecting, bool rtcp);

  srtp_ctx_t_* ctx_ = nullptr;
  SrtpSuite suite_;
  Direction direction_;
  Counters counters_;
};

}  // namespace exphone::media
