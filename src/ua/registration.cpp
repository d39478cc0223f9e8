#include "ua/registration.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "core/random.h"
#include "core/text.h"
#include "ua/flow_channel.h"

namespace exphone::ua {

using net::Protocol;
using sip::HeaderId;
using sip::Message;

std::string_view to_string(RegistrationClient::State s) {
  switch (s) {
    case RegistrationClient::State::kIdle: return "idle";
    case RegistrationClient::State::kRegistering: return "registering";
    case RegistrationClient::State::kRegistered: return "registered";
    case RegistrationClient::State::kUnregistering: return "unregistering";
    case RegistrationClient::State::kUnregistered: return "unregistered";
    case RegistrationClient::State::kFailed: return "failed";
  }
  return "idle";
}

Result<RegistrarAddress> registrar_address(const AccountSettings& a) {
  return registrar_address(a, a.registrar.empty() ? "sip:" + a.domain : a.registrar);
}

Result<RegistrarAddress> registrar_address(const AccountSettings& a, const std::string& text) {
  auto uri = sip::parse_uri(text);
  if (!uri || !uri->is_sip_or_sips())
    return make_error("config", "registrar '" + text + "' is not a sip: or sips: URI");
  RegistrarAddress r;
  r.host = std::string(uri->host);
  r.sips = uri->scheme == sip::Scheme::kSips;
  // RFC 3263 section 4.1: an explicit transport param wins; sips implies TLS; else UDP.
  if (a.transport) {
    r.protocol = *a.transport;
  } else if (auto t = uri->params.get("transport")) {
    auto p = net::parse_protocol(*t);
    if (!p) return make_error("config", "registrar transport '" + std::string(*t) + "' is not udp, tcp, tls, ws or wss");
    r.protocol = *p;
  } else {
    r.protocol = r.sips ? Protocol::kTls : Protocol::kUdp;
  }
  if (r.sips && !net::uses_tls(r.protocol))
    return make_error("config", "a sips: registrar needs transport tls or wss (RFC 3261 section 26.2.2)");
  r.port = uri->has_port ? uri->port : 0;  // 0: from SRV, else the protocol's default
  r.request_uri = std::string(r.sips ? "sips:" : "sip:") + uri->host_port();
  r.explicit_transport = a.transport.has_value() || uri->params.has("transport");
  return r;
}

RegistrationClient::RegistrationClient(boost::asio::io_context&, net::TransportLayer& transport,
                                       txn::TransactionLayer& txns, net::DnsResolver& dns, AccountSettings settings)
    : transport_(transport),
      txns_(txns),
      dns_(dns),
      settings_(std::move(settings)),
      digest_(settings_.auth_user.empty() ? settings_.user : settings_.auth_user, settings_.password) {
  // section 10.2: the same Call-ID for all registrations of this UA to this registrar
  call_id_ = random_hex(16) + "@exphone";
  from_tag_ = random_hex(8);
  requested_expires_ = settings_.expires;
}

RegistrationClient::~RegistrationClient() {
  *alive_ = false;
  auto& timers = txns_.timers();
  if (refresh_timer_) timers.cancel(refresh_timer_);
  if (expiry_timer_) timers.cancel(expiry_timer_);
  if (retry_timer_) timers.cancel(retry_timer_);
  if (probe_timer_) timers.cancel(probe_timer_);
  if (start_timer_) timers.cancel(start_timer_);
  if (flow_) flow_->on_closed = nullptr;
}

void RegistrationClient::changed() {
  if (on_change_) on_change_(status_);
}

void RegistrationClient::start() {
  started_ = Clock::now();
  registrar_uris_.clear();
  registrar_uris_.push_back(settings_.registrar.empty() ? "sip:" + settings_.domain : settings_.registrar);
  for (const auto& b : settings_.backup_registrars) registrar_uris_.push_back(b);
  failover_ = RegistrarFailover(registrar_uris_.size());
  status_.state = State::kRegistering;
  // A site-wide power return starts every phone at once: a small random delay spreads the
  // first REGISTERs (the daemon only; RFC 5626 section 4.5 spreads the later ones).
  Millis delay = settings_.persistent ? startup_delay(Millis{settings_.startup_jitter_ms}, random_unit()) : Millis{0};
  if (delay.count() <= 0) return locate_current();
  std::weak_ptr<bool> alive = alive_;
  start_timer_ = txns_.timers().schedule(delay, [this, alive] {
    if (alive.expired()) return;
    start_timer_ = 0;
    locate_current();
  });
}

std::string RegistrationClient::where_uri(const std::string& uri) const {
  // With an outbound proxy the request still names the registrar, but goes to the proxy, which
  // is located instead (RFC 3261 section 8.1.2; RFC 3263 applies to the proxy's URI).
  return settings_.outbound_proxy.empty() ? uri : settings_.outbound_proxy;
}

void RegistrationClient::locate_current() {
  const std::string& current = registrar_uris_[failover_.trying()];
  auto r = registrar_address(settings_, current);
  if (!r) {
    fail(r.error());
    return;
  }
  registrar_ = *r;
  status_.registrar_uri = current;
  status_.registrar_index = failover_.trying();
  route_.clear();
  auto w = registrar_address(settings_, where_uri(current));
  if (!w) {
    fail(w.error());
    return;
  }
  RegistrarAddress where = *w;
  if (!settings_.outbound_proxy.empty()) {
    std::string proxy = settings_.outbound_proxy;
    route_ = "<" + proxy + (proxy.find(";lr") == std::string::npos ? ";lr" : "") + ">";
  }
  net::ServerUri uri{where.host, where.port ? std::optional<std::uint16_t>(where.port) : std::nullopt,
                     where.explicit_transport ? std::optional<net::Protocol>(where.protocol) : std::nullopt,
                     where.sips};
  std::weak_ptr<bool> alive = alive_;
  net::locate(dns_, uri, [this, alive](Result<std::vector<net::Target>> t) {
    if (alive.expired()) return;
    if (!t) {
      fail(t.error());
      return;
    }
    targets_ = std::move(*t);
    target_index_ = 0;
    use_target();
  });
}

void RegistrationClient::use_target() {
  target_ = targets_[target_index_];
  registrar_.protocol = target_->protocol;
  status_.transport = std::string(net::to_string(target_->protocol));
  status_.registrar = target_->endpoint.to_string();
  if (flow_) flow_->on_closed = nullptr;
  flow_.reset();
  open_flow();
}

bool RegistrationClient::fail_over(const Error& e) {
  // RFC 3263 section 4.3: on a transport failure or timeout try the next target, then the next
  // registrar. Authentication and explicit rejections are answers, not failures of a server.
  static constexpr std::string_view kRetryable[] = {"transport-failed", "transport-closed", "timeout", "dns-failed",
                                                    "keepalive-timeout", "registrar-unavailable"};
  // A failed failback attempt always returns to the backup, whatever the primary said.
  bool retryable = (text::istarts_with(e.code, "tls-") && e.code != "tls-config") || failover_.failing_back();
  for (auto c : kRetryable) retryable = retryable || e.code == c;
  if (!retryable) return false;
  if (!first_error_) first_error_ = e;
  if (target_index_ + 1 < targets_.size() && !failover_.failing_back()) {
    ++target_index_;
    use_target();
    return true;
  }
  std::size_t from = failover_.trying();
  bool was_failback = failover_.failing_back();
  failback_.reset();  // the backup's binding stays; its flow is reused by the next attempt
  if (failover_.failed(registrar_uris_[from] + ": " + e.code)) {
    if (!was_failback) ++status_.failovers;
    std::cerr << "registration " << settings_.name << ": registrar " << registrar_uris_[from] << " failed (" << e.code
              << "), trying " << registrar_uris_[failover_.trying()] << "\n";
    status_.state = State::kRegistering;
    status_.failover_reason = failover_.reason();
    locate_current();
    return true;
  }
  return false;
}

void RegistrationClient::open_flow() {
  if (registrar_.protocol == Protocol::kUdp) {
    auto f = transport_.udp_flow(target_->endpoint);
    if (!f) {
      fail(f.error());
      return;
    }
    flow_ = *f;
    send_register(requested_expires_, digest_.preemptive("REGISTER", registrar_.request_uri));
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  transport_.connect(*target_, [this, alive](Result<net::FlowPtr> r) {
    if (alive.expired()) return;
    if (!r) {
      fail(r.error());
      return;
    }
    flow_ = *r;
    if (flow_->tls_info()) status_.tls = *flow_->tls_info();
    flow_->on_closed = [this, alive](const Error& e) {
      if (alive.expired()) return;
      if (failover_.failing_back()) {
        // the primary's new flow died before it took the binding: the pending REGISTER's
        // transport error or timeout returns to the backup (fail_over)
        flow_.reset();
        return;
      }
      bool was_registered = status_.registered || lapsed_;  // a lapsed binding is recovered too
      status_.registered = false;
      flow_.reset();
      if (status_.state == State::kUnregistering || status_.state == State::kUnregistered) return;
      if (was_registered) failover_.lost(registrar_uris_[failover_.trying()] + ": " + e.code);
      status_.error = e;
      changed();
      // RFC 5626 section 4.4.1: a dead flow is replaced and the binding refreshed over the new one
      if (was_registered && settings_.recover_flows) {
        status_.state = State::kRegistering;
        retry_count_ = 0;
        open_flow();
      }
    };
    send_register(requested_expires_, digest_.preemptive("REGISTER", registrar_.request_uri));
  });
}

std::string RegistrationClient::contact_uri() const {
  net::Endpoint local = flow_ ? flow_->local() : net::Endpoint{};
  std::string uri = std::string(registrar_.sips ? "sips:" : "sip:") + settings_.user + "@" + local.to_string();
  if (registrar_.protocol != Protocol::kUdp) uri += ";transport=" + std::string(net::to_string(registrar_.protocol));
  return uri;
}

Result<Message> RegistrationClient::make_register(const net::FlowPtr& flow, const RegistrarAddress& reg, const std::string& route,
                                          const std::string& contact, std::uint32_t expires,
                                          const std::vector<DigestSession::Header>& auth) {
  auto req = Message::request("REGISTER", reg.request_uri);
  if (!req) return req.error();
  Message& m = *req;
  std::string scheme = reg.sips ? "sips:" : "sip:";
  std::string aor = scheme + settings_.user + "@" + settings_.domain;
  std::string display = settings_.display_name.empty() ? "" : "\"" + settings_.display_name + "\" ";
  m.add_header(HeaderId::kVia, "SIP/2.0/" + std::string(net::via_token(reg.protocol)) + " " +
                                   flow->local().to_string() + ";branch=" + txn::TransactionLayer::new_branch() + ";rport");
  m.add_header(HeaderId::kMaxForwards, "70");
  if (!route.empty()) m.add_header(HeaderId::kRoute, route);
  m.add_header(HeaderId::kFrom, display + "<" + aor + ">;tag=" + from_tag_);
  m.add_header(HeaderId::kTo, display + "<" + aor + ">");
  m.add_header(HeaderId::kCallId, call_id_);
  m.add_header(HeaderId::kCSeq, std::to_string(++cseq_) + " REGISTER");
  m.add_header(HeaderId::kContact, register_contact(contact, settings_.outbound, expires));
  m.add_header(HeaderId::kExpires, std::to_string(expires));
  m.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY");
  if (settings_.outbound) m.add_header(HeaderId::kSupported, kOutboundSupported);  // RFC 5626 section 4.2.1
  m.add_header(HeaderId::kUserAgent, settings_.user_agent);
  for (const auto& h : auth) m.add_header(h.name, h.value);
  m.add_header(HeaderId::kContentLength, "0");
  return std::move(*req);
}

void RegistrationClient::send_register(std::uint32_t expires, std::vector<DigestSession::Header> auth) {
  if (!flow_) {
    fail(make_error("transport-failed", "no flow to the registrar"));
    return;
  }
  auto req = make_register(flow_, registrar_, route_, contact_uri(), expires, auth);
  if (!req) {
    fail(req.error());
    return;
  }
  Message& m = *req;
  last_request_ = Message::parse(sip::serialize(m)).value();  // kept for the digest retry

  net::FlowPtr flow = flow_;
  txn::Channel ch = flow_channel(flow);
  std::weak_ptr<bool> alive = alive_;
  // Only the newest REGISTER drives the state: a late timeout of one sent over a flow that has
  // since been replaced (RFC 5626 section 4.5) must not start a failover.
  std::uint64_t gen = ++generation_;
  txn::ClientCallbacks cb;
  cb.on_response = [this, alive, gen](const Message& r) {
    if (!alive.expired() && gen == generation_) on_response(r);
  };
  cb.on_timeout = [this, alive, gen] {
    if (!alive.expired() && gen == generation_)
      fail(make_error("timeout", "no final response from the registrar " + status_.registrar));
  };
  cb.on_transport_error = [this, alive, gen](const Error& e) {
    if (!alive.expired() && gen == generation_) fail(e);
  };
  auto t = txns_.send_request(std::move(m), std::move(ch), std::move(cb));
  if (!t) fail(t.error());
}

void RegistrationClient::on_response(const Message& m) {
  int code = m.status();
  if (code < 200) return;
  status_.last_status = code;
  if (code < 300) {
    registered(m);
    return;
  }
  if (code == 401 || code == 407) {
    auto headers = digest_.answer(m, *last_request_);
    if (!headers) {
      fail(headers.error());
      return;
    }
    send_register(requested_expires_, std::move(*headers));
    return;
  }
  if (code == 423 && interval_retries_ < 3) {
    // section 10.2.8: retry with at least Min-Expires
    std::optional<std::uint32_t> min_expires;
    if (const sip::Header* min = m.find(HeaderId::kMinExpires))
      if (auto n = sip::parse_number_header(min->value)) min_expires = *n;
    if (min_expires && *min_expires > requested_expires_) {
      ++interval_retries_;
      requested_expires_ = *min_expires;
      send_register(requested_expires_, digest_.preemptive("REGISTER", registrar_.request_uri));
      return;
    }
  }
  fail(make_error(code == 503 || code == 408 || code == 480 ? "registrar-unavailable" : "registrar-rejected",
                  "registrar " + status_.registrar + " answered " + std::to_string(code) + " " + std::string(m.reason())));
}

void RegistrationClient::unregistered(std::optional<Error> e) {
  status_.state = State::kUnregistered;
  status_.registered = false;
  if (e) status_.error = std::move(e);
  changed();
  if (auto done = std::exchange(unregister_done_, nullptr)) done();
}

void RegistrationClient::registered(const Message& ok) {
  if (status_.state == State::kUnregistering) return unregistered(std::nullopt);
  // section 10.2.4: our binding's expiry is the expires param of our Contact in the 2xx,
  // else the Expires header, else what we asked for.
  std::uint32_t granted = requested_expires_;
  bool found = false;
  std::string mine = contact_uri();
  auto our = sip::parse_uri(mine);
  if (auto contacts = ok.contacts(); contacts && our) {
    for (const auto& c : *contacts) {
      if (c.star || !sip::uri_equal(c.address.uri, *our)) continue;
      if (auto e = c.expires()) {
        granted = *e;
        found = true;
      }
    }
  }
  if (!found)
    if (auto e = ok.expires()) granted = *e;
  if (!status_.registered && status_.registrations == 0)
    status_.elapsed_ms = static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - started_).count());
  status_.registered = true;
  status_.state = State::kRegistered;
  status_.outbound = settings_.outbound.has_value() && registrar_applied_outbound(ok);
  status_.expires = granted;
  status_.error.reset();
  ++status_.registrations;
  retry_count_ = 0;
  if (flow_ && flow_->tls_info()) status_.tls = *flow_->tls_info();
  if (failover_.failing_back() && failover_.trying() == 0) {
    (void)failover_.took_binding();
    ++status_.failbacks;
    remove_backup_binding();
  }
  failover_.registered();
  first_error_.reset();
  status_.registrar_index = failover_.active();
  status_.failover_reason = failover_.reason();
  status_.consecutive_failures = 0;
  status_.retry_in_ms = 0;
  lapsed_ = false;
  schedule_refresh(granted);
  schedule_expiry(granted);
  schedule_probe();
  changed();
}

