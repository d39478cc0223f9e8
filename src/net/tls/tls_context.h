// TLS client context (SSL_CTX) built from a TlsClientConfig, per-connection preparation of an
// SSL object, and a client-side session cache for fast reconnects.
//
// No sockets here: the transport creates SSL objects from SslCtx::get(), calls
// prepare_client_ssl() before the handshake, and on failure asks explain_handshake_failure()
// (tls_verify.h) for a stable error code.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.h"
#include "net/tls/tls_config.h"

namespace exphone::net::tls {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct SslFree {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
struct SslSessionFree {
  void operator()(SSL_SESSION* s) const noexcept { SSL_SESSION_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslSessionPtr = std::unique_ptr<SSL_SESSION, SslSessionFree>;

// Owns one reference to an SSL_CTX. SSL objects made from it hold their own reference, so the
// wrapper may be destroyed while connections are still open.
class SslCtx {
 public:
  SslCtx() = default;
  SslCtx(SSL_CTX* ctx, std::string keylog_file) : ctx_(ctx), keylog_file_(std::move(keylog_file)) {}

  SSL_CTX* get() const noexcept { return ctx_.get(); }
  explicit operator bool() const noexcept { return ctx_ != nullptr; }

  // True when TLS secrets are written to a key log file: the caller MUST log a loud warning
  // (anyone with the file can decrypt the captured signaling).
  bool keylog_enabled() const noexcept { return !keylog_file_.empty(); }
  const std::string& keylog_file() const noexcept { return keylog_file_; }

 private:
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::string keylog_file_;
};

// Last resumable session per server ("host:port"), filled by the context's new-session callback
// for connections prepared with this cache. Only sessions of verified connections are stored.
// Use one cache per SslCtx (a session carries the trust decision of the context that made it).
// Single-threaded (the event loop thread). Must outlive the SSL objects prepared with it.
//
// TLS 1.3 tickets are used once (RFC 8446 section C.4: clients SHOULD NOT reuse a ticket), so
// taking a TLS 1.3 session removes it; the resumed connection delivers fresh tickets. TLS 1.2
// sessions stay until replaced or forgotten.
class TlsSessionCache {
 public:
  TlsSessionCache() = default;
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // "host:port", IPv6 literals in brackets; port 0 = "host" alone.
  static std::string key(std::string_view host, std::uint16_t port);

  void store(const std::string& key, SSL_SESSION* session);  // takes its own reference
  SSL_SESSION* peek(const std::string& key) const;           // borrowed, may be null
  SslSessionPtr take(const std::string& key);  // for a new connection (see TLS 1.3 note)
  void forget(const std::string& key);
  void clear() { sessions_.clear(); }
  std::size_t size() const { return sessions_.size(); }

 private:
  std::map<std::string, SslSessionPtr, std::less<>> sessions_;
};

// Builds the client SSL_CTX. Errors: "tls-config" naming the setting or file and the reason.
Result<SslCtx> make_client_context(const TlsClientConfig& config);

// The context of a TLS listener (SIP over TLS to the phone): the device certificate and key
// (client_cert/client_key) as the server identity, TLS >= min_version, the same AEAD-only
// ciphers; client certificates are verified against ca_files when offered and required when
// require_client_cert (mutual TLS). Errors: "tls-config".
Result<SslCtx> make_server_context(const TlsClientConfig& config, bool require_client_cert);

// Per-connection setup, before SSL_connect/SSL_do_handshake:
//  - SNI (RFC 6066 section 3) for DNS names only, never for IP literals;
//  - server identity (RFC 5922 section 7.2): server_host (DNS name, IPv4 or IPv6 literal, with
//    or without brackets) must match a subjectAltName DNS/IP entry, or a URI "sip:host" entry
//    (RFC 5922 section 7.1); CN only when the certificate has no DNS SAN; no wildcards;
//  - verify time, verify mode and verification recording for explain_handshake_failure();
//  - session resumption from `cache` (may be null) under key(server_host, port).
// Errors: "tls-config" (empty or malformed host).
Status prepare_client_ssl(SSL* ssl, const TlsClientConfig& config, std::string_view server_host,
                          TlsSessionCache* cache, std::uint16_t port = 0);

}  // namespace exphone::net::tls
