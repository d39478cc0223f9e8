#include "web/web_server.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>

#include "net/tls/tls_context.h"
#include "tools/check_server/report_json.h"
#include "tools/pki/issuer.h"
#include "web/admin.h"
#include "web/auth.h"
#include "web/metrics.h"
#include "web/multipart.h"
#include "web/pages.h"

namespace exphone::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::ordered_json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

constexpr std::size_t kHeaderLimit = 8 * 1024;
constexpr std::size_t kBodyLimit = 16 * 1024;
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kRequestTimeout = std::chrono::seconds(30);
constexpr int kMaxRequestsPerConnection = 100;
constexpr const char* kSessionCookie = "exphone_session";
constexpr const char* kLoginCookie = "exphone_login";

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

Error web_error(const std::string& msg) { return make_error("web-config", msg); }

std::optional<long> days_left(X509* cert) {
  if (cert == nullptr) return std::nullopt;
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) != 1) return std::nullopt;
  return days;
}

std::optional<long> file_cert_days(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  auto d = days_left(cert);
  X509_free(cert);
  return d;
}

}  // namespace

struct WebServer::Impl : std::enable_shared_from_this<WebServer::Impl> {
  Impl(asio::io_context& io, asio::ssl::context ctx) : io(io), acceptor(io), ssl(std::move(ctx)) {}

  asio::io_context& io;
  tcp::acceptor acceptor;
  std::shared_ptr<tcp::acceptor> redirect_acceptor;  // [web] http_redirect_listen
  asio::ssl::context ssl;
  phone::WebConfig config;
  std::string device_cert;   // for the expiry metric
  std::shared_ptr<X509> web_cert;
  std::string metrics_token;
  StatusFn status;
  AdminHooks admin;
  SessionStore sessions{std::chrono::seconds(900)};
  LoginThrottle throttle;
  CallCounters ended;
  int connections = 0;
  bool closed = false;

  // check-server from the page: one at a time, on a worker thread (it blocks for seconds), its
  // answer posted back to the loop.
  std::thread check_thread;
  bool check_running = false;
  // The config's certificates and audit for the status page and /metrics, recomputed at most once
  // a minute (the config only changes with a restart; days left change daily).
  json extras_cache;
  Clock::time_point extras_at{};
  const json& extras(Clock::time_point now) {
    if (!admin.config_path.empty() && (extras_cache.is_null() || now - extras_at > std::chrono::seconds(60))) {
      extras_cache = {{"certificates", certificates_json(admin.config_path)}, {"audit", audit_json(admin.config_path)}};
      extras_cache["audit"].erase("findings");
      extras_at = now;
    }
    return extras_cache;
  }

  using Later = std::function<void(Response)>;
  void accept();
  // `deferred` set: the answer comes later, through `later`.
  Response handle(const Request& req, const std::string& client, const Later& later, bool& deferred);
  // /account, /certificates, /diagnostics and their /api/ twins; nullopt: not one of them.
  std::optional<Response> handle_admin(const Request& req, const std::string& target, bool api, const std::string& csrf,
                                       const Later& later, bool& deferred);
};