void RegistrationClient::schedule_refresh(std::uint32_t expires) {
  auto& timers = txns_.timers();
  if (refresh_timer_) timers.cancel(refresh_timer_);
  refresh_timer_ = 0;
  if (expires == 0) return;
  // Refresh well before expiry: at 85 % (half for very short intervals).
  std::uint64_t ms = expires < 32 ? expires * 500ull : expires * 850ull;
  refresh_timer_ = timers.schedule(Millis{ms}, [this] {
    refresh_timer_ = 0;
    if (!flow_ || !flow_->is_open()) {
      open_flow();
      return;
    }
    send_register(requested_expires_, digest_.preemptive("REGISTER", registrar_.request_uri));
  });
}

void RegistrationClient::schedule_expiry(std::uint32_t expires) {
  auto& timers = txns_.timers();
  if (expiry_timer_) timers.cancel(expiry_timer_);
  expiry_timer_ = 0;
  if (expires == 0) return;
  // Section 10.2.4: the binding lasts `expires` seconds from the 2xx. A refresh the registrar took
  // and never answered fails only at Timer F (64*T1 = 32 s, section 17.1.2.2), later than the end
  // of an interval under ~3.5 min (refreshed at 85 %, or half below 32 s): the binding is gone at
  // the registrar by then, and so the account is shown unregistered. The refresh transaction
  // runs on: its 2xx registers again, its failure retries.
  std::weak_ptr<bool> alive = alive_;
  expiry_timer_ = timers.schedule(Millis{expires * 1000ull}, [this, alive] {
    if (alive.expired()) return;
    expiry_timer_ = 0;
    if (!status_.registered || status_.state != State::kRegistered) return;
    lapsed_ = true;
    status_.registered = false;
    status_.state = State::kRegistering;
    status_.error = make_error("registration-expired",
                               "the binding at " + status_.registrar + " expired before a refresh was answered");
    changed();
  });
}

