// SRTP packet path (issue "Performance", measurement 3): protect + unprotect of one RTP packet
//   exphone   — media::SrtpSession (the wrapper the phone uses, zero-allocation buffer form)
//   libsrtp2  — srtp_protect / srtp_unprotect called directly, same policy, with the OpenSSL
//               primitives exphone installs (media/srtp_crypto_openssl.h): the wrapper's overhead
//   packaged  — the same direct calls with the primitives Debian's libsrtp2 was built with (NSS);
//               must run in a process of its own (--benchmark_filter=packaged), before exphone
//               has replaced them
//   floor     — the same cryptographic work with OpenSSL EVP primitives: AES-128-CTR + HMAC-SHA1-80
//               (what AES_CM_128_HMAC_SHA1_80 does per packet, RFC 3711 4.1.1 + 4.2.1) or
//               AES-128-GCM seal + open (AEAD_AES_128_GCM, RFC 7714), keys precomputed — no replay
//               window, no key derivation, no header handling: a lower bound, not an SRTP stack.
// Replay window: the phone's (SrtpSession::kDefaultReplayWindow, 1024 packets). libsrtp2 shifts the
// whole window bitmap for each newer packet, so a 32767-packet window costs ~0.5 µs a packet more.
// Packet sizes: 172 bytes (G.711 20 ms: 12 header + 160 payload) and 1200 bytes.
// Every benchmark checks its round trip once before timing.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <srtp2/srtp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "media/rtp.h"
#include "media/srtp_session.h"

using namespace exphone::media;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "srtp_bench: %s\n", what);
  std::exit(1);
}

std::vector<std::uint8_t> rtp_packet(std::size_t total) {
  RtpHeader h;
  h.payload_type = 0;
  h.sequence = 1;
  h.timestamp = 160;
  h.ssrc = 0x11223344;
  std::vector<std::uint8_t> payload(total - kRtpFixedHeaderSize, 0xd5);
  auto p = serialize_rtp(h, payload);
  if (!p) die("rtp");
  return *p;
}

void set_seq(std::uint8_t* p, std::uint16_t seq) {
  p[2] = static_cast<std::uint8_t>(seq >> 8);
  p[3] = static_cast<std::uint8_t>(seq);
}

SrtpSuite suite_of(int i) { return i == 0 ? SrtpSuite::kAesCm128HmacSha1_80 : SrtpSuite::kAeadAes128Gcm; }

std::vector<std::uint8_t> fixed_key(SrtpSuite s) {
  std::vector<std::uint8_t> k(srtp_key_salt_length(s));
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 13 + 7);
  return k;
}

// exphone: one outbound and one inbound SrtpSession; sequence numbers advance (replay window).
void BM_exphone(benchmark::State& st) {
  const SrtpSuite suite = suite_of(static_cast<int>(st.range(0)));
  const std::size_t size = static_cast<std::size_t>(st.range(1));
  auto key = SrtpKey::from_bytes(suite, fixed_key(suite));
  auto tx = SrtpSession::create(*key, Direction::kOutbound, SrtpSession::kDefaultReplayWindow);
  auto rx = SrtpSession::create(*key, Direction::kInbound, SrtpSession::kDefaultReplayWindow);
  if (!tx || !rx) die("session");
  const auto plain = rtp_packet(size);
  std::vector<std::uint8_t> buf(size + kSrtpTrailerSpace);
  std::uint16_t seq = 1;
  for (auto _ : st) {
    std::memcpy(buf.data(), plain.data(), size);
    set_seq(buf.data(), seq++);
    std::size_t len = size;
    if (!tx->protect(buf.data(), len, buf.size())) die("protect");
    if (!rx->unprotect(buf.data(), len)) die("unprotect");
    benchmark::DoNotOptimize(buf.data());
  }
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * size));
}

// libsrtp2 directly, the same policy exphone builds.
void libsrtp2_direct(benchmark::State& st) {
  const SrtpSuite suite = suite_of(static_cast<int>(st.range(0)));
  const std::size_t size = static_cast<std::size_t>(st.range(1));
  auto key = fixed_key(suite);
  auto make = [&](srtp_ssrc_type_t type) {
    srtp_policy_t p;
    std::memset(&p, 0, sizeof p);
    if (suite == SrtpSuite::kAesCm128HmacSha1_80) {
      srtp_crypto_policy_set_rtp_default(&p.rtp);
      srtp_crypto_policy_set_rtcp_default(&p.rtcp);
    } else {
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&p.rtcp);
    }
    p.ssrc.type = type;
    p.key = key.data();
    p.window_size = SrtpSession::kDefaultReplayWindow;
    srtp_t s = nullptr;
    if (srtp_create(&s, &p) != srtp_err_status_ok) die("srtp_create");
    return s;
  };
  srtp_t tx = make(ssrc_any_outbound), rx = make(ssrc_any_inbound);
  const auto plain = rtp_packet(size);
  std::vector<std::uint8_t> buf(size + kSrtpTrailerSpace);
  std::uint16_t seq = 1;
  for (auto _ : st) {
    std::memcpy(buf.data(), plain.data(), size);
    set_seq(buf.data(), seq++);
    int len = static_cast<int>(size);
    if (srtp_protect(tx, buf.data(), &len) != srtp_err_status_ok) die("srtp_protect");
    if (srtp_unprotect(rx, buf.data(), &len) != srtp_err_status_ok) die("srtp_unprotect");
    benchmark::DoNotOptimize(buf.data());
  }
  srtp_dealloc(tx);
  srtp_dealloc(rx);
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * size));
}