namespace {

Response respond(const Request& req, http::status st, std::string body, const char* type) {
  Response res{st, req.version()};
  res.set(http::field::server, "exphone");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Strict-Transport-Security", "max-age=31536000");
  res.set("Content-Security-Policy",
          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response html(const Request& req, http::status st, std::string body) {
  return respond(req, st, std::move(body), "text/html; charset=utf-8");
}

Response json_reply(const Request& req, http::status st, const json& j) {
  return respond(req, st, j.dump() + "\n", "application/json");
}

Response redirect(const Request& req, const std::string& to) {
  Response res = respond(req, http::status::see_other, "", "text/plain");
  res.set(http::field::location, to);
  return res;
}

struct Conn : std::enable_shared_from_this<Conn> {
  Conn(std::shared_ptr<WebServer::Impl> s, tcp::socket sock)
      : server(std::move(s)), stream(std::move(sock), server->ssl) {
    boost::system::error_code ec;
    auto ep = beast::get_lowest_layer(stream).socket().remote_endpoint(ec);
    client = ec ? "?" : ep.address().to_string();
  }
  ~Conn() { --server->connections; }

  std::shared_ptr<WebServer::Impl> server;
  beast::ssl_stream<beast::tcp_stream> stream;
  beast::flat_buffer buffer{kHeaderLimit + kBodyLimit};
  std::optional<http::request_parser<http::string_body>> parser;
  Response res;
  std::string client;
  int requests = 0;

  void start() {
    beast::get_lowest_layer(stream).expires_after(kHandshakeTimeout);
    stream.async_handshake(asio::ssl::stream_base::server,
                           [self = shared_from_this()](const beast::error_code& ec) {
                             if (!ec) self->read();
                           });
  }

  void read() {
    if (server->closed || ++requests > kMaxRequestsPerConnection) return close();
    parser.emplace();
    parser->header_limit(kHeaderLimit);
    parser->body_limit(kBodyLimit);
    beast::get_lowest_layer(stream).expires_after(kRequestTimeout);
    http::async_read(stream, buffer, *parser, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) {
        if (ec == http::error::body_limit || ec == http::error::header_limit) {
          Request dummy;
          dummy.version(11);
          dummy.keep_alive(false);
          self->res = respond(dummy, http::status::payload_too_large, "request too large\n", "text/plain");
          return self->write();
        }
        return self->close();
      }
      if (self->server->closed) return self->close();
      bool deferred = false;
      auto later = [self](Response r) {
        self->res = std::move(r);
        self->write();
      };
      self->res = self->server->handle(self->parser->get(), self->client, later, deferred);
      if (!deferred) self->write();
    });
  }

  void write() {
    beast::get_lowest_layer(stream).expires_after(kRequestTimeout);
    http::async_write(stream, res, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) return self->close();
      if (!self->res.keep_alive()) return self->close();
      self->read();
    });
  }

  void close() {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    stream.async_shutdown([self = shared_from_this()](const beast::error_code&) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream).socket().close(ignored);
    });
  }
};

}  // namespace

void WebServer::Impl::accept() {
  acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket sock) {
    if (self->closed || ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (self->connections >= self->config.max_connections) {
        boost::system::error_code ignored;
        sock.close(ignored);  // full: the client retries later
      } else {
        ++self->connections;
        std::make_shared<Conn>(self, std::move(sock))->start();
      }
    }
    self->accept();
  });
}

