// Shared between tls_context.cpp and tls_verify.cpp; not part of the API.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/trusted_clock.h"

namespace exphone::net::tls {
class TlsSessionCache;
}

namespace exphone::net::tls::detail {

struct X509Free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

inline X509Ptr ref(X509* x) {
  if (x != nullptr) X509_up_ref(x);
  return X509Ptr(x);
}

// Per-SSL state (SSL ex_data, freed with the SSL).
struct SslState {
  // set by prepare_client_ssl
  std::string expected_host;  // normalized: no brackets, no trailing dot
  bool host_is_ip = false;
  bool verify_server = true;
  TlsSessionCache* cache = nullptr;
  std::string cache_key;

  // recorded by the verify callback: the first failure
  int error = X509_V_OK;
  int depth = -1;
  X509Ptr cert;                  // certificate at the failing depth
  std::vector<X509Ptr> sent;     // chain as sent by the server, leaf first
  std::time_t verify_time = 0;
  bool uri_san_matched = false;  // identity accepted through a "sip:" URI SAN
  std::shared_ptr<const TrustedClock> clock;  // from the config: explains clock-caused failures

  // recorded by the certificate callback (client side: a CertificateRequest arrived)
  bool cert_requested = false;
  bool had_client_cert = false;
};

// Per-SSL_CTX state (SSL_CTX ex_data, freed with the SSL_CTX).
struct CtxState {
  int keylog_fd = -1;
  bool verify_server = true;
  std::shared_ptr<const TrustedClock> clock;  // a listener checks client certificates at its time
  ~CtxState();
};

SslState* ssl_state(const SSL* ssl);
SslState& ensure_ssl_state(SSL* ssl);  // creates (or resets) the state
CtxState* ctx_state(const SSL_CTX* ctx);
CtxState& ensure_ctx_state(SSL_CTX* ctx);

// Callbacks installed on the context / connection.
int verify_callback(int preverify_ok, X509_STORE_CTX* store_ctx);
int cert_callback(SSL* ssl, void* arg);

std::string name_to_string(const X509_NAME* name);
std::string subject_of(X509* cert);
std::string issuer_of(X509* cert);

// Parses an IPv4/IPv6 literal (IPv6 optionally in brackets) into raw bytes; empty if not an IP.
std::string parse_ip(std::string_view text);

}  // namespace exphone::net::tls::detail
