// One call on the phone: an INVITE session (RFC 3261 sections 12-15) with its SDP offer/answer
// (RFC 3264) and one audio stream (media::RtpStream, SDES-SRTP when negotiated), as the caller
// (UAC) or the callee (UAS), over UDP, TCP or TLS, peer-to-peer or through a PBX.
//
// The phone core (phone/phone.h) decides who may reach a call and routes requests to it; a Call
// only speaks its own dialog:
//   UAC  INVITE -> 1xx (ring) -> 2xx (ACK, media) | 3xx-6xx; 401/407 answered once with digest;
//        CANCEL before the final answer (section 9.1); BYE to end.
//   UAS  180 Ringing, answer() -> 200 with the answer, retransmitted over UDP until the ACK
//        (section 13.3.1.4); CANCEL -> 487; reject(); BYE to end.
//   Both hold()/resume() by re-INVITE (RFC 3264 section 8.4: a=sendonly / a=sendrecv), answer
//        the peer's re-INVITE, 491 on glare with the retry of section 14.1, BYE from either side.
// In-dialog requests reuse the call's flow (the connection the INVITE went or came over, RFC
// 5923 style): through a PBX that is the registrar's flow, so a phone behind a firewall works.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "media/dtls_srtp.h"
#include "media/ice_lite.h"
#include "media/rtp_stream.h"
#include "media/sound_device.h"
#include "media/tone.h"
#include "net/transport_layer.h"
#include "phone/dtls_identity_source.h"
#include "txn/transaction_layer.h"
#include "ua/dialog.h"
#include "ua/digest.h"
#include "ua/offer_answer.h"

namespace exphone::phone {

// The call report of DESIGN.md ("Interfaces others rely on").
struct CallReport {
  std::string call_id;
  std::string direction;  // "outgoing" / "incoming"
  std::string peer;       // the remote URI (To of our INVITE, From of theirs)
  std::string state;      // see Call::state_name
  bool answered = false;
  bool held = false;      // we put the call on hold (a=sendonly)
  bool emergency = false; // placed by the hotline
  bool remote_held = false;  // the peer did
  int remote_holds = 0;      // how often the peer put us on hold during the call
  long time_to_ring_ms = -1;
  long time_to_answer_ms = -1;
  int final_status = 0;
  std::string ended_by;   // "local", "remote", "cancel", "timeout", "media-timeout", "error" (empty while up)
  std::string transport;
  std::optional<net::tls::TlsPeerInfo> tls;
  std::string codec;
  bool srtp = false;
  std::string key_exchange;  // "sdes", "dtls" or "none"
  std::string suite;
  // DTLS-SRTP (RFC 5763): our role, and whether the peer's certificate matched the a=fingerprint
  // of its SDP. The fingerprint only authenticates the peer when that SDP came over TLS/WSS
  // (fingerprint_over_tls); over UDP/TCP anyone on the path could have replaced it.
  struct Dtls {
    std::string role;  // "client" (a=setup:active) or "server"
    bool peer_fingerprint_verified = false;
    bool fingerprint_over_tls = false;
    // DTLS datagrams that came after the handshake: nothing in them is used (no application data
    // on a DTLS-SRTP association); from any address but the peer's media address not even read
    std::uint64_t discarded = 0;
  };
  std::optional<Dtls> dtls;
  std::string ice_selected;  // ICE-lite: the remote address the peer nominated ("" = no ICE)
  media::RtpStreamStats stats;
  double heard_tone_ratio = 0;  // energy share of the expected far-end tone in what we received
  std::string dtmf_received;    // RFC 4733 digits the peer sent
  std::string local_rtp;        // "ip:port" where we receive media
  std::string remote_rtp;       // "ip:port" where we send it (from the peer's SDP)
  std::string recording;        // WAV file the received audio was written to
  std::optional<Error> error;
  bool secure() const;          // the padlock: TLS verified and SRTP both ways
};

struct CallSettings {
  std::string local_user = "exphone";
  ua::MediaPolicy media;
  double send_tone_hz = 1000;
  double expect_tone_hz = 440;
  std::chrono::milliseconds ring_timeout{60000};  // unanswered incoming calls get 480 after this
  std::chrono::milliseconds media_timeout{30000};  // confirmed, not held, nothing from the peer: BYE (0 = off)
  std::string play_wav;     // sent instead of the tone (16-bit mono WAV, 8 or 16 kHz), looped
  std::string record_wav;   // the received audio is written here when the call ends
  std::string dtmf;         // RFC 4733 digits sent once the media flows
  std::string audio_device; // ALSA device for speaker and microphone ("" = headless: tone/WAV)
  bool echo = false;        // send back what we hear (a line test for the far end)
  bool beep = false;        // a short beep on the speaker when the call connects (intercom)
  std::string srtp_keylog_file;  // diagnostics: SRTP keys appended here (docs/diagnostics.md)
  // The device's DTLS certificate (shared by all calls, made by the first that needs it);
  // without it no DTLS-SRTP is offered or accepted.
  std::shared_ptr<DtlsIdentitySource> dtls_identity;
};

// How an outgoing call leaves the phone.
struct Route {
  std::string request_uri;             // whom we call
  std::string from;                    // our identity, a name-addr without tag: "Name" <sip:100@plant>
  std::optional<net::Target> next_hop; // where to connect (peer-to-peer), or...
  net::FlowPtr flow;                   // ...the flow to use (the registrar's)
  std::string route_header;            // "<sip:proxy;lr>" (outbound proxy), or empty
  std::string auth_user, password;     // for 401/407 from the PBX; empty = no credentials
  std::string user_agent = "exphone";
};

struct CallEnv {
  boost::asio::io_context& io;
  net::TransportLayer& transport;
  txn::TransactionLayer& txns;
};

class Call {
 public:
  enum class State { kCalling, kRinging, kEarly, kConfirmed, kTerminating, kTerminated };
  using Ended = std::function<void(Call&)>;

