#include "phone/call.h"

#include <iostream>

#include "core/random.h"
#include "core/text.h"
#include "media/tone.h"
#include "sdp/session.h"
#include "txn/server_transaction.h"

namespace exphone::phone {

namespace asio = boost::asio;
using sip::HeaderId;
using sip::Message;

bool CallReport::secure() const {
  return transport == "tls" && tls && tls->verified && srtp && stats.srtp_auth_failures == 0 &&
         stats.packets_received > 0 && stats.packets_sent > 0;
}

namespace {

std::string via_for(const net::FlowPtr& flow) {
  return "SIP/2.0/" + std::string(net::via_token(flow->protocol())) + " " + flow->local().to_string() +
         ";branch=" + txn::TransactionLayer::new_branch();
}

std::string scheme_for(const net::FlowPtr& flow) { return flow->protocol() == net::Protocol::kTls ? "sips:" : "sip:"; }

std::string contact_for(const net::FlowPtr& flow, const std::string& user) {
  std::string t = flow->protocol() == net::Protocol::kTcp ? ";transport=tcp" : "";
  return "<" + scheme_for(flow) + user + "@" + flow->local().to_string() + t + ">";
}

Result<media::SrtpKey> media_key(sdp::CryptoSuite suite, const Bytes& key_salt) {
  auto s = media::srtp_suite_from_name(sdp::crypto_suite_name(suite));
  if (!s) return make_error("srtp-unsupported-suite", std::string(sdp::crypto_suite_name(suite)) + " is not supported by the media layer");
  return media::SrtpKey::from_bytes(*s, key_salt);
}

Status start_media(media::RtpStream& rtp, const ua::NegotiatedAudio& a, double tone_hz, CallReport& report) {
  report.codec = a.codec.name;
  rtp.set_codec(text::iequals(a.codec.name, "PCMA") ? media::G711::kAlaw : media::G711::kUlaw, a.codec.payload_type);
  if (a.srtp) {
    auto tx = media_key(a.srtp->suite, a.srtp->local_key_salt);
    if (!tx) return tx.error();
    auto rx = media_key(a.srtp->suite, a.srtp->remote_key_salt);
    if (!rx) return rx.error();
    if (Status s = rtp.set_srtp(*tx, *rx); !s) return s;
    report.srtp = true;
    report.key_exchange = "sdes";
    report.suite = std::string(sdp::crypto_suite_name(a.srtp->suite));
  } else {
    report.key_exchange = "none";
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(a.remote_address, ec);
  if (ec) return make_error("sdp-bad-connection", "media address " + a.remote_address + " is not an IP address");
  rtp.set_remote(asio::ip::udp::endpoint(addr, a.remote_port));
  auto tone = std::make_shared<media::ToneGenerator>(tone_hz, 8000);
  rtp.start([tone](std::span<std::int16_t> f) { tone->fill(f); });
  return Ok{};
}

media::RtpStreamConfig rtp_config(const std::string& local_ip) {
  media::RtpStreamConfig c;
  c.local_address = local_ip;
  return c;
}

// Only G.711 is sent yet: keep the offer/answer honest about it.
ua::MediaPolicy g711_only(ua::MediaPolicy p) {
  std::erase_if(p.codecs, [](const ua::AudioCodec& c) {
    return !text::iequals(c.name, "PCMU") && !text::iequals(c.name, "PCMA") && !text::iequals(c.name, "telephone-event");
  });
  return p;
}

long since_ms(std::chrono::steady_clock::time_point t) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count());
}

}  // namespace

// ------------------------------------------------------------------------------------------
OutgoingCall::OutgoingCall(asio::io_context& io, net::TransportLayer& transport, txn::TransactionLayer& txns,
                           CallSettings settings)
    : io_(io), transport_(transport), txns_(txns), settings_(std::move(settings)) {
  settings_.media = g711_only(settings_.media);
}

OutgoingCall::~OutgoingCall() {
  *alive_ = false;
  if (hangup_timer_) txns_.timers().cancel(hangup_timer_);
}

