#include "phone/call.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "core/base64.h"
#include "core/random.h"
#include "core/text.h"
#include "media/tone.h"
#include "media/wav.h"
#include "sdp/session.h"
#include "txn/server_transaction.h"
#include "ua/flow_channel.h"

namespace exphone::phone {

namespace asio = boost::asio;
using sip::HeaderId;
using sip::Message;
using namespace std::chrono_literals;

// The padlock: TLS (or WSS) to a verified peer, SRTP both ways, and with DTLS the peer's
// certificate matching its SDP fingerprint. Packets that fail SRTP authentication (forged,
// replayed, corrupt) are dropped before anything is played and counted in the report; they do
// not take the padlock away, or anyone able to send one datagram to the media port could make a
// secure emergency call look insecure.
bool CallReport::secure() const {
  return (transport == "tls" || transport == "wss") && tls && tls->verified && srtp &&
         (!dtls || dtls->peer_fingerprint_verified) && stats.packets_received > 0 && stats.packets_sent > 0;
}

namespace {

Result<media::SrtpKey> media_key(sdp::CryptoSuite suite, const Bytes& key_salt) {
  auto s = media::srtp_suite_from_name(sdp::crypto_suite_name(suite));
  if (!s) return make_error("srtp-unsupported-suite", std::string(sdp::crypto_suite_name(suite)) + " is not supported by the media layer");
  return media::SrtpKey::from_bytes(*s, key_salt);
}

std::uint64_t session_id() {
  return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) & 0xffffffff;
}

// RFC 3264 section 8.4: hold is an offer with a=sendonly (a=inactive when we were already
// receive-only); resume returns to a=sendrecv.
void set_direction(sdp::Session& s, sdp::Direction d) {
  for (auto& m : s.media()) {
    std::erase_if(m.attributes, [](const sdp::Attribute& a) { return sdp::parse_direction(a.name).has_value(); });
    m.attributes.push_back({std::string(sdp::to_string(d)), std::nullopt});
  }
}

bool sends(sdp::Direction d) { return d == sdp::Direction::kSendRecv || d == sdp::Direction::kSendOnly; }

// Section 12.1.1: a UAS copies Record-Route into every dialog-establishing response.
void copy_record_route(const Message& request, Message& response) {
  for (const auto& h : request.headers())
    if (h.id == HeaderId::kRecordRoute) response.add_header(HeaderId::kRecordRoute, h.value);
}

}  // namespace

std::string_view Call::state_name(State s) {
  switch (s) {
    case State::kCalling: return "calling";
    case State::kRinging: return "ringing";
    case State::kEarly: return "early";
    case State::kConfirmed: return "confirmed";
    case State::kTerminating: return "terminating";
    case State::kTerminated: return "terminated";
  }
  return "?";
}

Call::Call(CallEnv env, CallSettings settings, Ended ended)
    : env_(env), settings_(std::move(settings)), ended_(std::move(ended)), started_(std::chrono::steady_clock::now()) {
}

Call::~Call() {
  *alive_ = false;
  cancel_timer(retransmit_timer_);
  cancel_timer(glare_timer_);
  cancel_timer(ring_timer_);
  cancel_timer(media_timer_);
}

void Call::set_state(State s) {
  if (state_ == s) return;
  state_ = s;
  if (s == State::kConfirmed) {
    media_seen_at_ = std::chrono::steady_clock::now();
    watch_media();
  }
  if (on_state) on_state(*this);
}

// A confirmed call whose peer has sent no authenticated RTP or RTCP for media_timeout, while
// neither side holds it, is dead: its PBX or network went away and no BYE can reach us (RFC 3550
// section 6.3.5 times out a silent participant the same way). Hang up, say why.
void Call::watch_media() {
  if (settings_.media_timeout.count() <= 0 || media_timer_ != 0) return;
  std::weak_ptr<bool> alive = alive_;
  media_timer_ = env_.txns.timers().schedule(std::chrono::milliseconds(1000), [this, alive] {
    if (alive.expired()) return;
    media_timer_ = 0;
    if (state_ != State::kConfirmed || !rtp_) return;
    const auto& st = rtp_->stats();
    std::uint64_t seen = st.packets_received + st.rtcp_received;
    auto now = std::chrono::steady_clock::now();
    meter_tone();  // once a second, so the recording stays short (meter_tone)
    if (seen != media_seen_ || report_.held || report_.remote_held) {
      media_seen_ = seen;
      media_seen_at_ = now;
    } else if (now - media_seen_at_ >= settings_.media_timeout) {
      report_.error = make_error("media-timeout", "no RTP or RTCP from the peer for " +
                                                      std::to_string(settings_.media_timeout.count() / 1000) +
                                                      " s: the call is dead (peer, PBX or network gone)");
      report_.ended_by = "media-timeout";
      return send_bye();
    }
    watch_media();
  });
}

void Call::cancel_timer(TimerService::Id& id) {
  if (id) env_.txns.timers().cancel(id);
  id = 0;
}

long Call::since_start_ms() const {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_).count());
}

std::string Call::via() const {
  std::string v = "SIP/2.0/" + std::string(net::via_token(flow_->protocol())) + " " + flow_->local().to_string() +
                  ";branch=" + txn::TransactionLayer::new_branch();
  if (flow_->protocol() == net::Protocol::kUdp) v += ";rport";  // RFC 3581: answers find us behind NAT
  return v;
}

std::string Call::contact() const {
  bool tls = net::uses_tls(flow_->protocol());
  std::string uri = std::string(tls ? "sips:" : "sip:") + settings_.local_user + "@" + flow_->local().to_string();
  if (flow_->protocol() == net::Protocol::kTcp || net::is_websocket(flow_->protocol()))
    uri += ";transport=" + std::string(net::to_string(flow_->protocol()));  // RFC 7118 section 5.2
  return "<" + uri + ">";
}

txn::Channel Call::channel() {
  if (!flow_->is_open() && replacement_flow) {
    if (net::FlowPtr f = replacement_flow(flow_)) flow_ = std::move(f);
  }
  return ua::flow_channel(flow_);
}

