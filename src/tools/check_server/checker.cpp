#include "tools/check_server/checker.h"

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <memory>

#include "core/random.h"
#include "net/asio_timers.h"
#include "net/dns.h"
#include "net/locator.h"
#include "net/transport_layer.h"
#include "net/tls/tls_verify.h"
#include "sip/message.h"
#include "tools/check_server/target.h"
#include "txn/transaction_layer.h"

namespace exphone::tools::check_server {

namespace {

using sip::HeaderId;
using sip::Message;

// What one connection (handshake, then OPTIONS) showed.
struct Attempt {
  bool handshake = false;  // the server's certificate arrived
  bool verified = false;
  std::string version, cipher;
  std::vector<net::tls::CertificateInfo> chain;
  net::tls::ClientAuthInfo client_auth;
  std::optional<Error> connect_error;  // connect + handshake
  OptionsResult options;
};

// Errors that are about the server's certificate (a second, unverified look is worthwhile).
bool is_certificate_error(const std::string& code) {
  return code == net::tls::kErrUnknownCa || code == net::tls::kErrExpired || code == net::tls::kErrNotYetValid ||
         code == net::tls::kErrNameMismatch || code == net::tls::kErrSelfSigned ||
         code == net::tls::kErrWeakCertificate;
}

Result<Message> build_options(const CheckTarget& t, const net::Flow& flow) {
  auto req = Message::request("OPTIONS", t.request_uri);
  if (!req) return req.error();
  Message& m = *req;
  std::string scheme = t.sips ? "sips:" : "sip:";
  std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
  // RFC 3261 section 11.1 / 8.1.1: the mandatory headers; no Contact needed for OPTIONS.
  m.add_header(HeaderId::kVia, "SIP/2.0/" + std::string(net::via_token(flow.protocol())) + " " + flow.local().to_string() +
                                   ";branch=" + txn::TransactionLayer::new_branch() + ";rport");
  m.add_header(HeaderId::kMaxForwards, "70");
  m.add_header(HeaderId::kFrom, "<" + scheme + "exphone-check@" + host + ">;tag=" + random_hex(8));
  m.add_header(HeaderId::kTo, "<" + t.request_uri + ">");
  m.add_header(HeaderId::kCallId, random_hex(16) + "@exphone");
  m.add_header(HeaderId::kCSeq, "1 OPTIONS");
  m.add_header(HeaderId::kAccept, "application/sdp");
  m.add_header(HeaderId::kUserAgent, "exphone check-server");
  m.add_header(HeaderId::kContentLength, "0");
  return req;
}

// One connection through the phone's own transport (net::TransportLayer, net/tls policy), then
// OPTIONS over it when `send_options`.
Attempt run_attempt(const CheckTarget& t, const net::Target& target, net::tls::TlsClientConfig tls, Millis timeout,
                    bool send_options, std::optional<Error>* config_error) {
  Attempt a;
  boost::asio::io_context io;
  net::AsioTimers timers(io);
  net::TransportConfig tc;
  tc.tls = std::move(tls);
  tc.connect_timeout = timeout;
  tc.keepalive_interval = Millis(0);
  auto transport = net::TransportLayer::create(io, timers, tc, true);
  if (!transport) {
    *config_error = transport.error();
    return a;
  }
  txn::TransactionLayer txns(timers);
  (*transport)->set_handler([&txns](Message m, const net::FlowPtr&) {
    if (m.is_response()) txns.on_response(m);  // requests from the server are not for us
  });
  (*transport)->set_tls_observer([&a](const net::Target&, SSL* ssl) {
    a.chain = net::tls::peer_chain(ssl);
    a.handshake = !a.chain.empty();
    a.client_auth = net::tls::client_auth(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) {
      a.version = SSL_get_version(ssl);
      const char* std_name = SSL_CIPHER_standard_name(c);
      a.cipher = std_name != nullptr ? std_name : SSL_CIPHER_get_name(c);
    }
    // Verified: a certificate arrived, the chain and the RFC 5922 identity check passed.
    a.verified = SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK &&
                 !net::tls::verify_failure(ssl).has_value();
  });

  net::FlowPtr flow;
  Clock::time_point sent_at{};
  auto finish = [&io] { io.stop(); };
  (*transport)->connect(target, [&](Result<net::FlowPtr> r) {
    if (!r) {
      a.connect_error = r.error();
      finish();
      return;
    }
    flow = *r;
    if (!send_options) {
      finish();
      return;
    }
    // With TLS 1.3 a refused client certificate arrives as an alert after the handshake
    // (RFC 8446 section 4.4.2.4): the flow closes with the explained tls-* error.
    flow->on_closed = [&](const Error& e) {
      if (!a.options.answered && !a.options.error) a.options.error = e;
      finish();
    };
    auto m = build_options(t, *flow);
    if (!m) {
      a.options.error = m.error();
      finish();
      return;
    }
    txn::Channel ch{[f = flow](const std::string& w) { return f->send(w); }, true, ""};
    txn::ClientCallbacks cb;
    cb.on_response = [&](const Message& resp) {
      if (resp.status() < 200 || a.options.answered) return;
      a.options.answered = true;
      a.options.status = resp.status();
      a.options.reason = std::string(resp.reason());
      a.options.time_ms = static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - sent_at).count());
      const sip::Header* h = resp.find(HeaderId::kServer);
      if (h == nullptr) h = resp.find(HeaderId::kUserAgent);
      if (h != nullptr) a.options.server = std::string(h->value);
      finish();
    };
    cb.on_timeout = [&] {
      a.options.error = make_error("timeout", "no final response to OPTIONS (Timer F, RFC 3261 section 17.1.2.2)");
      finish();
    };
    cb.on_transport_error = [&](const Error& e) {
      a.options.error = e;
      finish();
    };
    sent_at = Clock::now();
    a.options.sent = true;
    timers.schedule(timeout, [&a, timeout, finish] {
      if (a.options.answered || a.options.error) return;
      a.options.error = make_error("timeout", "no response to OPTIONS within " +
                                                  std::to_string(timeout.count() / 1000) + " s");
      finish();
    });
    if (auto st = txns.send_request(std::move(*m), std::move(ch), std::move(cb)); !st) {
      a.options.error = st.error();
      finish();
    }
  });
  // connect_timeout bounds the handshake; the OPTIONS transaction gets the same again.
  io.run_for(timeout * 2 + Millis(500));
  if (!a.connect_error && !flow)
    a.connect_error = make_error("timeout", "no TLS connection to " + target.endpoint.to_string() + " within " +
                                                std::to_string(timeout.count() / 1000) + " s");
  if (send_options && flow && a.options.sent && !a.options.answered && !a.options.error)
    a.options.error = make_error("timeout", "no response to OPTIONS within " +
                                                std::to_string(timeout.count() / 1000) + " s");
  if (flow) {
    flow->on_closed = nullptr;
    flow->close();
  }
  return a;
}