void OutgoingCall::start(const std::string& target, std::chrono::milliseconds duration,
                         std::function<void(const CallReport&)> done) {
  target_ = target;
  duration_ = duration;
  done_ = std::move(done);
  started_ = std::chrono::steady_clock::now();
  auto uri = sip::parse_uri(target);
  if (!uri || !uri->is_sip_or_sips()) return finish(make_error("call-bad-target", "target must be a sip: or sips: URI"));
  net::Protocol p = uri->scheme == sip::Scheme::kSips ? net::Protocol::kTls : net::Protocol::kTcp;
  if (auto t = uri->params.get("transport")) {
    auto q = net::parse_protocol(*t);
    if (!q) return finish(make_error("call-bad-target", "unknown transport " + std::string(*t)));
    p = *q;
  }
  if (p == net::Protocol::kUdp)
    return finish(make_error("call-unsupported-transport", "calls over UDP are not implemented yet: use transport=tcp or tls"));
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(std::string(uri->host), ec);
  if (ec) return finish(make_error("call-bad-target", "peer-to-peer targets need an IP address host"));
  report_.transport = std::string(net::to_string(p));
  net::Target t{p, net::Endpoint{addr, uri->has_port ? uri->port : net::default_port(p)}, std::string(uri->host)};
  std::weak_ptr<bool> alive = alive_;
  transport_.connect(t, [this, alive](Result<net::FlowPtr> f) {
    if (alive.expired()) return;
    if (!f) return finish(f.error());
    connected(*f);
  });
}

void OutgoingCall::connected(net::FlowPtr flow) {
  flow_ = flow;
  if (flow->tls_info()) report_.tls = *flow->tls_info();
  std::string local_ip = flow->local().address.to_string();
  auto rtp = media::RtpStream::open(io_, rtp_config(local_ip));
  if (!rtp) return finish(rtp.error());
  rtp_ = std::move(*rtp);
  bool secure_signaling = flow->protocol() == net::Protocol::kTls;
  auto offer = ua::make_offer(settings_.media, ua::LocalMedia{local_ip, rtp_->local_port()}, secure_signaling,
                              static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) & 0xffffffff);
  if (!offer) return finish(offer.error());
  offer_ = std::move(*offer);

  auto req = Message::request("INVITE", target_);
  if (!req) return finish(req.error());
  Message& m = *req;
  m.add_header(HeaderId::kVia, via_for(flow));
  m.add_header(HeaderId::kMaxForwards, "70");
  m.add_header(HeaderId::kFrom, "<" + scheme_for(flow) + settings_.local_user + "@" + flow->local().host() + ">;tag=" + random_hex(8));
  m.add_header(HeaderId::kTo, "<" + target_ + ">");
  m.add_header(HeaderId::kCallId, random_hex(16) + "@exphone");
  m.add_header(HeaderId::kCSeq, "1 INVITE");
  m.add_header(HeaderId::kContact, contact_for(flow, settings_.local_user));
  m.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  m.set_body("application/sdp", sdp::serialize(offer_->sdp));
  invite_ = Message::parse(sip::serialize(m)).value();

  txn::Channel ch{[flow](const std::string& w) { return flow->send(w); }, flow->reliable()};
  std::weak_ptr<bool> alive = alive_;
  txn::ClientCallbacks cb;
  cb.on_response = [this, alive](const Message& r) {
    if (!alive.expired()) on_response(r);
  };
  cb.on_timeout = [this, alive] {
    if (!alive.expired()) finish(make_error("timeout", "no answer to the INVITE"));
  };
  cb.on_transport_error = [this, alive](const Error& e) {
    if (!alive.expired()) finish(e);
  };
  auto t = txns_.send_request(std::move(m), std::move(ch), std::move(cb));
  if (!t) finish(t.error());
}

