#include "media/srtp_crypto_openssl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <new>

namespace exphone::media {

namespace {

// ---------------------------------------------------------------------------------------------
// AES counter mode, SRTP's "AES-ICM" (RFC 3711 4.1.1). The key given to init() is the AES key
// followed by the 112-bit salt; the counter block for a packet is (salt * 2^16) XOR iv, where
// libsrtp2 computes iv = (SSRC * 2^64) XOR (index * 2^16) and the low 16 bits count blocks.
// OpenSSL's CTR mode increments the whole 128-bit block; a packet never reaches 2^16 blocks, so
// the carry out of the low 16 bits that would make the two differ never happens.

struct IcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  const EVP_CIPHER* aes = nullptr;
  int aes_key_len = 0;
  std::uint8_t offset[16] = {};  // salt || 0x0000
};

extern const srtp_cipher_type_t kIcm128, kIcm192, kIcm256;

srtp_err_status_t icm_alloc(srtp_cipher_t** out, int key_len, int /*tag_len*/) {
  const srtp_cipher_type_t* type = nullptr;
  int algorithm = 0, aes_len = 0;
  const EVP_CIPHER* aes = nullptr;
  switch (key_len) {
    case SRTP_AES_ICM_128_KEY_LEN_WSALT:
      type = &kIcm128, algorithm = SRTP_AES_ICM_128, aes_len = SRTP_AES_128_KEY_LEN, aes = EVP_aes_128_ctr();
      break;
    case SRTP_AES_ICM_192_KEY_LEN_WSALT:
      type = &kIcm192, algorithm = SRTP_AES_ICM_192, aes_len = SRTP_AES_192_KEY_LEN, aes = EVP_aes_192_ctr();
      break;
    case SRTP_AES_ICM_256_KEY_LEN_WSALT:
      type = &kIcm256, algorithm = SRTP_AES_ICM_256, aes_len = SRTP_AES_256_KEY_LEN, aes = EVP_aes_256_ctr();
      break;
    default:
      return srtp_err_status_bad_param;
  }
  auto* c = static_cast<srtp_cipher_t*>(OPENSSL_zalloc(sizeof(srtp_cipher_t)));
  auto* st = new (std::nothrow) IcmState;
  if (c == nullptr || st == nullptr || (st->ctx = EVP_CIPHER_CTX_new()) == nullptr) {
    delete st;
    OPENSSL_free(c);
    return srtp_err_status_alloc_fail;
  }
  st->aes = aes;
  st->aes_key_len = aes_len;
  c->type = type;
  c->state = st;
  c->key_len = key_len;
  c->algorithm = algorithm;
  *out = c;
  return srtp_err_status_ok;
}

srtp_err_status_t icm_dealloc(srtp_cipher_t* c) {
  auto* st = static_cast<IcmState*>(c->state);
  EVP_CIPHER_CTX_free(st->ctx);  // wipes the key schedule
  OPENSSL_cleanse(st->offset, sizeof st->offset);
  delete st;
  OPENSSL_clear_free(c, sizeof *c);
  return srtp_err_status_ok;
}

srtp_err_status_t icm_init(void* state, const std::uint8_t* key) {
  auto* st = static_cast<IcmState*>(state);
  std::memset(st->offset, 0, sizeof st->offset);
  std::memcpy(st->offset, key + st->aes_key_len, SRTP_SALT_LEN);
  if (EVP_EncryptInit_ex(st->ctx, st->aes, nullptr, key, nullptr) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

srtp_err_status_t icm_set_iv(void* state, std::uint8_t* iv, srtp_cipher_direction_t /*dir*/) {
  auto* st = static_cast<IcmState*>(state);
  std::uint8_t counter[16];
  for (int i = 0; i < 16; ++i) counter[i] = static_cast<std::uint8_t>(st->offset[i] ^ iv[i]);
  if (EVP_EncryptInit_ex(st->ctx, nullptr, nullptr, nullptr, counter) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

// Encryption and decryption are the same keystream XOR.
srtp_err_status_t icm_crypt(void* state, std::uint8_t* buf, unsigned int* len) {
  auto* st = static_cast<IcmState*>(state);
  if (*len == 0) return srtp_err_status_ok;
  if (*len > INT32_MAX) return srtp_err_status_bad_param;
  int out = 0;
  if (EVP_EncryptUpdate(st->ctx, buf, &out, buf, static_cast<int>(*len)) != 1 ||
      static_cast<unsigned int>(out) != *len) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// ---------------------------------------------------------------------------------------------
// AES-GCM (RFC 7714). libsrtp2 forms the 96-bit IV itself (RFC 7714 8.1: salt XOR (SSRC, ROC,
// SEQ)) and hands it to set_iv; the salt bytes after the key are therefore not used here. The
// header (and for SRTCP the E||index word) is the AAD, given before the payload.

struct GcmState {
  EVP_CIPHER_CTX* ctx = nullptr;
  const EVP_CIPHER* aes = nullptr;
  int tag_len = 0;
  srtp_cipher_direction_t dir = srtp_direction_any;
};

extern const srtp_cipher_type_t kGcm128, kGcm256;

srtp_err_status_t gcm_alloc(srtp_cipher_t** out, int key_len, int tag_len) {
  // RFC 7714 12: 16-octet tags; libsrtp2 also offers 8-octet ones.
  if (tag_len != 16 && tag_len != 8) return srtp_err_status_bad_param;
  const srtp_cipher_type_t* type = nullptr;
  int algorithm = 0;
  const EVP_CIPHER* aes = nullptr;
  switch (key_len) {
    case SRTP_AES_GCM_128_KEY_LEN_WSALT:
      type = &kGcm128, algorithm = SRTP_AES_GCM_128, aes = EVP_aes_128_gcm();
      break;
    case SRTP_AES_GCM_256_KEY_LEN_WSALT:
      type = &kGcm256, algorithm = SRTP_AES_GCM_256, aes = EVP_aes_256_gcm();
      break;
    default:
      return srtp_err_status_bad_param;
  }
  auto* c = static_cast<srtp_cipher_t*>(OPENSSL_zalloc(sizeof(srtp_cipher_t)));
  auto* st = new (std::nothrow) GcmState;
  if (c == nullptr || st == nullptr || (st->ctx = EVP_CIPHER_CTX_new()) == nullptr) {
    delete st;
    OPENSSL_free(c);
    return srtp_err_status_alloc_fail;
  }
  st->aes = aes;
  st->tag_len = tag_len;
  c->type = type;
  c->state = st;
  c->key_len = key_len;
  c->algorithm = algorithm;
  *out = c;
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_dealloc(srtp_cipher_t* c) {
  auto* st = static_cast<GcmState*>(c->state);
  EVP_CIPHER_CTX_free(st->ctx);
  delete st;
  OPENSSL_clear_free(c, sizeof *c);
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_init(void* state, const std::uint8_t* key) {
  auto* st = static_cast<GcmState*>(state);
  st->dir = srtp_direction_any;
  if (EVP_CipherInit_ex(st->ctx, st->aes, nullptr, key, nullptr, 1) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_set_iv(void* state, std::uint8_t* iv, srtp_cipher_direction_t dir) {
  auto* st = static_cast<GcmState*>(state);
  if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt) return srtp_err_status_bad_param;
  st->dir = dir;
  // The default GCM IV length is 96 bits, the length RFC 7714 8.1 uses.
  if (EVP_CipherInit_ex(st->ctx, nullptr, nullptr, nullptr, iv, dir == srtp_direction_encrypt ? 1 : 0) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_set_aad(void* state, const std::uint8_t* aad, std::uint32_t len) {
  auto* st = static_cast<GcmState*>(state);
  if (len == 0) return srtp_err_status_ok;
  if (len > INT32_MAX) return srtp_err_status_bad_param;
  int out = 0;
  if (EVP_CipherUpdate(st->ctx, nullptr, &out, aad, static_cast<int>(len)) != 1) return srtp_err_status_algo_fail;
  return srtp_err_status_ok;
}

srtp_err_status_t gcm_encrypt(void* state, std::uint8_t* buf, unsigned int* len) {
  auto* st = static_cast<GcmState*>(state);
  if (st->dir != srtp_direction_encrypt) return srtp_err_status_bad_param;
  if (*len == 0) return srtp_err_status_ok;  // SRTCP without encryption: only the tag is wanted
  if (*len > INT32_MAX) return srtp_err_status_bad_param;
  int out = 0;
  if (EVP_EncryptUpdate(st->ctx, buf, &out, buf, static_cast<int>(*len)) != 1 ||
      static_cast<unsigned int>(out) != *len) {
    return srtp_err_status_cipher_fail;
  }
  return srtp_err_status_ok;
}

// After gcm_encrypt: finishes the GHASH and gives the tag (written by libsrtp2 after the
// ciphertext).
srtp_err_status_t gcm_get_tag(void* state, std::uint8_t* tag, std::uint32_t* len) {
  auto* st = static_cast<GcmState*>(state);
  if (st->dir != srtp_direction_encrypt) return srtp_err_status_bad_param;
  std::uint8_t none[16];
  int out = 0;
  if (EVP_EncryptFinal_ex(st->ctx, none, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_GCM_GET_TAG, st->tag_len, tag) != 1) {
    return srtp_err_status_algo_fail;
  }
  *len = static_cast<std::uint32_t>(st->tag_len);
  return srtp_err_status_ok;
}

// buf holds the ciphertext followed by the tag; on success len shrinks by the tag. On a tag
// mismatch the buffer holds unauthenticated plaintext, which libsrtp2's caller discards.
srtp_err_status_t gcm_decrypt(void* state, std::uint8_t* buf, unsigned int* len) {
  auto* st = static_cast<GcmState*>(state);
  if (st->dir != srtp_direction_decrypt) return srtp_err_status_bad_param;
  if (*len < static_cast<unsigned int>(st->tag_len) || *len > INT32_MAX) return srtp_err_status_bad_param;
  const int body = static_cast<int>(*len) - st->tag_len;
  int out = 0, last = 0;
  if (EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_GCM_SET_TAG, st->tag_len, buf + body) != 1) {
    return srtp_err_status_auth_fail;
  }
  if (body > 0 && (EVP_DecryptUpdate(st->ctx, buf, &out, buf, body) != 1 || out != body)) {
    return srtp_err_status_cipher_fail;
  }
  if (EVP_DecryptFinal_ex(st->ctx, buf + body, &last) != 1) return srtp_err_status_auth_fail;
  *len = static_cast<unsigned int>(body);
  return srtp_err_status_ok;
}

// ---------------------------------------------------------------------------------------------
// HMAC-SHA1 (RFC 3711 4.2.1, RFC 2104) through EVP_MAC. start() re-initialises with the key
// already set, which OpenSSL does by copying the prepared inner and outer digest states.

struct HmacState {
  EVP_MAC_CTX* ctx = nullptr;
};

extern const srtp_auth_type_t kHmacSha1;

srtp_err_status_t hmac_alloc(srtp_auth_t** out, int key_len, int out_len) {
  constexpr int kSha1Len = 20;
  if (key_len < 0 || key_len > kSha1Len || out_len < 0 || out_len > kSha1Len) return srtp_err_status_bad_param;
  auto* a = static_cast<srtp_auth_t*>(OPENSSL_zalloc(sizeof(srtp_auth_t)));
  auto* st = new (std::nothrow) HmacState;
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac != nullptr && st != nullptr) st->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (a == nullptr || st == nullptr || st->ctx == nullptr) {
    if (st != nullptr) EVP_MAC_CTX_free(st->ctx);
    delete st;
    OPENSSL_free(a);
    return srtp_err_status_alloc_fail;
  }
  a->type = &kHmacSha1;
  a->state = st;
  a->out_len = out_len;
  a->key_len = key_len;
  a->prefix_len = 0;
  *out = a;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_dealloc(srtp_auth_t* a) {
  auto* st = static_cast<HmacState*>(a->state);
  EVP_MAC_CTX_free(st->ctx);
  delete st;
  OPENSSL_clear_free(a, sizeof *a);
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_init(void* state, const std::uint8_t* key, int key_len) {
  auto* st = static_cast<HmacState*>(state);
  char digest[] = "SHA1";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(st->ctx, key, static_cast<std::size_t>(key_len), params) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_start(void* state) {
  auto* st = static_cast<HmacState*>(state);
  if (EVP_MAC_init(st->ctx, nullptr, 0, nullptr) != 1) return srtp_err_status_auth_fail;
  return srtp_err_status_ok;
}

srtp_err_status_t hmac_update(void* state, const std::uint8_t* buf, int len) {
  auto* st = static_cast<HmacState*>(state);
  if (len < 0) return srtp_err_status_bad_param;
  if (len > 0 && EVP_MAC_update(st->ctx, buf, static_cast<std::size_t>(len)) != 1) return srtp_err_status_auth_fail;
  return srtp_err_status_ok;
}

// Authenticates buf after what update() was given and writes the first tag_len octets of the MAC.
srtp_err_status_t hmac_compute(void* state, const std::uint8_t* buf, int len, int tag_len, std::uint8_t* tag) {
  auto* st = static_cast<HmacState*>(state);
  if (tag_len < 0 || tag_len > 20) return srtp_err_status_bad_param;
  if (srtp_err_status_t s = hmac_update(state, buf, len); s != srtp_err_status_ok) return s;
  std::uint8_t mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  if (EVP_MAC_final(st->ctx, mac, &mac_len, sizeof mac) != 1 || mac_len < static_cast<std::size_t>(tag_len)) {
    return srtp_err_status_auth_fail;
  }
  std::memcpy(tag, mac, static_cast<std::size_t>(tag_len));
  OPENSSL_cleanse(mac, sizeof mac);
  return srtp_err_status_ok;
}

// ---------------------------------------------------------------------------------------------
// Known answers for libsrtp2's self-test of each replacement.

std::uint8_t kZeroIv[16] = {};  // libsrtp2's test-case type wants a mutable index
constexpr std::uint8_t kZeros[48] = {};

// RFC 3711 B.2: session key and salt, keystream for counters 0000..0002 (SSRC, index 0).
constexpr std::uint8_t kIcm128Key[30] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::uint8_t kIcm128Keystream[48] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
    0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0};

// RFC 6188 7.2 (AES-192-CM) and 7.1 (AES-256-CM), the same salt as RFC 3711 B.2.
constexpr std::uint8_t kIcm192Key[38] = {
    0xea, 0xb2, 0x34, 0x76, 0x4e, 0x51, 0x7b, 0x2d, 0x3d, 0x16, 0x0d, 0x58, 0x7d, 0x8c, 0x86, 0x21,
    0x97, 0x40, 0xf6, 0x5f, 0x99, 0xb6, 0xbc, 0xf7, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::uint8_t kIcm192Keystream[48] = {
    0x35, 0x09, 0x6c, 0xba, 0x46, 0x10, 0x02, 0x8d, 0xc1, 0xb5, 0x75, 0x03, 0x80, 0x4c, 0xe3, 0x7c,
    0x5d, 0xe9, 0x86, 0x29, 0x1d, 0xcc, 0xe1, 0x61, 0xd5, 0x16, 0x5e, 0xc4, 0x56, 0x8f, 0x5c, 0x9a,
    0x47, 0x4a, 0x40, 0xc7, 0x78, 0x94, 0xbc, 0x17, 0x18, 0x02, 0x02, 0x27, 0x2a, 0x4c, 0x26, 0x4d};
constexpr std::uint8_t kIcm256Key[46] = {
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
    0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
constexpr std::uint8_t kIcm256Keystream[48] = {
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
    0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac,
    0x63, 0xc4, 0x86, 0x8b, 0x70, 0x96, 0xd8, 0x84, 0x21, 0xb5, 0x63, 0xb8, 0xc9, 0x4c, 0x9a, 0x31};

const srtp_cipher_test_case_t kIcm128Test = {30, kIcm128Key, kZeroIv, 48, kZeros, 48, kIcm128Keystream, 0, nullptr, 0, nullptr};
const srtp_cipher_test_case_t kIcm192Test = {38, kIcm192Key, kZeroIv, 48, kZeros, 48, kIcm192Keystream, 0, nullptr, 0, nullptr};
const srtp_cipher_test_case_t kIcm256Test = {46, kIcm256Key, kZeroIv, 48, kZeros, 48, kIcm256Keystream, 0, nullptr, 0, nullptr};

// The GCM specification (McGrew and Viega), test cases 4 (AES-128) and 16 (AES-256): 60 octets of
// plaintext, 20 of AAD, a 96-bit IV; ciphertext followed by the 128-bit tag. The 12 octets after
// each key stand for the SRTP salt, which libsrtp2 has already folded into the IV.
std::uint8_t kGcmIv[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
constexpr std::uint8_t kGcm128Key[28] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
    0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
constexpr std::uint8_t kGcm256Key[44] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
    0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
constexpr std::uint8_t kGcmPlaintext[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a,
    0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72,
    0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
    0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
constexpr std::uint8_t kGcmAad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                      0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
constexpr std::uint8_t kGcm128Sealed[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c,
    0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e,
    0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
    0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    // tag
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};
constexpr std::uint8_t kGcm256Sealed[76] = {
    0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42, 0x7d,
    0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa,
    0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56, 0x82, 0x88, 0x38,
    0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62,
    // tag
    0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e, 0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};

const srtp_cipher_test_case_t kGcm128Test = {28, kGcm128Key, kGcmIv, 60, kGcmPlaintext, 76, kGcm128Sealed, 20, kGcmAad, 16, nullptr};
const srtp_cipher_test_case_t kGcm256Test = {44, kGcm256Key, kGcmIv, 60, kGcmPlaintext, 76, kGcm256Sealed, 20, kGcmAad, 16, nullptr};

// RFC 2202 2, test case 1.
constexpr std::uint8_t kHmacKey[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                       0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
constexpr std::uint8_t kHmacData[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
constexpr std::uint8_t kHmacTag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
                                       0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
const srtp_auth_test_case_t kHmacTest = {20, kHmacKey, 8, kHmacData, 20, kHmacTag, nullptr};

// ---------------------------------------------------------------------------------------------
// The types libsrtp2's crypto kernel calls through. Distinct objects per id: the kernel refuses a
// type already registered under another id.

const srtp_cipher_type_t kIcm128 = {icm_alloc, icm_dealloc, icm_init, nullptr, icm_crypt, icm_crypt, icm_set_iv, nullptr,
                                    "AES-128 counter mode (OpenSSL)", &kIcm128Test, SRTP_AES_ICM_128};
const srtp_cipher_type_t kIcm192 = {icm_alloc, icm_dealloc, icm_init, nullptr, icm_crypt, icm_crypt, icm_set_iv, nullptr,
                                    "AES-192 counter mode (OpenSSL)", &kIcm192Test, SRTP_AES_ICM_192};
const srtp_cipher_type_t kIcm256 = {icm_alloc, icm_dealloc, icm_init, nullptr, icm_crypt, icm_crypt, icm_set_iv, nullptr,
                                    "AES-256 counter mode (OpenSSL)", &kIcm256Test, SRTP_AES_ICM_256};
const srtp_cipher_type_t kGcm128 = {gcm_alloc, gcm_dealloc, gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt, gcm_set_iv, gcm_get_tag,
                                    "AES-128 GCM (OpenSSL)", &kGcm128Test, SRTP_AES_GCM_128};
const srtp_cipher_type_t kGcm256 = {gcm_alloc, gcm_dealloc, gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt, gcm_set_iv, gcm_get_tag,
                                    "AES-256 GCM (OpenSSL)", &kGcm256Test, SRTP_AES_GCM_256};
const srtp_auth_type_t kHmacSha1 = {hmac_alloc, hmac_dealloc, hmac_init, hmac_compute, hmac_update, hmac_start,
                                    "HMAC-SHA1 (OpenSSL)", &kHmacTest, SRTP_HMAC_SHA1};

}  // namespace

int install_openssl_srtp_crypto() {
  int installed = 0;
  for (const srtp_cipher_type_t* type : {&kIcm128, &kIcm192, &kIcm256, &kGcm128, &kGcm256}) {
    if (srtp_replace_cipher_type(type, type->id) == srtp_err_status_ok) ++installed;
  }
  if (srtp_replace_auth_type(&kHmacSha1, kHmacSha1.id) == srtp_err_status_ok) ++installed;
  return installed;
}

}  // namespace exphone::media
