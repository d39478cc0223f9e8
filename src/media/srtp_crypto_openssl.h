// libsrtp2's ciphers and authenticator backed by OpenSSL (issue "Performance", measurement 3).
//
// libsrtp2 does SRTP itself (key derivation, RFC 3711 4.3; packet layout; replay database, 3.3.2)
// and calls a "crypto kernel" for the primitives: AES in counter mode (RFC 3711 4.1.1, RFC 6188),
// AES-GCM (RFC 7714) and HMAC-SHA1 (RFC 3711 4.2.1). Debian builds that kernel on NSS, which costs
// several microseconds a packet in PKCS #11 session and context handling. libsrtp2's public API
// lets a program replace a primitive by id (srtp_replace_cipher_type / srtp_replace_auth_type in
// <srtp2/cipher.h> and <srtp2/auth.h>); this file registers thin adapters over OpenSSL 3's EVP
// API, the same calls libsrtp2's own OpenSSL build makes. No cryptography is implemented here.
//
// Safety: before libsrtp2 accepts a replacement it runs its self-test on it, with the known-answer
// vectors given here (RFC 3711 B.2, RFC 6188 7, the GCM specification's test cases 4 and 16,
// RFC 2202 test case 1) and with the vectors of the implementation being replaced, then random
// encrypt/decrypt round trips. A primitive that fails keeps libsrtp2's own implementation.
#pragma once

namespace exphone::media {

// The number of primitives the OpenSSL adapters now serve, out of kOpensslSrtpPrimitives: AES-ICM
// 128/192/256, AES-GCM 128/256 and HMAC-SHA1. Call once, after srtp_init(), before any session is
// created (srtp_session.cpp does).
inline constexpr int kOpensslSrtpPrimitives = 6;
int install_openssl_srtp_crypto();

}  // namespace exphone::media