void OutgoingCall::on_response(const Message& r) {
  int code = r.status();
  if (code < 200) {
    if (code >= 180 && report_.time_to_ring_ms < 0) report_.time_to_ring_ms = since_ms(started_);
    return;
  }
  report_.final_status = code;
  if (code >= 300) return finish(make_error("call-rejected", "the peer answered " + std::to_string(code) + " " + std::string(r.reason())));
  if (!dialog_) {
    auto d = ua::Dialog::from_uac(*invite_, r);
    if (!d) return finish(d.error());
    dialog_ = std::move(*d);
  }
  // section 13.2.2.4: the UAC core ACKs every 2xx (retransmissions too) with the INVITE's CSeq
  auto ack = dialog_->make_request("ACK", via_for(flow_), 1);
  if (ack) (void)flow_->send(sip::serialize(*ack));
  if (report_.answered) return;
  report_.answered = true;
  report_.time_to_answer_ms = since_ms(started_);
  auto answer = sdp::parse(r.body());
  if (!answer) {
    finish(answer.error());
    return hang_up();
  }
  auto neg = ua::process_answer(settings_.media, *offer_, *answer);
  if (!neg) {
    report_.error = neg.error();
    return hang_up();
  }
  if (Status s = start_media(*rtp_, *neg, settings_.send_tone_hz, report_); !s) {
    report_.error = s.error();
    return hang_up();
  }
  std::weak_ptr<bool> alive = alive_;
  hangup_timer_ = txns_.timers().schedule(duration_, [this, alive] {
    if (alive.expired()) return;
    hangup_timer_ = 0;
    hang_up();
  });
}

void OutgoingCall::hang_up() {
  if (rtp_) rtp_->stop();
  if (!dialog_ || !flow_) return finish(report_.error);
  auto bye = dialog_->make_request("BYE", via_for(flow_));
  if (!bye) return finish(bye.error());
  net::FlowPtr flow = flow_;
  txn::Channel ch{[flow](const std::string& w) { return flow->send(w); }, flow->reliable()};
  std::weak_ptr<bool> alive = alive_;
  txn::ClientCallbacks cb;
  cb.on_response = [this, alive](const Message& r) {
    if (!alive.expired() && r.status() >= 200) finish(report_.error);
  };
  cb.on_timeout = [this, alive] {
    if (!alive.expired()) finish(report_.error);
  };
  cb.on_transport_error = [this, alive](const Error&) {
    if (!alive.expired()) finish(report_.error);
  };
  auto t = txns_.send_request(std::move(*bye), std::move(ch), std::move(cb));
  if (!t) finish(report_.error);
}

void OutgoingCall::finish(std::optional<Error> e) {
  if (finished_) return;
  finished_ = true;
  if (e && !report_.error) report_.error = e;
  if (rtp_) {
    rtp_->stop();
    report_.stats = rtp_->stats();
    report_.heard_tone_ratio = media::tone_energy_ratio(rtp_->recording(), settings_.expect_tone_hz, 8000);
  }
  if (done_) done_(report_);
}

// ------------------------------------------------------------------------------------------
struct AutoAnswer::Call {
  std::unique_ptr<media::RtpStream> rtp;
  std::optional<ua::Dialog> dialog;
  CallReport report;
  net::FlowPtr flow;
};

AutoAnswer::AutoAnswer(asio::io_context& io, txn::TransactionLayer& txns, CallSettings settings,
                       std::vector<std::string> allowed_addresses, std::function<void(const CallReport&)> on_call_end)
    : io_(io),
      txns_(txns),
      settings_(std::move(settings)),
      allowed_(std::move(allowed_addresses)),
      on_call_end_(std::move(on_call_end)) {
  settings_.media = g711_only(settings_.media);
}

AutoAnswer::~AutoAnswer() = default;

bool AutoAnswer::on_request(const Message& m, const net::FlowPtr& flow) {
  std::string call_id(m.call_id());
  if (m.method() == "INVITE") {
    auto to = m.to();
    if (to && !to->tag().empty()) return false;  // re-INVITE: not supported yet (default answer)
    invite(m, flow);
    return true;
  }
  auto it = calls_.find(call_id);
  if (m.method() == "ACK") return it != calls_.end();  // the 2xx ACK: media already runs
  if (m.method() == "BYE" && it != calls_.end() && it->second->dialog && it->second->dialog->matches(m)) {
    txn::Channel ch{[flow](const std::string& w) { return flow->send(w); }, flow->reliable()};
    auto st = txns_.create_server(m, std::move(ch), {});
    if (st) (void)(*st)->respond(txn::make_response(m, 200, "OK"));
    end(call_id);
    return true;
  }
  return false;
}