void RegistrationClient::fail(Error e) {
  if (status_.state == State::kUnregistering) return unregistered(std::move(e));
  lapsed_ = false;
  if (fail_over(e)) return;
  if (first_error_ && status_.registrations == 0) e = *first_error_;  // the primary's reason
  bool recovering = (status_.registrations > 0 || settings_.persistent) && settings_.recover_flows && e.code != "config";
  status_.registered = false;
  status_.error = std::move(e);
  if (status_.registrations == 0)
    status_.elapsed_ms = static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - started_).count());
  if (recovering && status_.error->code != "auth-failed") {
    status_.state = State::kRegistering;
    changed();
    schedule_retry();
    return;
  }
  status_.state = State::kFailed;
  changed();
}

void RegistrationClient::schedule_retry() {
  // RFC 5626 section 4.5: every registrar failed; wait min(max-time, base-time * 2^(n-1)) times
  // a random 50..100 % after the n-th failed round in a row, then start over from the primary.
  // One flow per registration: "all flows failed" always holds here (base-time 30 s default).
  auto& timers = txns_.timers();
  if (retry_timer_) timers.cancel(retry_timer_);
  if (probe_timer_) timers.cancel(probe_timer_);
  probe_timer_ = 0;
  failover_.round_failed();
  ++retry_count_;
  Millis wait = backoff_wait(settings_.retry, failover_.consecutive_failures() - 1, true, random_unit());
  status_.consecutive_failures = failover_.consecutive_failures();
  status_.retry_in_ms = static_cast<long>(wait.count());
  std::cerr << "registration " << settings_.name << ": every registrar failed (" << failover_.consecutive_failures()
            << " in a row), next attempt in " << wait.count() << " ms\n";
  std::weak_ptr<bool> alive = alive_;
  retry_timer_ = timers.schedule(wait, [this, alive] {
    if (alive.expired()) return;
    retry_timer_ = 0;
    status_.retry_in_ms = 0;
    first_error_.reset();
    failover_.restart();
    locate_current();
  });
}