  // UAC: connects, sends the INVITE; `ended` runs once when the call is over (or failed).
  static std::unique_ptr<Call> dial(CallEnv env, CallSettings settings, Route route, Ended ended);
  // UAS: `invite` arrived on `flow` and the phone core accepted its origin; `st` is its server
  // transaction. Sends 180 Ringing (or a final error when the offer is unusable).
  static std::unique_ptr<Call> incoming(CallEnv env, CallSettings settings, const sip::Message& invite,
                                        net::FlowPtr flow, txn::ServerTransaction* st, Ended ended);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Runs on every state change (ringing, early, confirmed, ...), for the UI and the tools.
  std::function<void(Call&)> on_state;
  // The connection this call's requests go over has closed (the PBX restarted, a link was cut and
  // the account re-registered over a new one): the flow to use instead, or null. RFC 5626
  // section 4.5: after flow recovery, requests go over the new flow to the same proxy.
  std::function<net::FlowPtr(const net::FlowPtr& dead)> replacement_flow;

  const std::string& call_id() const { return call_id_; }
  State state() const { return state_; }
  static std::string_view state_name(State s);
  bool incoming() const { return incoming_; }
  const net::FlowPtr& flow() const { return flow_; }
  const CallReport& report();  // refreshed with the media statistics

  Status answer();
  Status reject(int status, std::string_view reason);
  void hang_up();               // CANCEL, reject (603), or BYE, whatever the state calls for
  Status hold(bool on);         // re-INVITE with a=sendonly (on) or a=sendrecv (off)
  Status send_dtmf(const std::string& digits);  // RFC 4733, on the established media

  // From the phone core. A request inside this call (or its CANCEL / the ACK of our 2xx); `st`
  // is the server transaction the core made for it (nullptr for ACK).
  void on_request(const sip::Message& m, const net::FlowPtr& flow, txn::ServerTransaction* st);
  // True when `m` (a request) belongs to this call's dialog, or is a CANCEL/ACK for its INVITE.
  bool owns(const sip::Message& m) const;
  // The phone core: the INVITE's server transaction ended (its transport failed, e.g. a peer
  // that does not read its connection). A call still ringing on it ends; nothing keeps a pointer.
  void invite_transaction_gone();