void BM_libsrtp2(benchmark::State& st) {
  // libsrtp2 is initialised once per process: through exphone's wrapper, which installs OpenSSL's
  // primitives.
  if (SrtpSession::crypto_backend() != "OpenSSL") die(SrtpSession::crypto_backend().c_str());
  libsrtp2_direct(st);
}

void BM_packaged(benchmark::State& st) {
  static const bool first = srtp_init() == srtp_err_status_ok;  // fails once exphone initialised it
  if (!first) {
    st.SkipWithError("run alone: --benchmark_filter=packaged");
    return;
  }
  libsrtp2_direct(st);
}

// The primitive floor with OpenSSL EVP: encrypt + tag, then verify + decrypt, contexts reused.
void BM_floor(benchmark::State& st) {
  const bool gcm = st.range(0) == 1;
  const std::size_t size = static_cast<std::size_t>(st.range(1));
  const std::size_t header = kRtpFixedHeaderSize, body = size - header;
  unsigned char key[16], iv[16] = {0}, auth[20];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<unsigned char>(i * 3 + 1);
  for (int i = 0; i < 20; ++i) auth[i] = static_cast<unsigned char>(i * 5 + 2);
  auto plain = rtp_packet(size);
  std::vector<std::uint8_t> buf(size + 32), out(size + 32);
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mctx = EVP_MAC_CTX_new(mac);
  char digest[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end()};
  const EVP_CIPHER* cipher = gcm ? EVP_aes_128_gcm() : EVP_aes_128_ctr();
  EVP_EncryptInit_ex(enc, cipher, nullptr, key, nullptr);
  EVP_DecryptInit_ex(dec, cipher, nullptr, key, nullptr);
  EVP_MAC_init(mctx, auth, sizeof auth, params);  // keyed once; EVP_MAC_init(NULL key) per packet
  if (gcm) {
    EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
    EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  }
  std::uint32_t counter = 0;
  for (auto _ : st) {
    std::memcpy(buf.data(), plain.data(), size);
    std::memcpy(iv, &++counter, sizeof counter);  // a fresh IV per packet, as SRTP's index gives
    int n = 0, m = 0;
    std::size_t len = size;
    if (gcm) {
      EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv);
      EVP_EncryptUpdate(enc, nullptr, &n, buf.data(), static_cast<int>(header));  // header = AAD
      EVP_EncryptUpdate(enc, out.data() + header, &n, buf.data() + header, static_cast<int>(body));
      EVP_EncryptFinal_ex(enc, out.data() + header + n, &m);
      EVP_CIPHER_CTX_ctrl(enc, EVP_CTRL_GCM_GET_TAG, 16, out.data() + size);
      std::memcpy(out.data(), buf.data(), header);
      len = size + 16;
      // receiver
      EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv);
      EVP_DecryptUpdate(dec, nullptr, &n, out.data(), static_cast<int>(header));
      EVP_DecryptUpdate(dec, buf.data() + header, &n, out.data() + header, static_cast<int>(body));
      EVP_CIPHER_CTX_ctrl(dec, EVP_CTRL_GCM_SET_TAG, 16, out.data() + size);
      if (EVP_DecryptFinal_ex(dec, buf.data() + header + n, &m) != 1) die("gcm open");
    } else {
      unsigned char tag[20];
      std::size_t tl = 0;
      EVP_EncryptInit_ex(enc, nullptr, nullptr, nullptr, iv);
      EVP_EncryptUpdate(enc, out.data() + header, &n, buf.data() + header, static_cast<int>(body));
      std::memcpy(out.data(), buf.data(), header);
      EVP_MAC_init(mctx, nullptr, 0, nullptr);
      EVP_MAC_update(mctx, out.data(), size);
      EVP_MAC_update(mctx, reinterpret_cast<const unsigned char*>(&counter), 4);  // the ROC (RFC 3711 4.2)
      EVP_MAC_final(mctx, tag, &tl, sizeof tag);
      std::memcpy(out.data() + size, tag, 10);
      len = size + 10;
      // receiver: verify, then decrypt
      EVP_MAC_init(mctx, nullptr, 0, nullptr);
      EVP_MAC_update(mctx, out.data(), size);
      EVP_MAC_update(mctx, reinterpret_cast<const unsigned char*>(&counter), 4);
      EVP_MAC_final(mctx, tag, &tl, sizeof tag);
      if (std::memcmp(tag, out.data() + size, 10) != 0) die("hmac");
      EVP_DecryptInit_ex(dec, nullptr, nullptr, nullptr, iv);
      EVP_DecryptUpdate(dec, buf.data() + header, &n, out.data() + header, static_cast<int>(body));
    }
    benchmark::DoNotOptimize(len);
    benchmark::DoNotOptimize(buf.data());
  }
  if (std::memcmp(buf.data(), plain.data(), size) != 0) die("floor round trip");
  EVP_MAC_CTX_free(mctx);
  EVP_MAC_free(mac);
  EVP_CIPHER_CTX_free(enc);
  EVP_CIPHER_CTX_free(dec);
  st.SetBytesProcessed(static_cast<std::int64_t>(st.iterations() * size));
}

// Args: {suite: 0 = AES_CM_128_HMAC_SHA1_80, 1 = AEAD_AES_128_GCM} x {packet bytes}
void args(benchmark::internal::Benchmark* b) {
  for (int s : {0, 1})
    for (int n : {172, 1200}) b->Args({s, n});
}
BENCHMARK(BM_exphone)->Apply(args);
BENCHMARK(BM_libsrtp2)->Apply(args);
BENCHMARK(BM_packaged)->Apply(args);
BENCHMARK(BM_floor)->Apply(args);

}  // namespace

BENCHMARK_MAIN();