Status Call::open_media(const std::string& local_ip) {
  local_ip_ = local_ip;
  media::RtpStreamConfig c;
  c.local_address = local_ip;
  auto rtp = media::RtpStream::open(env_.io, c);
  if (!rtp) return rtp.error();
  rtp_ = std::move(*rtp);
  return Ok{};
}

// ICE-lite and DTLS-SRTP for this call (RFC 5763, RFC 8445 2.5), set up before the first SDP that
// may carry our a=fingerprint: every offer (under dtls or auto), and the answer to an offer that
// could use DTLS-SRTP. The certificate is made then, not at start (DtlsIdentitySource).
void Call::prepare_dtls() {
  if (ice_ || !rtp_ || !settings_.dtls_identity || settings_.media.key_exchange == ua::KeyExchange::kSdes ||
      settings_.media.srtp == ua::SrtpPolicy::kOff)
    return;
  dtls_identity_ = settings_.dtls_identity->get();
  if (!dtls_identity_) return;  // no certificate: SDES only (Phone::warnings() says why)
  // ICE checks and DTLS records may arrive before the answer does (the peer acts on our offer
  // at once): answer the checks, keep the records until our DTLS role is known.
  ice_.emplace(media::IceCredentials::generate());
  rtp_->on_stun([this](std::span<const std::uint8_t> d, const asio::ip::udp::endpoint& from) {
    auto o = ice_->on_stun(d, from);
    if (!o.response.empty()) rtp_->send_datagram(o.response, from);
    if (!o.valid) return;
    // RFC 8445 8.2 (lite): the nominated pair carries the media from now on.
    if ((o.nominated || !rtp_->remote()) && audio_ && audio_->dtls) {
      const auto selected = *ice_->selected();
      rtp_->set_remote(selected);
      report_.ice_selected = net::Endpoint{selected.address(), selected.port()}.to_string();
    }
    if (dtls_ && !dtls_->complete()) dtls_->start();  // a DTLS client waits for a working path
  });
  rtp_->on_dtls([this](std::span<const std::uint8_t> d, const asio::ip::udp::endpoint& from) {
    if (dtls_ && dtls_->complete()) {
      // The keys are out: nothing after the handshake is used (RFC 5764 4.1: no application
      // data; RFC 6347 4.1.2.7: invalid records are silently discarded) - counted. Only the
      // peer's retransmitted final flight or its close_notify matter, and they come from its
      // media address: a datagram from anywhere else is not handed to DTLS at all.
      if (report_.dtls) ++report_.dtls->discarded;
      if (!rtp_->remote() || from != *rtp_->remote()) return;
    }
    if (dtls_) dtls_->on_datagram(d);
    else if (early_dtls_.size() < 8) early_dtls_.emplace_back(d.begin(), d.end());
  });
}

ua::LocalMedia Call::local_media() const {
  ua::LocalMedia l;
  l.address = local_ip_;
  l.port = rtp_->local_port();
  if (ice_) {
    l.dtls_fingerprint = dtls_identity_->fingerprint_sha256();
    l.ice_ufrag = ice_->local().ufrag;
    l.ice_pwd = ice_->local().pwd;
  }
  return l;
}

void Call::send_dtls(std::span<const std::uint8_t> datagram) {
  if (const auto& to = rtp_->remote()) rtp_->send_datagram(datagram, *to);
}

// DTLS-SRTP (RFC 5763 5, RFC 5764 4): the handshake on the media port; SRTP starts with the keys
// it exports, nothing is sent before (RtpStream::set_require_srtp).
Status Call::start_dtls(const ua::NegotiatedAudio& a) {
  report_.key_exchange = "dtls";
  report_.dtls = CallReport::Dtls{a.dtls->we_are_client ? "client" : "server", false, net::uses_tls(flow_->protocol())};
  if (!a.remote_ice_ufrag.empty()) ice_->set_remote(a.remote_ice_ufrag);
  if (dtls_) {  // a re-INVITE: the association stays (RFC 5763 6.7 allows keeping it)
    dtls_->set_remote_fingerprint(a.dtls->remote_fingerprint.bytes);
    return Ok{};
  }
  rtp_->set_require_srtp(true);
  std::weak_ptr<bool> alive = alive_;
  auto t = media::DtlsSrtpTransport::create(
      env_.io, dtls_identity_, a.dtls->we_are_client ? media::DtlsRole::kClient : media::DtlsRole::kServer,
      [this, alive](std::span<const std::uint8_t> d) {
        if (!alive.expired()) send_dtls(d);
      },
      [this, alive](Result<media::DtlsSrtpKeys> k) {
        if (alive.expired()) return;
        asio::post(env_.io, [this, alive, k = std::move(k)]() mutable {
          if (!alive.expired()) on_dtls_done(std::move(k));
        });
      });
  if (!t) return t.error();
  dtls_ = std::move(*t);
  dtls_->set_remote_fingerprint(a.dtls->remote_fingerprint.bytes);
  // A client sends its ClientHello once the path is known: at once without ICE, after the
  // peer's first authenticated check with it.
  if (a.remote_ice_ufrag.empty() || ice_->selected()) dtls_->start();
  for (auto& d : early_dtls_) dtls_->on_datagram(d);
  early_dtls_.clear();
  return Ok{};
}

void Call::on_dtls_done(Result<media::DtlsSrtpKeys> keys) {
  if (finished_) return;
  if (!keys) {
    report_.error = keys.error();  // dtls-fingerprint-mismatch, dtls-timeout, ...
    report_.ended_by = "error";
    return send_bye();
  }
  if (Status s = rtp_->set_srtp(keys->send, keys->receive); !s) {
    report_.error = s.error();
    report_.ended_by = "error";
    return send_bye();
  }
  report_.srtp = true;
  report_.suite = std::string(media::srtp_suite_name(keys->send.suite));
  report_.dtls->peer_fingerprint_verified = dtls_->fingerprint_verified();
  if (!settings_.srtp_keylog_file.empty())  // diagnostics only (docs/diagnostics.md)
    log_srtp_keys(report_.suite, keys->send.master_key_salt, keys->receive.master_key_salt, "dtls");
}

