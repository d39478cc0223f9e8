#include "media/dtls_srtp.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstring>

namespace exphone::media {
namespace {

// RFC 5764 4.1.2 / RFC 7714 14.2 profiles, strongest first (the server's order decides in OpenSSL).
constexpr char kProfiles[] = "SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32";
constexpr long kMtu = 1200;  // fits any path a call takes; OpenSSL fragments the handshake to it

std::optional<SrtpSuite> suite_for_profile(unsigned long id) {
  switch (id) {
    case SRTP_AES128_CM_SHA1_80: return SrtpSuite::kAesCm128HmacSha1_80;
    case SRTP_AES128_CM_SHA1_32: return SrtpSuite::kAesCm128HmacSha1_32;
    case SRTP_AEAD_AES_128_GCM: return SrtpSuite::kAeadAes128Gcm;
    case SRTP_AEAD_AES_256_GCM: return SrtpSuite::kAeadAes256Gcm;
    default: return std::nullopt;
  }
}

DtlsSrtpTransport* owner_of(BIO* b) { return static_cast<DtlsSrtpTransport*>(BIO_get_data(b)); }

int bio_write(BIO* b, const char* data, int len) {
  return owner_of(b)->bio_write(reinterpret_cast<const std::uint8_t*>(data), len);
}
int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  int n = owner_of(b)->bio_read(reinterpret_cast<std::uint8_t*>(data), len);
  if (n < 0) BIO_set_retry_read(b);
  return n;
}
long bio_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU: return kMtu;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: return 28;  // IPv4 + UDP headers
    default: return 0;
  }
}
int bio_create(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

BIO_METHOD* datagram_method() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "exphone-dtls-datagram");
    BIO_meth_set_write(meth, bio_write);
    BIO_meth_set_read(meth, bio_read);
    BIO_meth_set_ctrl(meth, bio_ctrl);
    BIO_meth_set_create(meth, bio_create);
    return meth;
  }();
  return m;
}

// The peer's certificate is self-signed (RFC 5763 5): it is judged by its fingerprint after the
// handshake, not by a chain, so chain errors are not handshake failures here.
int accept_any_chain(int, X509_STORE_CTX*) { return 1; }

std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

}  // namespace

int DtlsSrtpTransport::bio_write(const std::uint8_t* data, int len) {
  if (len > 0 && send_) send_({data, static_cast<std::size_t>(len)});  // one BIO write = one datagram
  return len;
}

int DtlsSrtpTransport::bio_read(std::uint8_t* data, int len) {
  if (inbound_.empty()) return -1;
  auto d = std::move(inbound_.front());
  inbound_.pop_front();
  const int n = std::min(len, static_cast<int>(d.size()));  // DTLS reads whole datagrams
  std::memcpy(data, d.data(), static_cast<std::size_t>(n));
  return n;
}

DtlsSrtpTransport::DtlsSrtpTransport(boost::asio::io_context& io, DtlsRole role, SendDatagram send, Done done)
    : role_(role), send_(std::move(send)), done_(std::move(done)), retransmit_(io), deadline_(io) {}

DtlsSrtpTransport::~DtlsSrtpTransport() {
  *alive_ = false;
  retransmit_.cancel();
  deadline_.cancel();
  SSL_free(ssl_);  // frees the BIO too
  SSL_CTX_free(ctx_);
}

Result<std::unique_ptr<DtlsSrtpTransport>> DtlsSrtpTransport::create(boost::asio::io_context& io,
                                                                     std::shared_ptr<DtlsIdentity> identity,
                                                                     DtlsRole role, SendDatagram send, Done done,
                                                                     std::chrono::seconds timeout) {
  std::unique_ptr<DtlsSrtpTransport> t(new DtlsSrtpTransport(io, role, std::move(send), std::move(done)));
  auto bad = [](std::string what) { return make_error("dtls-init-failed", "DTLS: " + what + ": " + openssl_reason()); };
  t->ctx_ = SSL_CTX_new(DTLS_method());
  if (!t->ctx_) return bad("SSL_CTX_new");
  // DTLS 1.2 only (RFC 8827 6.5 requires >= 1.2; DTLS 1.0 lacks AEAD suites).
  SSL_CTX_set_min_proto_version(t->ctx_, DTLS1_2_VERSION);
  if (SSL_CTX_use_certificate(t->ctx_, identity->certificate()) != 1 ||
      SSL_CTX_use_PrivateKey(t->ctx_, identity->key()) != 1)
    return bad("device DTLS certificate");
  // RFC 5764 4.1: use_srtp; returns 0 on success.
  if (SSL_CTX_set_tlsext_use_srtp(t->ctx_, kProfiles) != 0) return bad("use_srtp");
  SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any_chain);
  SSL_CTX_set_options(t->ctx_, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
  SSL_CTX_set_read_ahead(t->ctx_, 1);
  t->ssl_ = SSL_new(t->ctx_);
  if (!t->ssl_) return bad("SSL_new");
  BIO* bio = BIO_new(datagram_method());
  if (!bio) return bad("BIO_new");
  BIO_set_data(bio, t.get());
  SSL_set_bio(t->ssl_, bio, bio);
  SSL_set_mtu(t->ssl_, kMtu - 28);
  DTLS_set_link_mtu(t->ssl_, kMtu);
  if (role == DtlsRole::kClient) SSL_set_connect_state(t->ssl_);
  else SSL_set_accept_state(t->ssl_);
  std::weak_ptr<bool> alive = t->alive_;
  auto* self = t.get();
  t->deadline_.expires_after(timeout);
  t->deadline_.async_wait([self, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || self->finished_) return;
    self->report(make_error("dtls-timeout", "DTLS handshake did not complete in time"));
  });
  return t;
}