Response WebServer::Impl::handle(const Request& req, const std::string& client, const Later& later, bool& deferred) {
  auto now = Clock::now();
  std::string target(req.target());
  if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;

  if (target == "/metrics") {
    if (metrics_token.empty()) return respond(req, http::status::not_found, "metrics are off ([web] metrics_token_file)\n", "text/plain");
    std::string auth(req[http::field::authorization]);
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.rfind(kBearer, 0) != 0 || !equal_tokens(auth.substr(kBearer.size()), metrics_token)) {
      Response r = respond(req, http::status::unauthorized, "bearer token required\n", "text/plain");
      r.set(http::field::www_authenticate, "Bearer realm=\"exphone metrics\"");
      return r;
    }
    if (!get) return respond(req, http::status::method_not_allowed, "GET only\n", "text/plain");
    MetricsInput in{status(), ended, file_cert_days(device_cert), days_left(web_cert.get()), {}, {}, {}};
    const json& x = extras(now);
    if (x.contains("certificates"))
      for (const auto& f : x["certificates"].value("trusted_cas", json::array()))
        for (const auto& c : f.value("certificates", json::array()))
          in.ca_cert_days.emplace_back(f.value("file", ""), c.value("days_left", 0L));
    if (x.contains("audit") && x["audit"].contains("errors")) {
      in.audit_errors = x["audit"].value("errors", 0);
      in.audit_warnings = x["audit"].value("warnings", 0);
    }
    return respond(req, http::status::ok, render_metrics(in), "text/plain; version=0.0.4; charset=utf-8");
  }

  const Session* session = nullptr;
  std::string token;
  if (auto c = cookie_value(sv(req[http::field::cookie]), kSessionCookie)) {
    token = *c;
    session = sessions.find(token, now);
  }

  if (target == "/login") {
    if (get) {
      if (session) return redirect(req, "/");
      std::string login_token = random_token();
      Response r = html(req, http::status::ok, login_page(login_token, "", config.password_hash.empty()));
      r.set(http::field::set_cookie, session_cookie(kLoginCookie, login_token, 600));
      return r;
    }
    if (!post) return respond(req, http::status::method_not_allowed, "GET or POST\n", "text/plain");
    if (long wait = throttle.blocked_for(client, now); wait > 0) {
      std::cerr << "exphone web: login from " << client << " refused: throttled for " << wait << " s" << std::endl;
      Response r = html(req, http::status::too_many_requests, login_page("", "Too many failed attempts; try again later.", false));
      r.set(http::field::retry_after, std::to_string(wait));
      return r;
    }
    auto form = parse_form(req.body());
    auto cookie = cookie_value(sv(req[http::field::cookie]), kLoginCookie);
    if (!form || !cookie || !form->count("csrf") || !equal_tokens((*form)["csrf"], *cookie))
      return html(req, http::status::forbidden, login_page("", "The login form expired; reload the page.", false));
    if (config.password_hash.empty())
      return html(req, http::status::forbidden, login_page("", "", true));
    if (!verify_password((*form)["password"], config.password_hash)) {
      throttle.failure(client, now);
      std::cerr << "exphone web: login failed from " << client << std::endl;
      std::string login_token = random_token();
      Response r = html(req, http::status::unauthorized, login_page(login_token, "Wrong password.", false));
      r.set(http::field::set_cookie, session_cookie(kLoginCookie, login_token, 600));
      return r;
    }
    throttle.success(client);
    std::cerr << "exphone web: login from " << client << std::endl;
    if (session) sessions.remove(token);  // a fresh token at every login (no session fixation)
    Response r = redirect(req, "/");
    r.set(http::field::set_cookie, session_cookie(kSessionCookie, sessions.create(now)));
    return r;
  }

  const bool api = target.rfind("/api/", 0) == 0;
  if (!session) {
    if (api) return json_reply(req, http::status::unauthorized, {{"ok", false}, {"error", {{"code", "web-auth"}, {"message", "log in first"}}}});
    return redirect(req, "/login");
  }
  if (!get && !post) return respond(req, http::status::method_not_allowed, "GET or POST\n", "text/plain");
  if (post) {
    std::string csrf(req["X-CSRF-Token"]);
    if (csrf.empty()) {
      if (auto boundary = multipart_boundary(sv(req[http::field::content_type]))) {
        if (auto parts = parse_multipart(req.body(), *boundary))
          if (const FormPart* p = find_part(*parts, "csrf")) csrf = p->data;
      } else if (auto form = parse_form(req.body()); form && form->count("csrf")) {
        csrf = (*form)["csrf"];
      }
    }
    if (!equal_tokens(csrf, session->csrf))
      return api ? json_reply(req, http::status::forbidden, {{"ok", false}, {"error", {{"code", "web-csrf"}, {"message", "CSRF token missing or wrong"}}}})
                 : html(req, http::status::forbidden, error_page("403 Forbidden", "The request lacked this session's CSRF token."));
  }
  std::string csrf = session->csrf;  // copied: the store may change below

  if (target == "/" && get) return html(req, http::status::ok, status_page(status(), csrf, extras(now)));
  if (target == "/api/status" && get) return json_reply(req, http::status::ok, status());
  if ((target == "/logout" || target == "/api/logout") && post) {
    sessions.remove(token);
    Response r = api ? json_reply(req, http::status::ok, {{"ok", true}}) : redirect(req, "/login");
    r.set(http::field::set_cookie, session_cookie(kSessionCookie, "", 0));
    return r;
  }
  if (auto r = handle_admin(req, target, api, csrf, later, deferred)) return std::move(*r);
  if (api) return json_reply(req, http::status::not_found, {{"ok", false}, {"error", {{"code", "web-not-found"}, {"message", target}}}});
  return html(req, http::status::not_found, error_page("404 Not Found", "No such page."));
}