void RegistrationClient::schedule_probe() {
  auto& timers = txns_.timers();
  if (probe_timer_) timers.cancel(probe_timer_);
  probe_timer_ = 0;
  if (!failover_.probe_due() || settings_.failback_interval_s == 0) return;
  std::weak_ptr<bool> alive = alive_;
  probe_timer_ = timers.schedule(Millis{settings_.failback_interval_s * 1000ull}, [this, alive] {
    if (alive.expired()) return;
    probe_timer_ = 0;
    probe();
  });
}

void RegistrationClient::probe() {
  // Is the primary back? An OPTIONS to it (RFC 3261 section 11): any final response says it
  // processes requests again. Only one probe at a time; none while anything else is going on.
  if (probing_ || !failover_.probe_due() || status_.state != State::kRegistered) return schedule_probe();
  auto w = registrar_address(settings_, where_uri(registrar_uris_[0]));
  auto primary = registrar_address(settings_, registrar_uris_[0]);
  if (!w || !primary) return schedule_probe();
  probing_ = true;
  net::ServerUri uri{w->host, w->port ? std::optional<std::uint16_t>(w->port) : std::nullopt,
                     w->explicit_transport ? std::optional<net::Protocol>(w->protocol) : std::nullopt, w->sips};
  std::weak_ptr<bool> alive = alive_;
  RegistrarAddress reg = *primary;
  auto give_up = [this] {
    probing_ = false;
    if (probe_flow_ && probe_flow_ != flow_ && probe_flow_->reliable()) probe_flow_->close();
    probe_flow_.reset();
    schedule_probe();
  };
  net::locate(dns_, uri, [this, alive, reg, give_up](Result<std::vector<net::Target>> t) {
    if (alive.expired()) return;
    if (!t || t->empty()) return give_up();
    net::Target target = t->front();  // SRV order (RFC 2782): the most preferred
    auto send = [this, alive, reg, give_up](net::FlowPtr flow) {
      probe_flow_ = flow;
      auto m = Message::request("OPTIONS", reg.request_uri);
      if (!m) return give_up();
      std::string aor = std::string(reg.sips ? "sips:" : "sip:") + settings_.user + "@" + settings_.domain;
      m->add_header(HeaderId::kVia, "SIP/2.0/" + std::string(net::via_token(flow->protocol())) + " " +
                                        flow->local().to_string() + ";branch=" + txn::TransactionLayer::new_branch() + ";rport");
      m->add_header(HeaderId::kMaxForwards, "70");
      m->add_header(HeaderId::kFrom, "<" + aor + ">;tag=" + random_hex(8));
      m->add_header(HeaderId::kTo, "<" + aor + ">");
      m->add_header(HeaderId::kCallId, random_hex(16) + "@exphone");
      m->add_header(HeaderId::kCSeq, "1 OPTIONS");
      m->add_header(HeaderId::kUserAgent, settings_.user_agent);
      m->add_header(HeaderId::kContentLength, "0");
      txn::Channel ch = flow_channel(flow);
      txn::ClientCallbacks cb;
      cb.on_response = [this, alive, give_up](const Message& r) {
        if (alive.expired() || r.status() < 200) return;
        // 408/480/503 say "not available" (RFC 3261 section 21.5.4, RFC 3263 section 4.3)
        if (r.status() == 503 || r.status() == 408 || r.status() == 480) return give_up();
        probe_answered();
      };
      cb.on_timeout = [alive, give_up] {
        if (!alive.expired()) give_up();
      };
      cb.on_transport_error = [alive, give_up](const Error&) {
        if (!alive.expired()) give_up();
      };
      if (!txns_.send_request(std::move(*m), std::move(ch), std::move(cb))) give_up();
    };
    if (target.protocol == Protocol::kUdp) {
      auto f = transport_.udp_flow(target.endpoint);
      if (!f) return give_up();
      return send(*f);
    }
    transport_.connect(target, [alive, send, give_up](Result<net::FlowPtr> r) {
      if (alive.expired()) return;
      if (!r) return give_up();
      send(*r);
    });
  });
}

