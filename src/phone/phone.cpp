#include "phone/phone.h"

#include <algorithm>
#include <cctype>
#include <iostream>

#include "core/random.h"
#include "core/text.h"
#include "txn/server_transaction.h"
#include "ua/flow_channel.h"

namespace exphone::phone {

using sip::HeaderId;
using sip::Message;

Phone::Phone(CallEnv env, net::DnsResolver& dns, const Config& config)
    : env_(env), dns_(dns), config_(config), tag_(random_hex(8)) {
  settings_.local_user = config_.phone_user;
  settings_.media = config_.media;
  settings_.play_wav = config_.announcement;
  settings_.audio_device = config_.audio_device;
  settings_.echo = config_.echo;
  settings_.beep = config_.answer_beep;
  settings_.srtp_keylog_file = config_.srtp_keylog_file;
  settings_.media_timeout = std::chrono::milliseconds(std::int64_t{config_.media_timeout_s} * 1000);
  if (config_.uses_dtls()) {
    // Made by the first call that may use DTLS-SRTP; a configured file is checked now (warnings()).
    // Without a certificate offers fall back to SDES.
    settings_.dtls_identity = std::make_shared<DtlsIdentitySource>(config_.dtls_certificate);
    if (!config_.dtls_certificate.empty()) (void)settings_.dtls_identity->get();
  }
  for (ua::AccountSettings a : config_.accounts) {
    a.persistent = true;  // the daemon keeps trying (RFC 5626 section 4.5 backoff), docs/resilience.md
    auto c = std::make_unique<ua::RegistrationClient>(env_.io, env_.transport, env_.txns, dns_, a);
    auto* raw = c.get();
    raw->on_change([this, raw](const ua::RegistrationClient::Status&) {
      if (on_registration_change) on_registration_change(*raw);
    });
    accounts_.push_back(std::move(c));
  }
}

Phone::~Phone() = default;

void Phone::start() {
  for (auto& a : accounts_) a->start();
  if (!config_.emergency.targets.empty() || !config_.emergency.input_file.empty())
    hotline_ = std::make_unique<Hotline>(*this, env_.txns.timers(), config_.emergency);
}

Status Phone::press(const std::string& button) {
  if (button != "emergency") return make_error("ctl-usage", "unknown button '" + button + "' (emergency)");
  if (!hotline_) return make_error("emergency-no-target", "no [emergency] targets are configured");
  return hotline_->press();
}

void Phone::shutdown(std::function<void()> done) {
  (void)hang_up();
  auto waiting = std::make_shared<std::size_t>(0);
  for (auto& a : accounts_)
    if (a->status().registered) ++*waiting;
  if (*waiting == 0) return done();
  for (auto& a : accounts_)
    if (a->status().registered)
      a->unregister([waiting, done] {
        if (--*waiting == 0) done();
      });
}


std::optional<std::size_t> Phone::account_of(const net::FlowPtr& flow) const {
  for (std::size_t i = 0; i < accounts_.size(); ++i) {
    const net::FlowPtr& f = accounts_[i]->flow();
    if (!f) continue;
    if (f == flow) return i;
    // UDP has no connection: the registrar's address is what identifies it
    if (f->protocol() == flow->protocol() && f->remote() == flow->remote()) return i;
  }
  return std::nullopt;
}

bool Phone::from_registrar(const net::FlowPtr& flow) const { return account_of(flow).has_value(); }

void Phone::use_account_media(CallSettings& s, std::size_t account) const {
  ua::MediaPolicy p = config_.media_for(account);
  s.media.srtp = p.srtp;
  s.media.key_exchange = p.key_exchange;
}

net::FlowPtr Phone::replacement_flow(const net::FlowPtr& dead) const {
  for (const auto& a : accounts_) {
    const net::FlowPtr& f = a->flow();
    if (f && f != dead && f->is_open() && f->protocol() == dead->protocol() && f->remote() == dead->remote()) return f;
  }
  return nullptr;
}

bool Phone::authorized(const Message& m, const net::FlowPtr& flow) {
  if (from_registrar(flow)) return true;
  // inside a call: the peer (or proxy) the call's own flow leads to
  if (Call* c = owner(m); c && c->flow() && c->flow()->protocol() == flow->protocol() && c->flow()->remote() == flow->remote())
    return true;
  if (flow->tls_info() && flow->tls_info()->verified) return true;  // mutual TLS, verified client
  std::string peer = flow->remote().address.to_string();
  if (std::find(config_.allow_peers.begin(), config_.allow_peers.end(), peer) != config_.allow_peers.end()) return true;
  // at most one line a second: a flood must not flood the log too
  auto now = std::chrono::steady_clock::now();
  if (now - refused_logged_at_ < std::chrono::seconds(1)) {
    ++refused_unlogged_;
    return false;
  }
  refused_logged_at_ = now;
  std::cerr << "refused " << m.method() << " from " << flow->remote().to_string() << " over "
            << net::to_string(flow->protocol()) << ": not the registrar, not a verified TLS client, not in allow_peers (403)";
  if (refused_unlogged_) std::cerr << "; " << refused_unlogged_ << " more refused since the last such line";
  std::cerr << "\n";
  refused_unlogged_ = 0;
  return false;
}

Call* Phone::owner(const Message& m) {
  auto it = calls_.find(std::string(m.call_id()));
  if (it == calls_.end() || !it->second->owns(m)) return nullptr;
  return it->second.get();
}

Call* Phone::find(const std::string& call_id) {
  auto it = calls_.find(call_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

bool Phone::on_request(const Message& m, const net::FlowPtr& flow) {
  std::string_view method = m.method();
  if (method == "ACK") {
    // the ACK of our 2xx (section 13.3.1.4); anything else is dropped (section 17.2.3)
    if (authorized(m, flow))
      if (Call* c = owner(m)) c->on_request(m, flow, nullptr);
    return true;
  }
  auto to = m.to();
  bool in_dialog = to && !to->tag().empty();
  // An out-of-dialog OPTIONS touches no call and no state: monitoring and PBX keepalives get
  // their 200 from anyone (the stack answers it).
  if (method == "OPTIONS" && !in_dialog) return false;
  if (!authorized(m, flow)) {
    // Stateless (RFC 3261 section 8.2.7): a stranger's request costs no transaction, so a storm
    // of them (scanners, INVITE floods without ACK) cannot fill the table and lock out the
    // registrar. A retransmission simply gets the same 403 again.
    (void)flow->send(sip::serialize(txn::make_response(m, 403, "Forbidden", tag_)));
    return true;
  }
  txn::Channel ch = ua::flow_channel(flow);
  txn::ServerCallbacks cbs;
  if (method == "INVITE" && !in_dialog) {
    // the call keeps a pointer to this transaction while it rings: tell it when the transaction
    // ends early (a transport error), before the layer reaps it
    std::weak_ptr<bool> alive = alive_;
    cbs.on_terminated = [this, alive, id = std::string(m.call_id())] {
      if (alive.expired()) return;
      if (Call* c = find(id)) c->invite_transaction_gone();
    };
  }
  auto st = env_.txns.create_server(m, std::move(ch), std::move(cbs));
  if (!st) {
    if (st.error().code == "txn-limit") {
      // every slot holds a request still waiting for its answer: refuse statelessly, come back later
      auto r = txn::make_response(m, 503, "Service Unavailable", tag_);
      r.add_header(HeaderId::kRetryAfter, "5");
      (void)flow->send(sip::serialize(r));
    }
    return true;
  }
  if (method == "CANCEL" || in_dialog) {
    if (Call* c = owner(m)) {
      c->on_request(m, flow, *st);
      return true;
    }
    // section 12.2.2 / 9.2: no such dialog or transaction
    (void)(*st)->respond(txn::make_response(m, 481, "Call/Transaction Does Not Exist", tag_));
    return true;
  }
  if (method == "INVITE") {
    new_call(m, flow, *st);
    return true;
  }
  if (method == "BYE") {
    (void)(*st)->respond(txn::make_response(m, 481, "Call/Transaction Does Not Exist", tag_));
    return true;
  }
  auto r = txn::make_response(m, 405, "Method Not Allowed", tag_);
  r.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  (void)(*st)->respond(r);
  return true;
}

void Phone::new_call(const Message& m, const net::FlowPtr& flow, txn::ServerTransaction* st) {
  std::string call_id(m.call_id());
  if (calls_.count(call_id)) {
    // section 8.2.2.2: the same request arriving again by another path (a fork loop)
    (void)st->respond(txn::make_response(m, 482, "Loop Detected", tag_));
    return;
  }
  std::size_t live = 0;
  for (const auto& [id, c] : calls_) live += c->state() != Call::State::kTerminated;
  if (live >= kMaxCalls && !shed_oldest_ringing()) {
    (void)st->respond(txn::make_response(m, 486, "Busy Here", tag_));
    return;
  }
  CallSettings s = settings_;
  // a call from the PBX follows the policy of the account it arrived on; peer to peer, [phone]'s
  if (auto account = account_of(flow)) use_account_media(s, *account);
  if (!config_.record_dir.empty()) {
    // one file per call; the Call-ID comes from the peer, so only safe characters reach the path
    std::string name;
    for (char ch : call_id) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    s.record_wav = config_.record_dir + "/" + name.substr(0, 64) + ".wav";
  }
  auto call = Call::incoming(env_, std::move(s), m, flow, st, [this](Call& c) { ended(c); });
  Call* raw = call.get();
  raw->on_state = [this](Call& c) { state_changed(c); };
  raw->replacement_flow = [this](const net::FlowPtr& dead) { return replacement_flow(dead); };
  if (on_call_state) on_call_state(*raw);
  calls_[call_id] = std::move(call);
  arrival_[call_id] = ++arrivals_;
  // its 180 could not be sent (the transaction ended before the call was in calls_)
  if (st->state() == txn::ServerTransaction::State::kTerminated) raw->invite_transaction_gone();
  if (config_.auto_answer && raw->state() == Call::State::kRinging) {
    std::string why = auto_answer_refusal(m, flow);
    if (why.empty()) (void)raw->answer();
    else std::cerr << "call " << call_id << " rings instead of auto-answering: " << why << "\n";
  }
}

bool Phone::shed_oldest_ringing() {
  Call* oldest = nullptr;
  std::uint64_t seq = 0;
  for (const auto& [id, c] : calls_) {
    if (!c->incoming() || c->state() != Call::State::kRinging) continue;
    auto a = arrival_.find(id);
    std::uint64_t n = a == arrival_.end() ? 0 : a->second;
    if (!oldest || n < seq) oldest = c.get(), seq = n;
  }
  if (!oldest) return false;
  std::cerr << "call " << oldest->call_id() << " shed (480): " << kMaxCalls
            << " calls and a new INVITE arrived; the oldest unanswered one goes first\n";
  return static_cast<bool>(oldest->reject(480, "Temporarily Unavailable"));
}

// Intercom auto-answer (issue "Intercom and emergency duties"): allowlisted AND authenticated.
std::string Phone::auto_answer_refusal(const Message& m, const net::FlowPtr& flow) const {
  // over TLS with a verified peer: the registrar's flow (its server certificate) or a client
  // whose certificate verified against ca_files (mutual TLS on our listener)
  bool authenticated = flow->tls_info() && flow->tls_info()->verified;
  if (!authenticated && !config_.auto_answer_unauthenticated)
    return "the INVITE did not arrive over TLS from a verified peer (the registrar, or an mTLS client)";
  std::string address = flow->remote().address.to_string();
  if (std::find(config_.allow_peers.begin(), config_.allow_peers.end(), address) != config_.allow_peers.end()) return "";
  if (auto from = m.from()) {
    std::string user(from->uri.user), host(from->uri.host);
    for (const auto& who : config_.auto_answer_from)
      if (who == user || who == user + "@" + host) return "";
  }
  return "the caller is not in [phone] allow_peers or auto_answer_from";
}

void Phone::ended(Call& call) {
  CallReport r = call.report();
  std::string id = call.call_id();
  if (hotline_ && hotline_->is_emergency(id)) r.emergency = true;
  calls_.erase(id);  // destroys `call`
  arrival_.erase(id);
  if (on_call_end) on_call_end(r);
  if (hotline_) hotline_->call_ended(id, r.answered, r.error ? r.error->code : (r.final_status ? std::to_string(r.final_status) : r.ended_by));
}

void Phone::state_changed(Call& c) {
  if (hotline_ && c.state() == Call::State::kConfirmed) hotline_->call_answered(c.call_id());
  if (on_call_state) on_call_state(c);
}

namespace {

bool is_ip_literal(std::string_view host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(std::string(host), ec);
  return !ec;
}

}  // namespace

Result<std::string> Phone::dial(const std::string& target, CallSettings settings, const std::string& account) {
  if (calls_.size() >= kMaxCalls) return make_error("call-limit", "too many calls");
  Route route;
  route.user_agent = "exphone";
  auto uri = sip::parse_uri(target);
  bool p2p = uri && uri->is_sip_or_sips() && is_ip_literal(uri->host) && account.empty();
  if (p2p) {
    // section 4.1 of RFC 3263: an IP literal with no transport means UDP (TLS for sips:)
    net::Protocol p = uri->scheme == sip::Scheme::kSips ? net::Protocol::kTls : net::Protocol::kUdp;
    if (auto t = uri->params.get("transport")) {
      auto q = net::parse_protocol(*t);
      if (!q) return make_error("call-bad-target", "unknown transport " + std::string(*t));
      p = *q;
    }
    if (uri->scheme == sip::Scheme::kSips && !net::uses_tls(p))
      return make_error("call-bad-target", "a sips: target needs TLS (RFC 5630)");
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(std::string(uri->host), ec);
    route.request_uri = target;
    route.next_hop = net::Target{p, net::Endpoint{addr, uri->has_port ? uri->port : net::default_port(p)}, std::string(uri->host)};
    // route.from stays empty: the call names itself by the address the flow leaves from
  } else {
    // through the PBX, over the account's registration flow (RFC 5923 style reuse)
    ua::RegistrationClient* acc = nullptr;
    for (std::size_t i = 0; i < accounts_.size() && !acc; ++i) {
      auto& a = accounts_[i];
      if ((account.empty() || a->settings().name == account) && a->status().registered && a->flow() && a->flow()->is_open()) {
        acc = a.get();
        use_account_media(settings, i);
      }
    }
    if (!acc) return make_error("call-not-registered", account.empty() ? "no account is registered" : "account " + account + " is not registered");
    const ua::AccountSettings& s = acc->settings();
    bool tls = net::uses_tls(acc->flow()->protocol());
    // RFC 5630: with SDES over TLS, a sips: target asks every proxy to keep each hop on TLS
    std::string scheme = tls ? "sips:" : "sip:";
    if (!uri) {
      if (target.find('@') != std::string::npos) route.request_uri = scheme + target;
      else route.request_uri = scheme + target + "@" + s.domain;
    } else {
      route.request_uri = target;
    }
    std::string display = s.display_name.empty() ? "" : "\"" + s.display_name + "\" ";
    route.from = display + "<" + scheme + s.user + "@" + s.domain + ">";
    route.flow = acc->flow();
    if (!s.outbound_proxy.empty())
      route.route_header = "<" + s.outbound_proxy + (s.outbound_proxy.find(";lr") == std::string::npos ? ";lr" : "") + ">";
    route.auth_user = s.auth_user.empty() ? s.user : s.auth_user;
    route.password = s.password;
    route.user_agent = s.user_agent;
    settings.local_user = s.user;
  }
  auto call = Call::dial(env_, std::move(settings), std::move(route), [this](Call& c) { ended(c); });
  std::string id = call->call_id();
  call->on_state = [this](Call& c) { state_changed(c); };
  call->replacement_flow = [this](const net::FlowPtr& dead) { return replacement_flow(dead); };
  calls_[id] = std::move(call);
  return id;
}

Status Phone::answer(const std::string& call_id) {
  for (auto& [id, c] : calls_)
    if ((call_id.empty() || id == call_id) && c->incoming() && c->state() == Call::State::kRinging) return c->answer();
  return make_error("call-not-found", call_id.empty() ? "no call is ringing" : "no ringing call " + call_id);
}

Status Phone::hang_up(const std::string& call_id) {
  if (call_id.empty()) {
    std::vector<Call*> all;
    for (auto& [id, c] : calls_) all.push_back(c.get());
    for (Call* c : all) c->hang_up();
    return Ok{};
  }
  Call* c = find(call_id);
  if (!c) return make_error("call-not-found", "no call " + call_id);
  c->hang_up();
  return Ok{};
}

Call* Phone::established(const std::string& call_id) {
  if (!call_id.empty()) return find(call_id);
  for (auto& [id, call] : calls_)
    if (call->state() == Call::State::kConfirmed) return call.get();
  return nullptr;
}

Status Phone::hold(const std::string& call_id, bool on) {
  Call* c = established(call_id);
  if (!c) return make_error("call-not-found", "no such call");
  return c->hold(on);
}

Status Phone::send_dtmf(const std::string& call_id, const std::string& digits) {
  Call* c = established(call_id);
  if (!c) return make_error("call-not-found", "no such call");
  return c->send_dtmf(digits);
}

std::vector<std::string> Phone::warnings() const {
  std::vector<std::string> w;
  if (settings_.dtls_identity && !settings_.dtls_identity->problem().empty())
    w.push_back("DTLS-SRTP is unavailable: " + settings_.dtls_identity->problem());
  if (!config_.srtp_keylog_file.empty())
    w.push_back("SRTP key logging is on (" + config_.srtp_keylog_file + "): captured calls can be decrypted");
  if (!config_.transport.tls.keylog_file.empty())
    w.push_back("TLS key logging is on (" + config_.transport.tls.keylog_file + "): captured signaling can be decrypted");
  return w;
}

std::vector<CallReport> Phone::calls() {
  std::vector<CallReport> out;
  for (auto& [id, c] : calls_) {
    out.push_back(c->report());
    if (hotline_ && hotline_->is_emergency(id)) out.back().emergency = true;
  }
  return out;
}

}  // namespace exphone::phone
