// DTLS-SRTP (RFC 5764, RFC 5763) on the media socket: a DTLS 1.2 handshake with the use_srtp
// extension, the peer's certificate checked against the a=fingerprint of its SDP, and the SRTP
// master keys taken from the exported keying material (RFC 5764 4.2, label "EXTRACTOR-dtls_srtp").
// OpenSSL does all of DTLS; datagrams come and go through the owner's socket (RFC 7983
// demultiplexing happens there) via a small BIO, so the handshake shares the RTP port and ICE
// pair. Retransmissions follow OpenSSL's DTLS timer, driven by an Asio timer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/dtls_identity.h"
#include "media/srtp_session.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace exphone::media {

// a=setup (RFC 4145, RFC 5763 5): active = DTLS client, passive = DTLS server.
enum class DtlsRole { kClient, kServer };

struct DtlsSrtpKeys {
  SrtpKey send;     // protects what we send: our side's write key
  SrtpKey receive;  // the peer's write key
  std::string profile;  // "SRTP_AES128_CM_SHA1_80", ...
};

class DtlsSrtpTransport {
 public:
  using SendDatagram = std::function<void(std::span<const std::uint8_t>)>;
  // Once: the keys, or an error: dtls-fingerprint-mismatch (the peer's certificate is not the
  // one its SDP announced), dtls-handshake-failed, dtls-no-srtp-profile, dtls-timeout.
  using Done = std::function<void(Result<DtlsSrtpKeys>)>;

  // Errors: dtls-init-failed.
  static Result<std::unique_ptr<DtlsSrtpTransport>> create(boost::asio::io_context& io,
                                                           std::shared_ptr<DtlsIdentity> identity, DtlsRole role,
                                                           SendDatagram send, Done done,
                                                           std::chrono::seconds timeout = std::chrono::seconds(20));
  ~DtlsSrtpTransport();

  // The peer's SHA-256 fingerprint from its SDP. The check runs when both the handshake is
  // complete and the fingerprint is known, whichever comes last (a peer may finish the
  // handshake before its answer reaches us).
  void set_remote_fingerprint(std::vector<std::uint8_t> sha256);
  // Client: sends the ClientHello (to wherever SendDatagram sends). Server: starts waiting.
  void start();
  // A DTLS record datagram (first byte 20..63, RFC 7983) from the peer.
  void on_datagram(std::span<const std::uint8_t> datagram);
  // Sends close_notify (RFC 5246 7.2.1) once the handshake is complete.
  void close();

  DtlsRole role() const { return role_; }
  bool complete() const { return finished_; }
  // The peer certificate's SHA-256, after the handshake.
  const std::vector<std::uint8_t>& peer_fingerprint() const { return peer_fingerprint_; }
  bool fingerprint_verified() const { return verified_; }

  // internal, for the BIO
  int bio_write(const std::uint8_t* data, int len);
  int bio_read(std::uint8_t* data, int len);

 private:
  DtlsSrtpTransport(boost::asio::io_context& io, DtlsRole role, SendDatagram send, Done done);
  void drive();
  void arm_timer();
  void finish_handshake();
  void check_and_report();
  void report(Result<DtlsSrtpKeys> r);

  DtlsRole role_;
  SendDatagram send_;
  Done done_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  boost::asio::steady_timer retransmit_;
  boost::asio::steady_timer deadline_;
  std::deque<std::vector<std::uint8_t>> inbound_;
  std::optional<std::vector<std::uint8_t>> remote_fingerprint_;
  std::vector<std::uint8_t> peer_fingerprint_;
  std::optional<DtlsSrtpKeys> keys_;
  bool started_ = false;
  bool finished_ = false;
  bool reported_ = false;
  bool verified_ = false;
  bool failed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::media