void RegistrationClient::probe_answered() {
  probing_ = false;
  probe_flow_.reset();  // a TCP/TLS probe connection is reused by the REGISTER (connection reuse)
  if (!failover_.probe_due() || status_.state != State::kRegistered || !flow_) return schedule_probe();
  std::cerr << "registration " << settings_.name << ": primary registrar " << registrar_uris_[0]
            << " answers again, failing back\n";
  // Keep the backup's binding (and its flow) until the primary has taken over.
  if (refresh_timer_) txns_.timers().cancel(refresh_timer_);
  refresh_timer_ = 0;
  failback_ = Leg{flow_, registrar_, route_, contact_uri()};
  flow_->on_closed = nullptr;
  flow_.reset();
  failover_.begin_failback();
  status_.state = State::kRegistering;
  locate_current();
}

void RegistrationClient::remove_backup_binding() {
  // RFC 3261 section 10.2.2: REGISTER with our Contact and expires 0 removes the backup's
  // binding, so the backup stops routing calls to us; one digest challenge is answered.
  if (!failback_) return;
  auto leg = std::make_shared<Leg>(std::move(*failback_));
  failback_.reset();
  if (!leg->flow || !leg->flow->is_open()) return;
  // The backup's connection is left open (calls placed over it may still run); the next
  // failover to that backup reuses it, so there is at most one per registrar.
  auto finish = [] {};
  std::weak_ptr<bool> alive = alive_;
  using Send = std::function<void(std::vector<DigestSession::Header>, int)>;
  auto send = std::make_shared<Send>();
  std::weak_ptr<Send> self = send;  // the pending transaction keeps it alive, nothing else
  *send = [this, alive, leg, finish, self](std::vector<DigestSession::Header> auth, int round) {
    auto m = make_register(leg->flow, leg->registrar, leg->route, leg->contact, 0, auth);
    if (!m) return finish();
    auto copy = Message::parse(sip::serialize(*m));
    if (!copy) return finish();
    auto request = std::make_shared<Message>(std::move(*copy));
    auto keep = self.lock();
    net::FlowPtr flow = leg->flow;
    txn::Channel ch = flow_channel(flow);
    txn::ClientCallbacks cb;
    cb.on_response = [this, alive, finish, keep, request, round](const Message& r) {
      if (alive.expired() || r.status() < 200) return;
      if ((r.status() == 401 || r.status() == 407) && round == 0 && keep)
        if (auto h = digest_.answer(r, *request)) return (*keep)(std::move(*h), 1);
      finish();
    };
    cb.on_timeout = [alive, finish] {
      if (!alive.expired()) finish();
    };
    cb.on_transport_error = [alive, finish](const Error&) {
      if (!alive.expired()) finish();
    };
    if (!txns_.send_request(std::move(*m), std::move(ch), std::move(cb))) finish();
  };
  (*send)(digest_.preemptive("REGISTER", leg->registrar.request_uri), 0);
}

void RegistrationClient::unregister(std::function<void()> done) {
  auto& timers = txns_.timers();
  if (refresh_timer_) timers.cancel(refresh_timer_);
  if (expiry_timer_) timers.cancel(expiry_timer_);
  if (retry_timer_) timers.cancel(retry_timer_);
  if (probe_timer_) timers.cancel(probe_timer_);
  if (start_timer_) timers.cancel(start_timer_);
  refresh_timer_ = expiry_timer_ = retry_timer_ = probe_timer_ = start_timer_ = 0;
  remove_backup_binding();  // shut down during a failback: the backup's binding goes too
  if (!status_.registered || !flow_ || !flow_->is_open()) {
    status_.state = State::kUnregistered;
    done();
    return;
  }
  status_.state = State::kUnregistering;
  unregister_done_ = std::move(done);
  send_register(0, digest_.preemptive("REGISTER", registrar_.request_uri));
}

}  // namespace exphone::ua