 private:
  Call(CallEnv env, CallSettings settings, Ended ended);
  void connected(net::FlowPtr flow);
  void send_invite(std::vector<ua::DigestSession::Header> auth);
  void on_invite_response(const sip::Message& r);
  void send_cancel();
  void send_ack(std::uint32_t cseq);  // for a 2xx to our INVITE / re-INVITE (section 13.2.2.4)
  // Our offer / answer for this call's stream; SDES only when the SDP travels over TLS.
  Result<ua::PendingOffer> new_offer();
  Result<ua::AnswerResult> new_answer(const sdp::Session& offer, int* status);
  void send_bye();
  void watch_media();
  void meter_tone();  // heard_tone_ratio from the recording so far
  Status send_reinvite();
  void on_reinvite_response(const sip::Message& r);
  void on_reinvite(const sip::Message& m, txn::ServerTransaction* st);
  Status respond_2xx(txn::ServerTransaction* st, const sip::Message& request, const sdp::Session* sdp);
  void retransmit_2xx();
  void got_ack(const sip::Message& ack);
  Status apply_media(const ua::NegotiatedAudio& a);
  Result<media::RtpStream::Source> make_source();
  void log_srtp_keys(std::string_view suite, const Bytes& local, const Bytes& remote, std::string_view source);
  Status open_media(const std::string& local_ip);
  void prepare_dtls();
  ua::LocalMedia local_media() const;
  Status start_dtls(const ua::NegotiatedAudio& a);
  void on_dtls_done(Result<media::DtlsSrtpKeys> keys);
  void send_dtls(std::span<const std::uint8_t> datagram);
  std::string via() const;
  std::string contact() const;
  txn::Channel channel();
  void finish(std::string ended_by, std::optional<Error> e = std::nullopt);
  void cancel_timer(TimerService::Id& id);
  void set_state(State s);
  long since_start_ms() const;

  CallEnv env_;
  CallSettings settings_;
  Ended ended_;
  bool incoming_ = false;
  State state_ = State::kCalling;
  std::string call_id_;
  Route route_;
  net::FlowPtr flow_;
  std::optional<ua::DigestSession> digest_;
  std::unique_ptr<media::RtpStream> rtp_;
  std::optional<media::IceLiteAgent> ice_;               // with DTLS-SRTP (WebRTC peers)
  std::shared_ptr<media::DtlsIdentity> dtls_identity_;  // set with ice_
  std::unique_ptr<media::DtlsSrtpTransport> dtls_;
  std::vector<std::vector<std::uint8_t>> early_dtls_;    // records before the answer told our role
  std::optional<media::ToneMeter> tone_meter_;  // heard_tone_ratio, updated incrementally
  std::unique_ptr<media::SoundDevice> speaker_, microphone_;
  std::shared_ptr<std::deque<std::int16_t>> echo_;
  std::string local_ip_;
  std::optional<ua::PendingOffer> offer_;       // our outstanding offer (INVITE or re-INVITE)
  std::optional<ua::NegotiatedAudio> audio_;    // what is in force
  std::optional<ua::Dialog> dialog_;
  std::optional<sip::Message> invite_;          // our INVITE as sent, or the peer's
  std::string local_tag_;
  std::uint32_t invite_cseq_ = 0;
  bool cancel_wanted_ = false;
  bool got_provisional_ = false;
  // UAS: the answered INVITE's server transaction (valid until the final response is sent)
  txn::ServerTransaction* invite_st_ = nullptr;
  // 2xx retransmission over UDP until the ACK (section 13.3.1.4)
  std::string pending_2xx_;
  std::uint32_t pending_2xx_cseq_ = 0;
  std::chrono::milliseconds retransmit_interval_{0};
  std::chrono::steady_clock::time_point retransmit_deadline_;
  TimerService::Id retransmit_timer_ = 0;
  // re-INVITE state: ours in flight, or theirs answered and waiting for the ACK
  bool reinvite_out_ = false;
  bool reinvite_in_ = false;
  bool ack_answer_ = false;  // our offer went in a 2xx to an offer-less re-INVITE
  bool want_hold_ = false;
  std::uint32_t reinvite_cseq_ = 0;
  TimerService::Id glare_timer_ = 0;
  TimerService::Id ring_timer_ = 0;
  // media_timeout: authenticated packets (RTP + RTCP) seen from the peer, and when that last changed
  TimerService::Id media_timer_ = 0;
  std::uint64_t media_seen_ = 0;
  std::chrono::steady_clock::time_point media_seen_at_;
  std::chrono::steady_clock::time_point started_;
  CallReport report_;
  bool finished_ = false;
  bool dtmf_sent_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::phone