Result<net::Target> locate_server(const CheckTarget& t, Millis timeout) {
  boost::asio::io_context io;
  auto dns = net::DnsResolver::create(io, {});
  if (!dns) return dns.error();
  std::optional<Result<std::vector<net::Target>>> found;
  net::ServerUri su{t.host, t.port, t.protocol, t.sips};
  net::locate(**dns, su, [&](Result<std::vector<net::Target>> r) {
    found.emplace(std::move(r));
    io.stop();
  });
  io.run_for(timeout);
  if (!found) return make_error("dns-failed", "no DNS answer for '" + t.host + "' within the timeout");
  if (!*found) return found->error();
  if ((*found)->empty()) return make_error("dns-failed", "'" + t.host + "' has no address for SIP over TLS");
  return (**found).front();
}

}  // namespace

std::optional<Error> CheckReport::error() const {
  if (verdict) return verdict;
  if (!verified) return make_error(net::tls::kErrHandshake, "the server certificate was not verified");
  if (options.error) return options.error;
  if (!options.answered) return make_error("timeout", "no response to OPTIONS");
  return std::nullopt;
}

Result<CheckReport> check_server(const CheckOptions& o) {
  auto t = parse_check_uri(o.uri);
  if (!t) return t.error();
  if (!o.client_key.empty() && o.client_cert.empty())
    return make_error("usage", "--client-key needs --client-cert");

  net::tls::TlsClientConfig tls;
  tls.ca_files = o.ca_files;
  tls.use_system_store = o.ca_files.empty();
  tls.client_cert = o.client_cert;
  tls.client_key = o.client_key;
  tls.session_tickets = false;  // every attempt is a full handshake that shows the whole chain

  auto target = locate_server(*t, o.timeout);
  if (!target) return target.error();

  CheckReport r;
  r.uri = o.uri;
  r.server_name = target->server_name;
  r.address = target->endpoint.to_string();
  r.local_clock = std::time(nullptr);
  r.client_cert.configured = !o.client_cert.empty();

  std::optional<Error> config_error;
  Attempt a = run_attempt(*t, *target, tls, o.timeout, true, &config_error);
  if (config_error) return *config_error;
  r.verified = a.verified;
  if (!a.verified) r.verdict = a.connect_error ? *a.connect_error : make_error(net::tls::kErrHandshake, "not verified");
  r.options = a.options;
  if (a.verified && a.connect_error) r.options.error = a.connect_error;

  // A certificate the phone refuses: look again without verification, to show the chain as
  // sent and whether the SIP service answers at all (clearly marked as unverified).
  if (!a.verified && a.connect_error && is_certificate_error(a.connect_error->code)) {
    auto loose = tls;
    loose.verify_server = false;
    Attempt b = run_attempt(*t, *target, loose, o.timeout, true, &config_error);
    if (a.chain.empty()) a.chain = b.chain;
    if (a.version.empty()) {
      a.version = b.version;
      a.cipher = b.cipher;
    }
    a.client_auth = b.client_auth;
    a.handshake = a.handshake || b.handshake;
    r.options = b.options;
    if (b.connect_error) r.options.error = b.connect_error;
    r.options.unverified = true;
  }
  r.handshake = a.handshake;
  r.tls_version = a.version;
  r.cipher = a.cipher;
  r.chain = std::move(a.chain);

  // Client certificate: asked for? ours sent? Refusal shows up as tls-client-cert-required,
  // in the handshake (TLS 1.2) or right after it (TLS 1.3).
  r.client_cert.requested = a.client_auth.requested;
  r.client_cert.sent = a.client_auth.sent;
  const std::optional<Error>& failure = r.options.error ? r.options.error : a.connect_error;
  bool refused = failure && failure->code == net::tls::kErrClientCertRequired;
  if (refused) {
    r.client_cert.requested = true;
    r.client_cert.accepted = false;
  } else if (r.client_cert.requested && r.options.answered) {
    r.client_cert.accepted = true;
  }

  if (o.probe_legacy) {
    for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
      LegacyProbe p = probe_legacy_version(*target, v, o.timeout);
      if (p.accepted && *p.accepted) r.warnings.push_back(legacy_version_finding(p.version));
      r.legacy.push_back(std::move(p));
    }
  }
  auto chain_findings = assess_chain(r.chain, r.local_clock);
  r.warnings.insert(r.warnings.begin(), chain_findings.begin(), chain_findings.end());
  return r;
}

}  // namespace exphone::tools::check_server
