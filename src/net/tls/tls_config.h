// TLS client policy: what a SIP-over-TLS (and WSS, provisioning) client accepts.
//
// Plain data; make_client_context() (tls_context.h) turns it into an SSL_CTX and
// prepare_client_ssl() applies the per-connection parts (SNI, server identity, session).
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/trusted_clock.h"

namespace exphone::net::tls {

// Default TLS <= 1.2 cipher list: ephemeral ECDH key exchange (forward secrecy) with AEAD
// record protection only (AES-GCM, ChaCha20-Poly1305; RFC 5289, RFC 7905). No CBC, no RSA
// key transport, no static DH. TLS 1.3 suites are configured separately (RFC 8446 section 9.1:
// the OpenSSL default set is all AEAD).
inline constexpr const char* kDefaultTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct TlsClientConfig {
  // Trust store: exactly these files (PEM or DER; a file may hold several certificates, roots
  // and intermediates). Intermediates in the store may be used to build a chain, but a chain
  // must still end at a self-signed root from the store (no partial-chain trust).
  std::vector<std::string> ca_files;
  bool use_system_store = false;  // also trust the OS store (OpenSSL default verify paths)

  // Client certificate for mutual TLS (PEM; the cert file may carry intermediates after the
  // leaf). client_key empty = the key is in client_cert. The passphrase is never prompted for.
  std::string client_cert, client_key, client_key_passphrase;

  bool verify_server = true;  // false: handshake proceeds on failures, peer_info().verified=false

  std::string min_version = "1.2";  // "1.2" or "1.3"; TLS 1.0/1.1 are refused (RFC 8996)
  std::string ciphers;              // TLS <= 1.2 list (OpenSSL syntax); empty = kDefaultTls12Ciphers
  std::string ciphersuites;         // TLS 1.3 suites; empty = OpenSSL default
  std::string keylog_file;          // NSS key log (for Wireshark); empty = off. SECRET MATERIAL.
  bool session_tickets = true;      // false: SSL_OP_NO_TICKET (TLS 1.2 session-ID resumption only)

  // Verification time for a device whose own clock is wrong but which knows the time from NTP
  // (X509_VERIFY_PARAM_set_time). Unset = the device clock.
  std::optional<std::time_t> verify_time;
  // The device's trusted clock (SNTP-corrected, core/trusted_clock.h), read at every connection:
  // when synchronized, certificates are checked at its time; failures caused by the device clock
  // name both times. Shared with the SNTP client; null = the system clock. verify_time wins.
  std::shared_ptr<const TrustedClock> clock;
};

}  // namespace exphone::net::tls
