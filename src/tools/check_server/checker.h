// exphone check-server: connect to a SIP server over TLS exactly as the phone does (net/tls
// policy and verification, the same tls-* codes), describe what it sent, probe TLS 1.0/1.1,
// and send OPTIONS (RFC 3261 section 11) over the verified connection.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/timer.h"
#include "net/tls/tls_inspect.h"
#include "tools/check_server/assess.h"
#include "tools/check_server/legacy_probe.h"

namespace exphone::tools::check_server {

struct CheckOptions {
  std::string uri;
  std::vector<std::string> ca_files;  // empty = the system trust store
  std::string client_cert, client_key;
  Millis timeout{10000};              // per step: connect+handshake, OPTIONS, each probe
  bool probe_legacy = true;
};

struct OptionsResult {
  bool sent = false;
  bool answered = false;      // a final response arrived
  int status = 0;
  std::string reason;
  long time_ms = 0;           // request written -> final response
  std::string server;         // Server or User-Agent header of the response
  bool unverified = false;    // sent over a connection whose certificate did NOT verify
  std::optional<Error> error; // why there is no response
};

struct ClientCertResult {
  bool configured = false;    // --client-cert given
  bool requested = false;     // the server sent a CertificateRequest
  bool sent = false;          // we answered it with our certificate
  std::optional<bool> accepted;  // known when requested: the connection survived (or not)
};

struct CheckReport {
  std::string uri;
  std::string server_name;    // the name the certificate must carry (URI host)
  std::string address;        // "127.0.0.1:5061"
  std::time_t local_clock = 0;
  bool handshake = false;     // a TLS handshake got as far as the server's certificate
  std::string tls_version, cipher;
  std::vector<net::tls::CertificateInfo> chain;  // as sent, leaf first
  bool verified = false;      // chain to a trust anchor and RFC 5922 identity matched
  std::optional<Error> verdict;  // the phone's error when not verified (tls-*, timeout, ...)
  ClientCertResult client_cert;
  std::vector<LegacyProbe> legacy;
  OptionsResult options;
  std::vector<Finding> warnings;

  bool ok() const { return verified && options.answered; }
  // The error to exit with: the verdict first, then why OPTIONS failed.
  std::optional<Error> error() const;
};

// Errors only for what prevents any check: "usage" (bad URI), "tls-config" (unreadable CA or
// client certificate), "dns-failed". Everything about the server is in the report.
Result<CheckReport> check_server(const CheckOptions& options);

}  // namespace exphone::tools::check_server