namespace {

json error_json(const Error& e) { return {{"ok", false}, {"error", {{"code", e.code}, {"message", e.message}}}}; }

std::string field(const std::map<std::string, std::string>& f, const char* k) {
  auto it = f.find(k);
  return it == f.end() ? "" : it->second;
}

std::optional<json> json_body(const Request& req) {
  try {
    return json::parse(req.body());
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string jfield(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::optional<Response> WebServer::Impl::handle_admin(const Request& req, const std::string& target, bool api,
                                                      const std::string& csrf, const Later& later, bool& deferred) {
  const bool get = req.method() == http::verb::get;
  const std::string read_only =
      admin.config_path.empty() ? "This phone was started without a config file the page may change." : admin.read_only;
  auto accounts = [&]() -> json {
    auto c = phone::load_config(admin.config_path);
    return c ? accounts_json(*c) : json{{"error", {{"code", c.error().code}, {"message", c.error().message}}}};
  };
  // A change: refused when read-only; else applied, and the daemon restarts on the saved config.
  auto change = [&](const std::string& what, const std::function<Status()>& act,
                    const std::function<Response(const std::string&)>& page_on_error) -> Response {
    if (!read_only.empty()) {
      Error e = make_error("web-read-only", read_only);
      return api ? json_reply(req, http::status::conflict, error_json(e)) : page_on_error(read_only);
    }
    if (Status s = act(); !s) {
      std::cerr << "exphone web: " << what << " refused: " << s.error().code << ": " << s.error().message << std::endl;
      return api ? json_reply(req, http::status::unprocessable_entity, error_json(s.error()))
                 : page_on_error(s.error().code + ": " + s.error().message);
    }
    std::cerr << "exphone web: " << what << " saved to " << admin.config_path << std::endl;
    if (admin.restart) admin.restart(what);
    return api ? json_reply(req, http::status::ok, {{"ok", true}, {"restarting", static_cast<bool>(admin.restart)}})
               : html(req, http::status::ok, applied_page(what + " saved."));
  };
  auto account_error = [&](const std::string& msg) {
    return html(req, http::status::unprocessable_entity, account_page(accounts(), csrf, msg, true, read_only));
  };
  auto certs_error = [&](const std::string& msg) {
    return html(req, http::status::unprocessable_entity,
                certificates_page(certificates_json(admin.config_path), csrf, msg, true, read_only));
  };
  auto diag_error = [&](const std::string& msg) {
    return html(req, http::status::unprocessable_entity,
                diagnostics_page(certificates_json(admin.config_path), audit_json(admin.config_path), csrf, msg, true, read_only));
  };

  if (target == "/account" && get) return html(req, http::status::ok, account_page(accounts(), csrf, "", false, read_only));
  if (target == "/api/accounts" && get) return json_reply(req, http::status::ok, accounts());
  if ((target == "/account" || target == "/api/accounts") && !get) {
    phone::AccountChange c;
    std::string index;
    if (api) {
      auto j = json_body(req);
      if (!j || !j->is_object()) return json_reply(req, http::status::bad_request, error_json(make_error("web-bad-form", "a JSON object expected")));
      index = j->contains("index") ? (*j)["index"].dump() : "0";
      c.registrar = jfield(*j, "registrar"), c.domain = jfield(*j, "domain"), c.user = jfield(*j, "user");
      c.auth_user = jfield(*j, "auth_user"), c.transport = jfield(*j, "transport");
      c.srtp = jfield(*j, "srtp"), c.key_exchange = jfield(*j, "key_exchange");
      if (j->contains("password") && (*j)["password"].is_string()) c.password = (*j)["password"].get<std::string>();
    } else {
      auto f = parse_form(req.body());
      if (!f) return account_error("the form could not be read");
      index = field(*f, "index");
      c.registrar = field(*f, "registrar"), c.domain = field(*f, "domain"), c.user = field(*f, "user");
      c.auth_user = field(*f, "auth_user"), c.transport = field(*f, "transport");
      c.srtp = field(*f, "srtp"), c.key_exchange = field(*f, "key_exchange");
      if (std::string pw = field(*f, "password"); !pw.empty()) c.password = pw;  // empty: keep the stored one
    }
    if (index.empty() || index.size() > 3 || index.find_first_not_of("0123456789") != std::string::npos)
      return api ? json_reply(req, http::status::bad_request, error_json(make_error("web-bad-form", "index must be a number")))
                 : account_error("index must be a number");
    c.index = std::stoul(index);
    return change("account " + index, [&] { return apply_account(admin.config_path, c); }, account_error);
  }

  if (target == "/certificates" && get)
    return html(req, http::status::ok, certificates_page(certificates_json(admin.config_path), csrf, "", false, read_only));
  if (target == "/api/certificates" && get) return json_reply(req, http::status::ok, certificates_json(admin.config_path));
  if ((target == "/certificates/ca" || target == "/api/trusted-cas") && !get) {
    std::string upload;
    if (api) {
      upload = req.body();
    } else {
      auto boundary = multipart_boundary(sv(req[http::field::content_type]));
      if (!boundary) return certs_error(boundary.error().message);
      auto parts = parse_multipart(req.body(), *boundary);
      if (!parts) return certs_error(parts.error().message);
      const FormPart* p = find_part(*parts, "ca");
      if (p == nullptr) return certs_error("no file chosen");
      upload = p->data;
    }
    json added;
    auto r = change("trusted CA", [&]() -> Status {
      auto a = add_trusted_ca(admin.config_path, upload);
      if (!a) return a.error();
      added = *a;
      return Ok{};
    }, certs_error);
    if (api && r.result() == http::status::ok) {
      json j = json::parse(r.body());
      j["ca"] = added;
      return json_reply(req, http::status::ok, j);
    }
    return r;
  }
  if ((target == "/certificates/ca/remove" || target == "/api/trusted-cas/remove") && !get) {
    std::string file;
    if (api) {
      auto j = json_body(req);
      if (j && j->is_object()) file = jfield(*j, "file");
    } else if (auto f = parse_form(req.body())) {
      file = field(*f, "file");
    }
    return change("removal of trusted CA " + file, [&] { return remove_trusted_ca(admin.config_path, file); }, certs_error);
  }

  if ((target == "/certificates/csr" || target == "/api/csr") && !get) {
    std::string cn;
    if (api) {
      auto j = json_body(req);
      if (j && j->is_object()) cn = jfield(*j, "common_name");
    } else if (auto f = parse_form(req.body())) {
      cn = field(*f, "common_name");
    }
    if (!read_only.empty())
      return api ? json_reply(req, http::status::conflict, error_json(make_error("web-read-only", read_only))) : certs_error(read_only);
    auto csr = generate_csr(admin.config_path, cn);
    if (!csr) return api ? json_reply(req, http::status::unprocessable_entity, error_json(csr.error()))
                         : certs_error(csr.error().code + ": " + csr.error().message);
    std::cerr << "exphone web: new device key and CSR for '" << cn << "'" << std::endl;
    if (api) return json_reply(req, http::status::ok, {{"ok", true}, {"csr", *csr}});
    return html(req, http::status::ok, csr_page(*csr));
  }
  if ((target == "/certificates/device" || target == "/api/device-certificate") && !get) {
    std::string cert, key;
    if (api) {
      auto j = json_body(req);
      if (j && j->is_object()) cert = jfield(*j, "cert"), key = jfield(*j, "key");
    } else {
      auto boundary = multipart_boundary(sv(req[http::field::content_type]));
      if (!boundary) return certs_error(boundary.error().message);
      auto parts = parse_multipart(req.body(), *boundary);
      if (!parts) return certs_error(parts.error().message);
      if (const FormPart* p = find_part(*parts, "cert")) cert = p->data;
      if (const FormPart* p = find_part(*parts, "key")) key = p->data;
    }
    return change("device certificate", [&]() -> Status {
      auto d = install_device_certificate(admin.config_path, cert, key);
      if (!d) return d.error();
      return Ok{};
    }, certs_error);
  }
  if ((target == "/certificates/check" || target == "/api/check-server") && !get) {
    std::string uri;
    if (api) {
      auto j = json_body(req);
      if (j && j->is_object()) uri = jfield(*j, "uri");
    } else if (auto f = parse_form(req.body())) {
      uri = field(*f, "uri");
    }
    auto config = phone::load_config(admin.config_path);
    if (!config) return api ? json_reply(req, http::status::unprocessable_entity, error_json(config.error())) : certs_error(config.error().message);
    if (uri.empty() && !config->accounts.empty()) uri = config->accounts[0].registrar;
    if (uri.empty()) return api ? json_reply(req, http::status::bad_request, error_json(make_error("usage", "no server URI"))) : certs_error("no server URI");
    if (check_running)
      return api ? json_reply(req, http::status::too_many_requests, error_json(make_error("web-busy", "a check is running")))
                 : certs_error("a check is running; try again in a moment");
    tools::check_server::CheckOptions o;
    o.uri = uri;
    o.ca_files = config->transport.tls.ca_files;  // what the phone trusts, with its own certificate
    o.client_cert = config->transport.tls.client_cert;
    o.client_key = config->transport.tls.client_key;
    o.timeout = Millis(5000);
    if (check_thread.joinable()) check_thread.join();
    check_running = true;
    deferred = true;
    Request head;  // what the answer needs of the request
    head.version(req.version());
    head.keep_alive(req.keep_alive());
    std::cerr << "exphone web: check-server " << uri << std::endl;
    check_thread = std::thread([self = shared_from_this(), o, later, api, head = std::move(head)] {
      auto r = tools::check_server::check_server(o);
      json j = r ? tools::check_server::report_json(*r) : json{{"ok", false}, {"error", {{"code", r.error().code}, {"message", r.error().message}}}};
      asio::post(self->io, [self, j = std::move(j), later, api, head] {
        self->check_running = false;
        if (self->closed) return;
        later(api ? json_reply(head, http::status::ok, j) : html(head, http::status::ok, check_server_page(j)));
      });
    });
    return Response{};
  }
  if (target == "/diagnostics" && get)
    return html(req, http::status::ok,
                diagnostics_page(certificates_json(admin.config_path), audit_json(admin.config_path), csrf, "", false, read_only));
  if (target == "/api/audit" && get) return json_reply(req, http::status::ok, audit_json(admin.config_path));
  if (target == "/diagnostics/log" && get) {
    if (!admin.log) return respond(req, http::status::not_found, "no log kept\n", "text/plain");
    Response r = respond(req, http::status::ok, admin.log(), "text/plain; charset=utf-8");
    r.set(http::field::content_disposition, "attachment; filename=\"exphone.log\"");
    return r;
  }
  if ((target == "/diagnostics/key-export" || target == "/api/key-export") && !get) {
    bool on = false;
    if (api) {
      auto j = json_body(req);
      on = j && j->is_object() && j->value("enable", false);
    } else if (auto f = parse_form(req.body())) {
      on = field(*f, "enable") == "1";
    }
    return change(on ? "key export ON" : "key export off", [&] { return set_key_export(admin.config_path, on); }, diag_error);
  }
  return std::nullopt;
}

namespace {

Result<tcp::endpoint> listen_endpoint(const std::string& listen, const char* key) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return web_error(std::string(key) + " '" + listen + "' must be ip:port");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return web_error(std::string(key) + " '" + listen + "': '" + host + "' is not an IP address");
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(listen.substr(colon + 1), &used);
    if (used != listen.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    return web_error(std::string(key) + " '" + listen + "': bad port");
  }
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

// [web] http_redirect_listen: plain HTTP that only ever answers 301 to the HTTPS page (one request
// per connection, 8 KiB of header, 10 s), so nobody types a password into an http:// page.
struct RedirectConn : std::enable_shared_from_this<RedirectConn> {
  RedirectConn(tcp::socket s, std::uint16_t https_port) : stream(std::move(s)), https_port(https_port) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer{kHeaderLimit};
  http::request_parser<http::empty_body> parser;
  Response res;
  std::uint16_t https_port;

  void start() {
    parser.header_limit(kHeaderLimit);
    stream.expires_after(kHandshakeTimeout);
    http::async_read_header(stream, buffer, parser, [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
      if (ec) return;
      const auto& req = self->parser.get();
      std::string host(req[http::field::host]);
      // the Host header's name without its port; anything odd falls back to the address we were reached on
      if (auto c = host.rfind(':'); c != std::string::npos && host.find(']', c) == std::string::npos) host.resize(c);
      bool ok = !host.empty() && host.size() <= 255 &&
                host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-[]:") == std::string::npos;
      if (!ok) {
        boost::system::error_code e;
        auto local = self->stream.socket().local_endpoint(e);
        host = local.address().is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string();
      }
      Request head;
      head.version(req.version());
      head.keep_alive(false);
      self->res = respond(head, http::status::moved_permanently, "https only\n", "text/plain");
      self->res.set(http::field::location, "https://" + host + ":" + std::to_string(self->https_port) + "/");
      self->res.erase("Strict-Transport-Security");  // HSTS only counts over HTTPS (RFC 6797 8.1)
      http::async_write(self->stream, self->res, [self](const beast::error_code&, std::size_t) {
        beast::error_code ignored;
        self->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
    });
  }
};

void redirect_accept(std::shared_ptr<tcp::acceptor> acceptor, std::uint16_t https_port) {
  acceptor->async_accept([acceptor, https_port](const boost::system::error_code& ec, tcp::socket sock) {
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
    if (!ec) std::make_shared<RedirectConn>(std::move(sock), https_port)->start();
    redirect_accept(acceptor, https_port);
  });
}

}  // namespace

Result<std::unique_ptr<WebServer>> WebServer::open(asio::io_context& io, const phone::WebConfig& config,
                                                   const net::tls::TlsClientConfig& tls, StatusFn status,
                                                   AdminHooks admin) {
  // the listen address(es)
  auto listen = listen_endpoint(config.listen, "web.listen");
  if (!listen) return listen.error();
  const auto addr = listen->address();
  std::optional<tcp::endpoint> redirect_ep;
  if (!config.http_redirect_listen.empty()) {
    auto r = listen_endpoint(config.http_redirect_listen, "web.http_redirect_listen");
    if (!r) return r.error();
    redirect_ep = *r;
  }
  boost::system::error_code ec;

  // the metrics token
  std::string token;
  if (!config.metrics_token_file.empty()) {
    std::ifstream f(config.metrics_token_file);
    if (!f) return web_error("cannot read web.metrics_token_file " + config.metrics_token_file);
    std::getline(f, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) return web_error("web.metrics_token_file " + config.metrics_token_file + ": the token must have at least 16 characters");
  }

  // the certificate: [web] cert/key, else the device certificate, else a generated one
  std::shared_ptr<X509> web_cert;
  SSL_CTX* raw = nullptr;
  net::tls::TlsClientConfig c = tls;
  c.ca_files.clear();
  c.use_system_store = false;  // browsers are not asked for a client certificate
  c.keylog_file.clear();       // the SIP key log is not for the admin page
  if (!config.cert.empty()) {
    c.client_cert = config.cert;
    c.client_key = config.key;
    c.client_key_passphrase.clear();
  }
  if (!c.client_cert.empty()) {
    auto ctx = net::tls::make_server_context(c, false);
    if (!ctx) return ctx.error();
    raw = ctx->get();
    SSL_CTX_up_ref(raw);
    if (X509* leaf = SSL_CTX_get0_certificate(raw)) {
      X509_up_ref(leaf);
      web_cert.reset(leaf, X509_free);
    }
  } else {
    auto ca = pki::make_root_ca("exphone web admin (self-signed)", 825);
    if (!ca) return ca.error();
    pki::LeafSpec spec;
    spec.common_name = "exphone";
    spec.ips = {addr.to_string()};
    spec.dns = {"localhost"};
    spec.client = false;
    spec.days = 825;
    auto leaf = pki::make_leaf(spec, *ca);
    if (!leaf) return leaf.error();
    raw = SSL_CTX_new(TLS_server_method());
    if (raw == nullptr || SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(raw, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1 ||
        SSL_CTX_use_certificate(raw, leaf->cert.get()) != 1 || SSL_CTX_use_PrivateKey(raw, leaf->key.get()) != 1 ||
        SSL_CTX_add1_chain_cert(raw, ca->cert.get()) != 1) {
      SSL_CTX_free(raw);
      return make_error("tls-config", "cannot set up the web server's generated certificate");
    }
    SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    web_cert = leaf->cert;
  }

  auto impl = std::make_shared<Impl>(io, asio::ssl::context(raw));  // takes the reference
  impl->config = config;
  impl->sessions = SessionStore(std::chrono::seconds(config.session_timeout_s));
  if (std::size_t n = impl->sessions.take_over(admin.sessions, Clock::now()))
    std::cout << "web admin: " << n << " session(s) kept across the restart" << std::endl;
  admin.sessions.clear();
  impl->device_cert = tls.client_cert;
  impl->web_cert = std::move(web_cert);
  impl->metrics_token = std::move(token);
  impl->status = std::move(status);
  impl->admin = std::move(admin);
  tcp::endpoint ep = *listen;
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(16, ec);
  if (ec) return make_error("web-failed", "cannot listen on " + config.listen + ": " + ec.message());
  impl->accept();
  if (redirect_ep) {
    auto a = std::make_shared<tcp::acceptor>(io);
    a->open(redirect_ep->protocol(), ec);
    if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) a->bind(*redirect_ep, ec);
    if (!ec) a->listen(16, ec);
    if (ec) return make_error("web-failed", "cannot listen on " + config.http_redirect_listen + ": " + ec.message());
    redirect_accept(a, impl->acceptor.local_endpoint(ec).port());
    impl->redirect_acceptor = a;
  }
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

WebServer::~WebServer() {
  impl_->closed = true;
  if (impl_->redirect_acceptor) {
    boost::system::error_code ignored;
    impl_->redirect_acceptor->close(ignored);
  }
  if (impl_->check_thread.joinable()) impl_->check_thread.join();  // bounded by its timeouts
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

void WebServer::record_call(const json& call_report) { impl_->ended.add(call_report); }

std::string WebServer::hand_over_sessions() const { return impl_->sessions.hand_over(Clock::now()); }

std::string WebServer::local_address() const {
  boost::system::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  if (ec) return "";
  std::ostringstream s;
  s << ep;
  return s.str();
}

}  // namespace exphone::web