void DtlsSrtpTransport::start() {
  if (started_) return;
  started_ = true;
  if (role_ == DtlsRole::kClient) drive();
}

void DtlsSrtpTransport::set_remote_fingerprint(std::vector<std::uint8_t> sha256) {
  remote_fingerprint_ = std::move(sha256);
  if (finished_) check_and_report();
}

void DtlsSrtpTransport::on_datagram(std::span<const std::uint8_t> datagram) {
  if (failed_) return;
  if (inbound_.size() >= 16) inbound_.pop_front();  // bounded: a flood cannot grow it
  inbound_.emplace_back(datagram.begin(), datagram.end());
  started_ = true;
  drive();
}

void DtlsSrtpTransport::drive() {
  if (!finished_) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      finish_handshake();
    } else {
      const int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        report(make_error("dtls-handshake-failed", "DTLS handshake failed: " + openssl_reason()));
        return;
      }
      arm_timer();
    }
  }
  if (finished_) {
    // After the handshake: retransmitted final flights and alerts (close_notify). No application
    // data is expected on a DTLS-SRTP association; anything read is discarded.
    std::uint8_t sink[1500];
    for (std::size_t i = inbound_.size(); i > 0 && !inbound_.empty(); --i) {
      ERR_clear_error();
      if (SSL_read(ssl_, sink, sizeof sink) <= 0 && (SSL_get_shutdown(ssl_) & SSL_RECEIVED_SHUTDOWN)) break;
    }
    inbound_.clear();
  }
}

void DtlsSrtpTransport::arm_timer() {
  timeval tv{};
  if (DTLSv1_get_timeout(ssl_, &tv) != 1) return;
  retransmit_.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
  std::weak_ptr<bool> alive = alive_;
  retransmit_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || finished_ || reported_) return;
    if (DTLSv1_handle_timeout(ssl_) < 0) {
      report(make_error("dtls-handshake-failed", "DTLS retransmission failed: " + openssl_reason()));
      return;
    }
    arm_timer();
  });
}

void DtlsSrtpTransport::finish_handshake() {
  finished_ = true;
  retransmit_.cancel();
  X509* peer = SSL_get1_peer_certificate(ssl_);
  peer_fingerprint_ = certificate_sha256(peer);
  X509_free(peer);
  SRTP_PROTECTION_PROFILE* p = SSL_get_selected_srtp_profile(ssl_);
  auto suite = p ? suite_for_profile(p->id) : std::nullopt;
  if (!suite) {
    report(make_error("dtls-no-srtp-profile", "the DTLS peer agreed no SRTP protection profile we support"));
    return;
  }
  // RFC 5764 4.2: client key, server key, client salt, server salt.
  const std::size_t kl = srtp_master_key_length(*suite), sl = srtp_master_salt_length(*suite);
  std::vector<std::uint8_t> m(2 * (kl + sl));
  static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, m.data(), m.size(), kLabel, sizeof kLabel - 1, nullptr, 0, 0) != 1) {
    report(make_error("dtls-handshake-failed", "cannot export the DTLS-SRTP keying material"));
    return;
  }
  auto key_of = [&](bool client) {
    std::vector<std::uint8_t> ks(m.begin() + (client ? 0 : kl), m.begin() + (client ? kl : 2 * kl));
    const auto salt = m.begin() + 2 * kl + (client ? 0 : sl);
    ks.insert(ks.end(), salt, salt + sl);
    auto k = SrtpKey::from_bytes(*suite, ks);
    OPENSSL_cleanse(ks.data(), ks.size());
    return k;
  };
  auto client = key_of(true), server = key_of(false);
  OPENSSL_cleanse(m.data(), m.size());
  if (!client || !server) {
    report(make_error("dtls-handshake-failed", "bad DTLS-SRTP key length"));
    return;
  }
  const bool we_are_client = role_ == DtlsRole::kClient;
  keys_.emplace(DtlsSrtpKeys{we_are_client ? *client : *server, we_are_client ? *server : *client, p->name});
  check_and_report();
}

void DtlsSrtpTransport::check_and_report() {
  if (!keys_ || !remote_fingerprint_ || reported_) return;
  // RFC 5763 5: the certificate presented in the handshake must match the SDP's fingerprint.
  if (peer_fingerprint_.empty() || peer_fingerprint_.size() != remote_fingerprint_->size() ||
      CRYPTO_memcmp(peer_fingerprint_.data(), remote_fingerprint_->data(), peer_fingerprint_.size()) != 0) {
    keys_.reset();
    report(make_error("dtls-fingerprint-mismatch",
                      "the DTLS peer's certificate does not match the a=fingerprint in its SDP"));
    return;
  }
  verified_ = true;
  DtlsSrtpKeys k = std::move(*keys_);
  keys_.reset();  // the keys live on in the SRTP sessions only
  report(std::move(k));
}

void DtlsSrtpTransport::report(Result<DtlsSrtpKeys> r) {
  if (reported_) return;
  reported_ = true;
  deadline_.cancel();
  retransmit_.cancel();
  if (!r) {
    failed_ = true;
    keys_.reset();
  }
  if (done_) {
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(r));
  }
}

void DtlsSrtpTransport::close() {
  if (finished_ && ssl_) SSL_shutdown(ssl_);
}

}  // namespace exphone::media