// What an offer/answer settled goes into the stream: codec, keys (RFC 4568: each side's own key
// protects what it sends), the peer's address, and whether we send at all (hold).
Status Call::apply_media(const ua::NegotiatedAudio& a) {
  report_.codec = a.codec.name;
  if (Status s = rtp_->set_codec(a.codec.name, a.codec.payload_type, a.dtmf_pt); !s) return s;
  if (a.rtcp_mux) rtp_->set_rtcp_mux(true);  // RFC 5761 5.1.1: both sides said so
  if (a.dtls) {
    if (!dtls_ && report_.srtp)  // SDES before: a re-INVITE may not switch keys under the call
      return make_error("srtp-downgrade", "the peer tried to switch the call from SDES to DTLS-SRTP");
    // the handshake starts below, once the stream knows where the peer is
  } else if (dtls_) {
    return make_error("srtp-downgrade", "the peer tried to continue a DTLS-SRTP call without DTLS");
  } else if (a.srtp) {
    auto tx = media_key(a.srtp->suite, a.srtp->local_key_salt);
    if (!tx) return tx.error();
    auto rx = media_key(a.srtp->suite, a.srtp->remote_key_salt);
    if (!rx) return rx.error();
    if (Status s = rtp_->set_srtp(*tx, *rx); !s) return s;
    report_.srtp = true;
    report_.key_exchange = "sdes";
    report_.suite = std::string(sdp::crypto_suite_name(a.srtp->suite));
  } else if (report_.srtp) {
    // a re-INVITE must not downgrade a call that was encrypted (offer_answer refuses it under
    // "mandatory"; under "optional" we refuse it here)
    return make_error("srtp-downgrade", "the peer tried to continue the call without SRTP");
  } else {
    report_.key_exchange = "none";
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(a.remote_address, ec);
  if (ec) return make_error("sdp-bad-connection", "media address " + a.remote_address + " is not an IP address");
  // With ICE the nominated pair wins over the SDP's address (RFC 8445 12).
  if (ice_ && ice_->nominated()) rtp_->set_remote(*ice_->selected());
  else rtp_->set_remote(asio::ip::udp::endpoint(addr, a.remote_port));
  report_.remote_rtp = net::Endpoint{addr, a.remote_port}.to_string();
  report_.local_rtp = net::Endpoint{asio::ip::make_address(local_ip_, ec), rtp_->local_port()}.to_string();
  if (a.dtls) {
    // After set_remote: the first flight (ClientHello, or the answer to one that came early)
    // must have somewhere to go, or it waits for DTLS's 1 s retransmission timer.
    if (Status s = start_dtls(a); !s) return s;
  }
  if (a.srtp && !settings_.srtp_keylog_file.empty())
    log_srtp_keys(sdp::crypto_suite_name(a.srtp->suite), a.srtp->local_key_salt, a.srtp->remote_key_salt, "sdes");
  bool was_sending = audio_ && sends(audio_->direction) && !report_.held;
  audio_ = a;
  bool remote_held = a.direction == sdp::Direction::kRecvOnly || a.direction == sdp::Direction::kInactive;
  if (remote_held && !report_.remote_held) ++report_.remote_holds;
  report_.remote_held = remote_held;
  bool send_now = sends(a.direction);
  if (send_now && !was_sending) {
    auto source = make_source();
    if (!source) return source.error();
    rtp_->start(std::move(*source));
    if (!settings_.dtmf.empty() && !dtmf_sent_) {
      dtmf_sent_ = true;
      if (Status s = rtp_->send_dtmf(settings_.dtmf); !s) report_.error = s.error();
    }
  } else if (!send_now) {
    rtp_->stop();
  }
  return Ok{};
}

// docs/diagnostics.md: one line per direction, appended to a 0600 file. Only ever written when
// [diagnostics] srtp_keylog_file is set (exphone run warns about it at start).
void Call::log_srtp_keys(std::string_view suite_name, const Bytes& local, const Bytes& remote, std::string_view source) {
  int fd = ::open(settings_.srtp_keylog_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "cannot write the SRTP key log " << settings_.srtp_keylog_file << "\n";
    return;
  }
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[64];
  std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  char ssrc[16];
  std::snprintf(ssrc, sizeof ssrc, "0x%08x", rtp_->ssrc());
  const std::string suite(suite_name), src(source);
  std::string common = std::string(when) + " call_id=" + call_id_ + " local=" + report_.local_rtp + " remote=" + report_.remote_rtp;
  std::string lines = common + " ssrc=" + ssrc + " direction=outbound suite=" + suite + " key=" + base64_encode(local) +
                      " source=" + src + "\n" + common + " ssrc=- direction=inbound suite=" + suite +
                      " key=" + base64_encode(remote) + " source=" + src + "\n";
  (void)!::write(fd, lines.data(), lines.size());
  ::close(fd);
}

// What we send, in this order of precedence: an echo of what we hear, the microphone, a WAV
// file, the test tone. The speaker (when configured) plays what we hear.
Result<media::RtpStream::Source> Call::make_source() {
  const std::uint32_t rate = rtp_->codec().sample_rate();
  if (!settings_.audio_device.empty() && !speaker_) {
    auto spk = media::SoundDevice::open_playback(settings_.audio_device, rtp_->recording_rate());
    if (!spk) return spk.error();
    speaker_ = std::move(*spk);
    if (settings_.beep) {
      // a 200 ms 1 kHz beep on the speaker: the intercom line is open
      media::ToneGenerator beep(1000, speaker_->sample_rate(), 0.3);
      std::vector<std::int16_t> frame(speaker_->sample_rate() / 50);
      for (int i = 0; i < 10; ++i) {
        beep.fill(frame);
        (void)speaker_->write(frame);
      }
    }
  }
  if (settings_.echo) {
    echo_ = std::make_shared<std::deque<std::int16_t>>();
  }
  media::SoundDevice* speaker = speaker_.get();
  auto echo = echo_;
  rtp_->set_sink([speaker, echo](std::span<const std::int16_t> played) {
    if (speaker) (void)speaker->write(played);
    if (echo && echo->size() < 8000) echo->insert(echo->end(), played.begin(), played.end());  // <= 0.5-1 s
  });
  if (echo) {
    return media::RtpStream::Source([echo](std::span<std::int16_t> f) {
      for (auto& x : f) {
        if (echo->empty()) {
          x = 0;
        } else {
          x = echo->front();
          echo->pop_front();
        }
      }
    });
  }
  if (!settings_.audio_device.empty()) {
    if (!microphone_) {
      auto mic = media::SoundDevice::open_capture(settings_.audio_device, rate);
      if (!mic) return mic.error();
      microphone_ = std::move(*mic);
    }
    media::SoundDevice* mic = microphone_.get();
    return media::RtpStream::Source([mic](std::span<std::int16_t> f) { (void)mic->read(f); });
  }
  if (!settings_.play_wav.empty()) return media::wav_file_source(settings_.play_wav, rate, /*loop=*/true);
  auto tone = std::make_shared<media::ToneGenerator>(settings_.send_tone_hz, rate);
  return media::RtpStream::Source([tone](std::span<std::int16_t> f) { tone->fill(f); });
}

// ---------------------------------------------------------------------------------- UAC
std::unique_ptr<Call> Call::dial(CallEnv env, CallSettings settings, Route route, Ended ended) {
  std::unique_ptr<Call> c(new Call(env, std::move(settings), std::move(ended)));
  c->route_ = std::move(route);
  c->call_id_ = random_hex(16) + "@exphone";
  c->local_tag_ = random_hex(8);
  c->report_.call_id = c->call_id_;
  c->report_.direction = "outgoing";
  c->report_.peer = c->route_.request_uri;
  if (!c->route_.auth_user.empty()) c->digest_.emplace(c->route_.auth_user, c->route_.password);
  Call* raw = c.get();
  std::weak_ptr<bool> alive = c->alive_;
  auto go = [raw, alive](Result<net::FlowPtr> f) {
    if (alive.expired()) return;
    if (!f) return raw->finish("error", f.error());
    raw->connected(*f);
  };
  if (c->route_.flow && c->route_.flow->is_open()) {
    // posted: the caller gets the Call before any callback can run
    asio::post(env.io, [go, flow = c->route_.flow] { go(flow); });
  } else if (!c->route_.next_hop) {
    asio::post(env.io, [go] { go(make_error("call-no-route", "no flow and no next hop for the call")); });
  } else if (c->route_.next_hop->protocol == net::Protocol::kUdp) {
    auto f = env.transport.udp_flow(c->route_.next_hop->endpoint);
    asio::post(env.io, [go, f = std::move(f)]() mutable { go(std::move(f)); });
  } else {
    env.transport.connect(*c->route_.next_hop, go);
  }
  return c;
}

void Call::connected(net::FlowPtr flow) {
  flow_ = std::move(flow);
  report_.transport = std::string(net::to_string(flow_->protocol()));
  if (flow_->tls_info()) report_.tls = *flow_->tls_info();
  if (Status s = open_media(flow_->local().address.to_string()); !s) return finish("error", s.error());
  auto offer = new_offer();
  if (!offer) return finish("error", offer.error());
  offer_ = std::move(*offer);
  send_invite({});
}

void Call::send_invite(std::vector<ua::DigestSession::Header> auth) {
  auto req = Message::request("INVITE", route_.request_uri);
  if (!req) return finish("error", req.error());
  Message& m = *req;
  invite_cseq_ = invite_cseq_ + 1;
  m.add_header(HeaderId::kVia, via());
  m.add_header(HeaderId::kMaxForwards, "70");
  if (!route_.route_header.empty()) m.add_header(HeaderId::kRoute, route_.route_header);
  std::string from = route_.from;
  if (from.empty())
    from = "<" + std::string(net::uses_tls(flow_->protocol()) ? "sips:" : "sip:") + settings_.local_user + "@" +
           flow_->local().host() + ">";
  m.add_header(HeaderId::kFrom, from + ";tag=" + local_tag_);
  m.add_header(HeaderId::kTo, "<" + route_.request_uri + ">");
  m.add_header(HeaderId::kCallId, call_id_);
  m.add_header(HeaderId::kCSeq, std::to_string(invite_cseq_) + " INVITE");
  m.add_header(HeaderId::kContact, contact());
  m.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  m.add_header(HeaderId::kUserAgent, route_.user_agent);
  for (const auto& h : auth) m.add_header(h.name, h.value);
  m.set_body("application/sdp", sdp::serialize(offer_->sdp));
  invite_ = Message::parse(sip::serialize(m)).value();
  got_provisional_ = false;

  std::weak_ptr<bool> alive = alive_;
  txn::ClientCallbacks cb;
  cb.on_response = [this, alive](const Message& r) {
    if (!alive.expired()) on_invite_response(r);
  };
  cb.on_timeout = [this, alive] {
    if (!alive.expired() && state_ != State::kConfirmed) finish("timeout", make_error("timeout", "no answer to the INVITE"));
  };
  cb.on_transport_error = [this, alive](const Error& e) {
    if (!alive.expired() && state_ != State::kConfirmed) finish("error", e);
  };
  auto t = env_.txns.send_request(std::move(m), channel(), std::move(cb));
  if (!t) finish("error", t.error());
}

void Call::on_invite_response(const Message& r) {
  int code = r.status();
  if (state_ == State::kTerminated) {
    // a 2xx after we gave up (e.g. it crossed our CANCEL): section 15 — ACK it, then BYE
    if (code >= 200 && code < 300 && !dialog_) {
      auto d = ua::Dialog::from_uac(*invite_, r);
      if (d) {
        dialog_ = std::move(*d);
        send_ack(invite_cseq_);
        send_bye();
      }
    }
    return;
  }
  if (code < 200) {
    if (code == 100) return;
    got_provisional_ = true;
    if (state_ == State::kCalling) set_state(State::kEarly);
    if (code >= 180 && report_.time_to_ring_ms < 0) report_.time_to_ring_ms = since_start_ms();
    if (cancel_wanted_) send_cancel();  // section 9.1: CANCEL only once a provisional arrived
    return;
  }
  if (code >= 300) {
    report_.final_status = code;
    if ((code == 401 || code == 407) && digest_ && !cancel_wanted_) {
      auto auth = digest_->answer(r, *invite_);
      if (auth) return send_invite(std::move(*auth));
      return finish("error", auth.error());
    }
    if (code == 487 && cancel_wanted_) return finish("cancel");
    return finish("remote", make_error("call-rejected", "the peer answered " + std::to_string(code) + " " + std::string(r.reason())));
  }
  // 2xx: section 13.2.2.4 — ACK every 2xx (retransmissions too) with the INVITE's CSeq
  if (!dialog_) {
    auto d = ua::Dialog::from_uac(*invite_, r);
    if (!d) return finish("error", d.error());
    dialog_ = std::move(*d);
  }
  send_ack(invite_cseq_);
  if (state_ == State::kConfirmed || state_ == State::kTerminating) return;
  set_state(State::kConfirmed);
  report_.final_status = code;
  report_.answered = true;
  report_.time_to_answer_ms = since_start_ms();
  if (cancel_wanted_) return send_bye();  // the answer crossed our CANCEL
  auto answer = sdp::parse(r.body());
  if (!answer) {
    report_.error = answer.error();
    return send_bye();
  }
  auto neg = ua::process_answer(settings_.media, *offer_, *answer);
  offer_.reset();
  if (!neg) {
    report_.error = neg.error();
    return send_bye();
  }
  if (Status s = apply_media(*neg); !s) {
    report_.error = s.error();
    return send_bye();
  }
}

Result<ua::PendingOffer> Call::new_offer() {
  prepare_dtls();  // we offer a=fingerprint whenever DTLS-SRTP is enabled
  // SDES keys only travel over TLS (the first hop; sips: asks every later hop to keep it so)
  return ua::make_offer(settings_.media, local_media(), net::uses_tls(flow_->protocol()), session_id());
}

Result<ua::AnswerResult> Call::new_answer(const sdp::Session& offer, int* status) {
  // Only an offer with the DTLS-SRTP profile or an a=fingerprint can be answered with DTLS-SRTP
  // (ua::answer_offer; RFC 5763 5): an SDES or plain RTP offer needs no certificate.
  for (const auto& m : offer.media()) {
    auto fp = m.fingerprint(offer);
    if (m.is_dtls_srtp() || !fp.ok() || fp->has_value()) {
      prepare_dtls();
      break;
    }
  }
  return ua::answer_offer(settings_.media, offer, local_media(), net::uses_tls(flow_->protocol()), session_id(), status);
}

void Call::send_ack(std::uint32_t cseq) {
  auto ack = dialog_->make_request("ACK", via(), cseq);
  if (ack) (void)flow_->send(sip::serialize(*ack));
}

// Section 9.1: same Request-URI, Call-ID, To, From, CSeq number and top Via (branch) as the INVITE.
void Call::send_cancel() {
  if (!invite_ || state_ == State::kConfirmed) return;
  auto req = Message::request("CANCEL", invite_->request_uri().raw);
  if (!req) return;
  Message& m = *req;
  if (const auto* v = invite_->find(HeaderId::kVia)) m.add_header(HeaderId::kVia, v->value);
  m.add_header(HeaderId::kMaxForwards, "70");
  for (const auto& h : invite_->headers())
    if (h.id == HeaderId::kRoute) m.add_header(HeaderId::kRoute, h.value);
  m.add_header(HeaderId::kFrom, invite_->find(HeaderId::kFrom)->value);
  m.add_header(HeaderId::kTo, invite_->find(HeaderId::kTo)->value);
  m.add_header(HeaderId::kCallId, call_id_);
  m.add_header(HeaderId::kCSeq, std::to_string(invite_cseq_) + " CANCEL");
  m.add_header(HeaderId::kContentLength, "0");
  std::weak_ptr<bool> alive = alive_;
  txn::ClientCallbacks cb;
  // the INVITE's 487 (or a 2xx that crossed) ends the call; a CANCEL that times out too
  cb.on_timeout = [this, alive] {
    if (!alive.expired()) finish("cancel");
  };
  (void)env_.txns.send_request(std::move(m), channel(), std::move(cb));
}

void Call::send_bye() {
  if (!dialog_ || !flow_) return finish(report_.ended_by.empty() ? "local" : report_.ended_by);
  set_state(State::kTerminating);
  if (rtp_) rtp_->stop();
  auto bye = dialog_->make_request("BYE", via());
  if (!bye) return finish("local", bye.error());
  std::weak_ptr<bool> alive = alive_;
  auto done = [this, alive] {
    if (!alive.expired()) finish(report_.ended_by.empty() ? (cancel_wanted_ ? "cancel" : "local") : report_.ended_by);
  };
  txn::ClientCallbacks cb;
  cb.on_response = [done](const Message& r) {
    if (r.status() >= 200) done();
  };
  cb.on_timeout = done;
  cb.on_transport_error = [done](const Error&) { done(); };
  auto t = env_.txns.send_request(std::move(*bye), channel(), std::move(cb));
  if (!t) done();
}

// ---------------------------------------------------------------------------------- UAS
std::unique_ptr<Call> Call::incoming(CallEnv env, CallSettings settings, const Message& invite, net::FlowPtr flow,
                                     txn::ServerTransaction* st, Ended ended) {
  std::unique_ptr<Call> c(new Call(env, std::move(settings), std::move(ended)));
  Call& call = *c;
  call.incoming_ = true;
  call.state_ = State::kRinging;
  call.flow_ = std::move(flow);
  call.invite_st_ = st;
  call.call_id_ = std::string(invite.call_id());
  call.local_tag_ = random_hex(8);
  call.invite_ = Message::parse(sip::serialize(invite)).value();
  call.report_.call_id = call.call_id_;
  call.report_.direction = "incoming";
  if (auto from = invite.from()) call.report_.peer = std::string(from->uri.raw);
  call.report_.transport = std::string(net::to_string(call.flow_->protocol()));
  if (call.flow_->tls_info()) call.report_.tls = *call.flow_->tls_info();
  if (auto cs = invite.cseq()) call.invite_cseq_ = cs->number;
  auto d = ua::Dialog::from_uas(invite, call.local_tag_, net::uses_tls(call.flow_->protocol()));
  if (!d) {
    (void)call.reject(400, "Bad Request");
    return c;
  }
  call.dialog_ = std::move(*d);
  if (Status s = call.open_media(call.flow_->local().address.to_string()); !s) {
    call.report_.error = s.error();
    (void)call.reject(500, "Media Unavailable");
    return c;
  }
  auto r = txn::make_response(invite, 180, "Ringing", call.local_tag_);
  copy_record_route(invite, r);
  r.add_header(HeaderId::kContact, call.contact());
  (void)st->respond(r);
  call.report_.time_to_ring_ms = call.since_start_ms();
  std::weak_ptr<bool> alive = call.alive_;
  Call* raw = c.get();
  call.ring_timer_ = env.txns.timers().schedule(call.settings_.ring_timeout, [raw, alive] {
    if (alive.expired()) return;
    raw->ring_timer_ = 0;
    if (raw->state_ == State::kRinging) {
      (void)raw->reject(480, "Temporarily Unavailable");
      raw->finish("timeout");
    }
  });
  return c;
}

Status Call::answer() {
  if (!incoming_ || state_ != State::kRinging || !invite_st_) return make_error("call-state", "no incoming call is ringing");
  cancel_timer(ring_timer_);
  const sdp::Session* our_offer = nullptr;
  std::optional<sdp::Session> answer_sdp;
  if (invite_->body().empty()) {
    // section 13.2.1 late offer: we offer in the 2xx, the answer comes in the ACK
    auto offer = new_offer();
    if (!offer) {
      (void)reject(488, "Not Acceptable Here");
      return offer.error();
    }
    offer_ = std::move(*offer);
    our_offer = &offer_->sdp;
  } else {
    auto offer = sdp::parse(invite_->body());
    if (!offer) {
      (void)reject(400, "Bad SDP");
      return offer.error();
    }
    int status = 488;
    auto a = new_answer(*offer, &status);
    if (!a) {
      std::cerr << "refused INVITE: " << a.error().code << ": " << a.error().message << "\n";
      report_.error = a.error();
      auto r = txn::make_response(*invite_, status, "Not Acceptable Here", local_tag_);
      r.add_header("Warning", "399 exphone \"" + a.error().code + "\"");
      (void)invite_st_->respond(r);
      invite_st_ = nullptr;
      finish("error");
      return a.error();
    }
    if (Status s = apply_media(a->audio); !s) {
      (void)reject(488, "Not Acceptable Here");
      return s;
    }
    answer_sdp = std::move(a->sdp);
  }
  set_state(State::kConfirmed);  // section 13.3.1.4: the dialog is confirmed by our 2xx
  report_.answered = true;
  report_.final_status = 200;
  report_.time_to_answer_ms = since_start_ms();
  Status s = respond_2xx(invite_st_, *invite_, our_offer ? our_offer : &*answer_sdp);
  invite_st_ = nullptr;
  return s;
}

Status Call::respond_2xx(txn::ServerTransaction* st, const Message& request, const sdp::Session* sdp) {
  auto ok = txn::make_response(request, 200, "OK", local_tag_);
  copy_record_route(request, ok);
  ok.add_header(HeaderId::kContact, contact());
  ok.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  if (sdp) ok.set_body("application/sdp", sdp::serialize(*sdp));
  Status s = st->respond(ok);
  if (!flow_->reliable()) {
    // section 13.3.1.4: the UAS core retransmits its 2xx over UDP, T1 doubling up to T2,
    // until the ACK arrives; no ACK within 64*T1 ends the call with a BYE.
    pending_2xx_ = sip::serialize(ok);
    if (auto cs = request.cseq()) pending_2xx_cseq_ = cs->number;
    retransmit_interval_ = env_.txns.config().t1;
    retransmit_deadline_ = std::chrono::steady_clock::now() + 64 * env_.txns.config().t1;
    retransmit_2xx();
  }
  return s;
}

void Call::retransmit_2xx() {
  std::weak_ptr<bool> alive = alive_;
  retransmit_timer_ = env_.txns.timers().schedule(retransmit_interval_, [this, alive] {
    if (alive.expired()) return;
    retransmit_timer_ = 0;
    if (pending_2xx_.empty()) return;
    if (std::chrono::steady_clock::now() >= retransmit_deadline_) {
      pending_2xx_.clear();
      report_.error = make_error("timeout", "no ACK for our 200 OK");
      report_.ended_by = "timeout";
      return send_bye();
    }
    (void)flow_->send(pending_2xx_);
    retransmit_interval_ = std::min(2 * retransmit_interval_, std::chrono::milliseconds(env_.txns.config().t2));
    retransmit_2xx();
  });
}

void Call::got_ack(const Message& ack) {
  auto cs = ack.cseq();
  if (!pending_2xx_.empty() && cs && cs->number == pending_2xx_cseq_) {
    pending_2xx_.clear();
    cancel_timer(retransmit_timer_);
  }
  reinvite_in_ = false;
  if (offer_ && ((incoming_ && !audio_) || ack_answer_)) {
    // we offered in a 2xx (late offer, or an offer-less re-INVITE): the answer is in the ACK
    bool refresh = ack_answer_;
    ack_answer_ = false;
    auto answer = sdp::parse(ack.body());
    auto neg = answer ? ua::process_answer(settings_.media, *offer_, *answer) : Result<ua::NegotiatedAudio>(answer.error());
    offer_.reset();
    Status applied = neg ? apply_media(*neg) : Status(neg.error());
    if (!applied) {
      report_.error = applied.error();
      if (!refresh) return send_bye();  // no session at all
      // a refresh that failed leaves the session as it was (RFC 3261 14.2)
    }
  }
}

Status Call::reject(int status, std::string_view reason) {
  if (!incoming_ || state_ != State::kRinging || !invite_st_) return make_error("call-state", "no incoming call is ringing");
  report_.final_status = status;
  (void)invite_st_->respond(txn::make_response(*invite_, status, reason, local_tag_));
  invite_st_ = nullptr;
  finish("local");
  return Ok{};
}

// ---------------------------------------------------------------------------------- both
void Call::hang_up() {
  switch (state_) {
    case State::kCalling:
    case State::kEarly:
      if (incoming_) break;
      cancel_wanted_ = true;
      if (got_provisional_) send_cancel();
      return;
    case State::kRinging:
      (void)reject(603, "Decline");
      return;
    case State::kConfirmed:
      report_.ended_by = "local";
      send_bye();
      return;
    case State::kTerminating:
    case State::kTerminated:
      return;
  }
}

Status Call::hold(bool on) {
  if (state_ != State::kConfirmed || !audio_) return make_error("call-state", "the call is not established");
  want_hold_ = on;
  if (reinvite_out_ || reinvite_in_) return Ok{};  // sent once the current offer/answer ends
  return send_reinvite();
}

Status Call::send_dtmf(const std::string& digits) {
  if (state_ != State::kConfirmed || !audio_) return make_error("call-state", "the call is not established");
  return rtp_->send_dtmf(digits);
}

Status Call::send_reinvite() {
  auto offer = new_offer();
  if (!offer) return offer.error();
  set_direction(offer->sdp, want_hold_ ? sdp::Direction::kSendOnly : sdp::Direction::kSendRecv);
  offer_ = std::move(*offer);
  auto req = dialog_->make_request("INVITE", via());
  if (!req) return req.error();
  req->add_header(HeaderId::kContact, contact());
  req->add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  req->set_body("application/sdp", sdp::serialize(offer_->sdp));
  if (auto cs = req->cseq()) reinvite_cseq_ = cs->number;
  reinvite_out_ = true;
  std::weak_ptr<bool> alive = alive_;
  txn::ClientCallbacks cb;
  cb.on_response = [this, alive](const Message& r) {
    if (!alive.expired()) on_reinvite_response(r);
  };
  cb.on_timeout = [this, alive] {
    // section 14.1: a re-INVITE without answer ends the dialog
    if (alive.expired()) return;
    reinvite_out_ = false;
    report_.error = make_error("timeout", "no answer to the re-INVITE");
    send_bye();
  };
  cb.on_transport_error = [this, alive](const Error& e) {
    if (alive.expired()) return;
    reinvite_out_ = false;
    finish("error", e);
  };
  auto t = env_.txns.send_request(std::move(*req), channel(), std::move(cb));
  if (!t) {
    reinvite_out_ = false;
    return t.error();
  }
  return Ok{};
}

void Call::on_reinvite_response(const Message& r) {
  int code = r.status();
  if (code < 200) return;
  if (code < 300) {
    send_ack(reinvite_cseq_);
    if (!reinvite_out_) return;  // a retransmitted 2xx: ACKed again, nothing else
    reinvite_out_ = false;
    dialog_->receive_refresh_response(r);
    auto answer = sdp::parse(r.body());
    auto neg = answer ? ua::process_answer(settings_.media, *offer_, *answer) : Result<ua::NegotiatedAudio>(answer.error());
    offer_.reset();
    if (!neg) {
      report_.error = neg.error();
      return send_bye();
    }
    if (Status s = apply_media(*neg); !s) {
      report_.error = s.error();
      return send_bye();
    }
    report_.held = want_hold_;
    if (want_hold_) rtp_->stop();
    return;
  }
  reinvite_out_ = false;
  offer_.reset();
  if (code == 481 || code == 408) {
    // section 12.2.1.2: the dialog is gone
    report_.ended_by = "remote";
    return finish("remote", make_error("call-gone", "the peer no longer knows the call (" + std::to_string(code) + ")"));
  }
  if (code == 491) {
    // section 14.1 glare: retry after 2.1-4 s if we own the Call-ID (we called), else 0-2 s
    std::uint32_t r16 = 0;
    for (char ch : random_hex(2)) r16 = r16 * 16 + static_cast<std::uint32_t>(ch <= '9' ? ch - '0' : ch - 'a' + 10);
    auto wait = incoming_ ? std::chrono::milliseconds(r16 * 2000 / 256) : std::chrono::milliseconds(2100 + r16 * 1900 / 256);
    std::weak_ptr<bool> alive = alive_;
    glare_timer_ = env_.txns.timers().schedule(wait, [this, alive] {
      if (alive.expired()) return;
      glare_timer_ = 0;
      if (state_ == State::kConfirmed && !reinvite_out_ && !reinvite_in_) (void)send_reinvite();
    });
    return;
  }
  // other failures: the session stays as it was (section 14.1)
}

void Call::on_reinvite(const Message& m, txn::ServerTransaction* st) {
  // section 14.2: a second offer while one is pending is refused (491 if ours is outstanding,
  // 500 with Retry-After if theirs still waits for its ACK)
  if (reinvite_out_) {
    (void)st->respond(txn::make_response(m, 491, "Request Pending"));
    return;
  }
  if (reinvite_in_ && !pending_2xx_.empty()) {
    auto r = txn::make_response(m, 500, "Server Internal Error");
    r.add_header(HeaderId::kRetryAfter, "1");
    (void)st->respond(r);
    return;
  }
  if (m.body().empty()) {
    // an offer-less re-INVITE (session refresh, transfer by a PBX): RFC 3261 14.2 — we offer
    // our current session in the 2xx and the answer comes in the ACK
    auto o = new_offer();
    if (!o) {
      (void)st->respond(txn::make_response(m, 488, "Not Acceptable Here"));
      return;
    }
    set_direction(o->sdp, report_.held ? sdp::Direction::kSendOnly : sdp::Direction::kSendRecv);
    offer_ = std::move(*o);
    ack_answer_ = true;
    reinvite_in_ = true;
    (void)respond_2xx(st, m, &offer_->sdp);
    return;
  }
  auto offer = sdp::parse(m.body());
  if (!offer) {
    (void)st->respond(txn::make_response(m, 400, "Bad SDP"));
    return;
  }
  int status = 488;
  auto a = new_answer(*offer, &status);
  if (!a) {
    // section 14.2: a refused re-INVITE leaves the session as it was
    auto r = txn::make_response(m, status, "Not Acceptable Here");
    r.add_header("Warning", "399 exphone \"" + a.error().code + "\"");
    (void)st->respond(r);
    return;
  }
  if (report_.held) set_direction(a->sdp, a->audio.direction == sdp::Direction::kSendRecv ? sdp::Direction::kSendOnly : sdp::Direction::kInactive);
  if (Status s = apply_media(a->audio); !s) {
    auto r = txn::make_response(m, 488, "Not Acceptable Here");
    r.add_header("Warning", "399 exphone \"" + s.error().code + "\"");
    (void)st->respond(r);
    return;
  }
  if (report_.held) rtp_->stop();
  reinvite_in_ = true;
  (void)respond_2xx(st, m, &a->sdp);
  if (flow_->reliable()) reinvite_in_ = false;  // no ACK wait needed to accept the next offer
}

bool Call::owns(const Message& m) const {
  if (m.call_id() != call_id_) return false;
  if (m.method() == "CANCEL") return incoming_;
  if (m.method() == "ACK" && incoming_) return true;
  return dialog_ && dialog_->matches(m);
}

void Call::invite_transaction_gone() {
  if (!invite_st_) return;  // answered or refused already: the transaction is no longer ours
  invite_st_ = nullptr;
  if (state_ == State::kRinging)
    finish("error", make_error("transport-failed", "the INVITE's transaction ended (its connection failed) while ringing"));
}

void Call::on_request(const Message& m, const net::FlowPtr&, txn::ServerTransaction* st) {
  std::string_view method = m.method();
  if (method == "ACK") {
    got_ack(m);
    return;
  }
  if (!st) return;
  if (method == "CANCEL") {
    // section 9.2: 200 to the CANCEL; if the INVITE is still unanswered, 487 to it
    (void)st->respond(txn::make_response(m, 200, "OK", local_tag_));
    if (state_ == State::kRinging && invite_st_) {
      (void)invite_st_->respond(txn::make_response(*invite_, 487, "Request Terminated", local_tag_));
      invite_st_ = nullptr;
      report_.final_status = 487;
      finish("cancel");
    }
    return;
  }
  if (int refuse = dialog_->receive_request(m); refuse) {
    (void)st->respond(txn::make_response(m, refuse, "Server Internal Error"));
    return;
  }
  if (method == "BYE") {
    (void)st->respond(txn::make_response(m, 200, "OK"));
    if (state_ == State::kRinging && invite_st_) {
      // section 15.1.2: a BYE before our final answer ends the INVITE with 487
      (void)invite_st_->respond(txn::make_response(*invite_, 487, "Request Terminated", local_tag_));
      invite_st_ = nullptr;
    }
    return finish("remote");
  }
  if (method == "INVITE") {
    if (state_ != State::kConfirmed) {
      (void)st->respond(txn::make_response(m, 491, "Request Pending"));
      return;
    }
    return on_reinvite(m, st);
  }
  if (method == "OPTIONS" || method == "INFO" || method == "NOTIFY") {
    (void)st->respond(txn::make_response(m, 200, "OK"));
    return;
  }
  auto r = txn::make_response(m, 405, "Method Not Allowed");
  r.add_header(HeaderId::kAllow, "INVITE, ACK, CANCEL, BYE, OPTIONS");
  (void)st->respond(r);
}

void Call::meter_tone() {
  if (!tone_meter_ || tone_meter_->sample_rate() != rtp_->recording_rate())
    tone_meter_.emplace(settings_.expect_tone_hz, rtp_->recording_rate());  // new codec rate: start over
  report_.heard_tone_ratio = tone_meter_->update(rtp_->recording());
  if (settings_.record_wav.empty()) {
    // No WAV wanted: what the meter has measured is not kept (a call would otherwise hold up
    // to ten minutes of audio, 19 MB at 16 kHz).
    const std::size_t done = tone_meter_->consumed();
    rtp_->drop_recorded(done);
    tone_meter_->forget(done);
  }
}

const CallReport& Call::report() {
  report_.state = std::string(state_name(state_));
  if (rtp_) {
    report_.stats = rtp_->stats();
    meter_tone();
    report_.dtmf_received = rtp_->received_digits();
  }
  return report_;
}

void Call::finish(std::string ended_by, std::optional<Error> e) {
  if (finished_) return;
  finished_ = true;
  set_state(State::kTerminated);
  if (dialog_) dialog_->terminate();
  cancel_timer(retransmit_timer_);
  cancel_timer(glare_timer_);
  cancel_timer(ring_timer_);
  cancel_timer(media_timer_);
  if (report_.ended_by.empty()) report_.ended_by = std::move(ended_by);
  if (e && !report_.error) report_.error = e;
  if (rtp_) {
    rtp_->stop();
    if (audio_) rtp_->send_bye();  // RFC 3550 6.6
  }
  if (dtls_) dtls_->close();  // close_notify
  report();
  if (rtp_ && !settings_.record_wav.empty() && !rtp_->recording().empty()) {
    if (Status s = media::write_wav(settings_.record_wav, rtp_->recording(), rtp_->recording_rate()); !s && !report_.error)
      report_.error = s.error();
    else if (s)
      report_.recording = settings_.record_wav;
  }
  if (ended_) {
    // posted: the owner may destroy the call from the callback
    std::weak_ptr<bool> alive = alive_;
    asio::post(env_.io, [this, alive] {
      if (!alive.expired() && ended_) ended_(*this);
    });
  }
}

}  // namespace exphone::phone