void AutoAnswer::invite(const Message& m, const net::FlowPtr& flow) {
  txn::Channel ch{[flow](const std::string& w) { return flow->send(w); }, flow->reliable()};
  auto st = txns_.create_server(m, std::move(ch), {});
  if (!st) return;
  txn::ServerTransaction* t = *st;
  std::string tag = random_hex(8);
  // Nobody on the LAN may ring or open the microphone of an emergency phone with a forged
  // INVITE: only a verified TLS client certificate or an allowed address gets through.
  bool verified = flow->tls_info() && flow->tls_info()->verified;
  std::string peer = flow->remote().address.to_string();
  bool allowed = verified || std::find(allowed_.begin(), allowed_.end(), peer) != allowed_.end();
  if (!allowed) {
    std::cerr << "refused INVITE from " << flow->remote().to_string() << ": not an allowed peer (403)\n";
    (void)t->respond(txn::make_response(m, 403, "Forbidden", tag));
    return;
  }
  if (flow->protocol() == net::Protocol::kUdp) {
    (void)t->respond(txn::make_response(m, 501, "UDP Calls Not Implemented", tag));
    return;
  }
  auto offer = sdp::parse(m.body());
  if (!offer) {
    (void)t->respond(txn::make_response(m, 488, "Not Acceptable Here", tag));
    return;
  }
  auto call = std::make_unique<Call>();
  call->flow = flow;
  call->report.transport = std::string(net::to_string(flow->protocol()));
  if (flow->tls_info()) call->report.tls = *flow->tls_info();
  std::string local_ip = flow->local().address.to_string();
  auto rtp = media::RtpStream::open(io_, rtp_config(local_ip));  // its port goes into the answer
  if (!rtp) {
    (void)t->respond(txn::make_response(m, 500, "Media Unavailable", tag));
    return;
  }
  std::uint16_t port = (*rtp)->local_port();
  int status = 488;
  auto answer = ua::answer_offer(settings_.media, *offer, ua::LocalMedia{local_ip, port},
                                 flow->protocol() == net::Protocol::kTls, 1, &status);
  if (!answer) {
    std::cerr << "refused INVITE: " << answer.error().code << ": " << answer.error().message << "\n";
    auto r = txn::make_response(m, status, "Not Acceptable Here", tag);
    r.add_header("Warning", "399 exphone \"" + answer.error().code + "\"");
    (void)t->respond(r);
    return;
  }
  call->rtp = std::move(*rtp);
  if (Status s = start_media(*call->rtp, answer->audio, settings_.send_tone_hz, call->report); !s) {
    (void)t->respond(txn::make_response(m, 488, "Not Acceptable Here", tag));
    return;
  }
  (void)t->respond(txn::make_response(m, 180, "Ringing", tag));
  auto ok = txn::make_response(m, 200, "OK", tag);
  ok.add_header(HeaderId::kContact, contact_for(flow, settings_.local_user));
  ok.set_body("application/sdp", sdp::serialize(answer->sdp));
  (void)t->respond(ok);
  auto d = ua::Dialog::from_uas(m, tag, flow->protocol() == net::Protocol::kTls);
  if (d) call->dialog = std::move(*d);
  call->report.answered = true;
  call->report.final_status = 200;
  calls_[std::string(m.call_id())] = std::move(call);
}

void AutoAnswer::end(const std::string& call_id) {
  auto it = calls_.find(call_id);
  if (it == calls_.end()) return;
  Call& c = *it->second;
  c.rtp->stop();
  c.report.stats = c.rtp->stats();
  c.report.heard_tone_ratio = media::tone_energy_ratio(c.rtp->recording(), settings_.expect_tone_hz, 8000);
  if (on_call_end_) on_call_end_(c.report);
  calls_.erase(it);
}

}  // namespace exphone::phone
