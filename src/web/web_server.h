// The HTTPS admin page of the phone (docs/config.md [web]), served on the phone's own event loop
// with Boost.Beast over boost::asio::ssl (TLS >= 1.2, the policy of net/tls make_server_context).
//
//   GET  /login          login form          POST /login   password -> session cookie
//   GET  /               status page          POST /logout  (session + CSRF)
//   GET  /api/status     the control socket's status JSON
//   GET  /metrics        Prometheus text, Authorization: Bearer <[web] metrics_token_file>
//   GET  /account, /certificates, /diagnostics   the admin pages; their forms POST to
//        /account, /certificates/ca (multipart upload), /certificates/ca/remove, /diagnostics/key-export
//   GET  /api/accounts, /api/certificates, /api/audit; POST /api/accounts (JSON), /api/trusted-cas
//        (the certificate as the body, PEM or DER), /api/trusted-cas/remove, /api/key-export (JSON)
//
// Every page and API call needs the session cookie (pages redirect to /login, /api answers 401);
// every POST needs the session's CSRF token (form field "csrf" or header X-CSRF-Token), else 403.
// Requests are bounded (8 KiB of headers, 16 KiB of body, 30 s per request, max_connections).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "net/tls/tls_config.h"
#include "phone/config.h"

namespace exphone::web {

// What the pages may change (docs/config.md [web]): the config file, and how a saved change is
// applied. Without a config path the pages only show.
struct AdminHooks {
  std::string config_path;
  std::string read_only;  // why changes are refused ("" = they are not), e.g. a provisioned config
  std::function<void(const std::string& why)> restart;  // the daemon restarts on the saved config
  std::function<std::string()> log;  // the daemon's recent log (GET /diagnostics/log); empty: none
  std::string sessions;  // what hand_over_sessions() of the previous process image returned
};

class WebServer {
 public:
  using StatusFn = std::function<nlohmann::ordered_json()>;

  // `tls`: the device's [tls] (its client_cert/client_key serve as the web certificate unless
  // [web] cert/key are set; with neither, a self-signed certificate is generated at start).
  // Errors: "web-config" (bad listen address, token file), "tls-config", "web-failed" (bind).
  static Result<std::unique_ptr<WebServer>> open(boost::asio::io_context& io, const phone::WebConfig& config,
                                                 const net::tls::TlsClientConfig& tls, StatusFn status,
                                                 AdminHooks admin = {});
  ~WebServer();

  // A call ended: counted for /metrics.
  void record_call(const nlohmann::ordered_json& call_report);
  // The logged-in sessions, for the process image that replaces this one (AdminHooks::sessions).
  std::string hand_over_sessions() const;
  // "ip:port" actually bound (port 0 in the config picks a free one).
  std::string local_address() const;

  struct Impl;

 private:
  explicit WebServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace exphone::web
