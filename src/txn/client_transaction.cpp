#include "txn/client_transaction.h"

#include <algorithm>

#include "core/text.h"

namespace exphone::txn {

using sip::HeaderId;
using sip::Message;

ClientTransaction::ClientTransaction(Message request, Channel channel, TimerService& timers,
                                     TimerConfig config, ClientCallbacks callbacks)
    : request_(std::move(request)),
      channel_(std::move(channel)),
      timers_(timers),
      config_(config),
      cb_(std::move(callbacks)) {
  wire_ = sip::serialize(request_);
  auto via = request_.top_via();
  branch_ = via ? std::string(via->branch()) : std::string();
  method_ = std::string(request_.method());
  invite_ = method_ == "INVITE";
  state_ = invite_ ? State::kCalling : State::kTrying;
}

ClientTransaction::~ClientTransaction() {
  disarm(retransmit_timer_);
  disarm(timeout_timer_);
  disarm(linger_timer_);
}

void ClientTransaction::arm(TimerService::Id& slot, Millis d, void (ClientTransaction::*fn)()) {
  disarm(slot);
  slot = timers_.schedule(d, [this, fn, &slot] {
    slot = 0;
    (this->*fn)();
  });
}

void ClientTransaction::disarm(TimerService::Id& slot) {
  if (slot) timers_.cancel(slot);
  slot = 0;
}

void ClientTransaction::start() {
  started_ = timers_.now();
  send_request();
  if (state_ == State::kTerminated) return;
  // Timer A / E start at T1 on unreliable transports (sections 17.1.1.2, 17.1.2.2)
  if (!channel_.reliable) {
    interval_ = config_.timer_a();
    arm(retransmit_timer_, interval_, &ClientTransaction::timer_retransmit);
  }
  arm(timeout_timer_, invite_ ? config_.timer_b() : config_.timer_f(), &ClientTransaction::timer_timeout);
}

void ClientTransaction::send_request() {
  Status s = channel_.send(wire_);
  if (!s) transport_error(s.error());
}

void ClientTransaction::timer_retransmit() {
  if (state_ == State::kCalling) {
    ++retransmissions_;
    send_request();
    if (state_ == State::kTerminated) return;
    interval_ *= 2;  // Timer A doubles without cap (section 17.1.1.2)
  } else if (state_ == State::kTrying || state_ == State::kProceeding) {
    ++retransmissions_;
    send_request();
    if (state_ == State::kTerminated) return;
    // Timer E: doubles up to T2 while Trying; T2 once Proceeding (section 17.1.2.2)
    interval_ = state_ == State::kTrying ? std::min(interval_ * 2, config_.t2) : config_.t2;
  } else {
    return;
  }
  arm(retransmit_timer_, interval_, &ClientTransaction::timer_retransmit);
}

void ClientTransaction::timer_timeout() {
  if (state_ == State::kCalling || state_ == State::kTrying || state_ == State::kProceeding) {
    auto cb = cb_.on_timeout;
    terminate();
    if (cb) cb();
  }
}

void ClientTransaction::timer_linger() {
  if (state_ == State::kCompleted || state_ == State::kAccepted) terminate();
}

void ClientTransaction::on_response(const Message& m) {
  int code = m.status();
  if (!answered_) {
    answered_ = true;
    if (first_response_) first_response_(std::chrono::duration_cast<Millis>(timers_.now() - started_), retransmissions_ > 0);
  }
  switch (state_) {
    case State::kCalling:
    case State::kTrying:
    case State::kProceeding:
      if (code < 200) {
        if (state_ == State::kCalling) disarm(retransmit_timer_);  // section 17.1.1.2
        state_ = State::kProceeding;
        if (cb_.on_response) cb_.on_response(m);
        return;
      }
      disarm(retransmit_timer_);
      disarm(timeout_timer_);
      if (invite_ && code < 300) {
        // RFC 6026 section 8.4: Accepted; 2xx retransmissions go to the TU (which ACKs them)
        state_ = State::kAccepted;
        arm(linger_timer_, config_.timer_m(), &ClientTransaction::timer_linger);
        if (cb_.on_response) cb_.on_response(m);
        return;
      }
      state_ = State::kCompleted;
      if (invite_) {
        send_ack(m);
        arm(linger_timer_, config_.timer_d(channel_.reliable), &ClientTransaction::timer_linger);
      } else {
        arm(linger_timer_, config_.timer_k(channel_.reliable), &ClientTransaction::timer_linger);
      }
      if (cb_.on_response) cb_.on_response(m);
      return;
    case State::kCompleted:
      // a retransmitted final response: re-send the ACK for INVITE, absorb otherwise
      if (invite_ && code >= 300 && !ack_wire_.empty()) {
        Status s = channel_.send(ack_wire_);
        if (!s) transport_error(s.error());
      }
      return;
    case State::kAccepted:
      if (code >= 200 && code < 300 && cb_.on_response) cb_.on_response(m);
      return;
    case State::kTerminated:
      return;
  }
}

void ClientTransaction::send_ack(const Message& final_response) {
  ack_wire_ = sip::serialize(make_ack_for_non2xx(request_, final_response));
  Status s = channel_.send(ack_wire_);
  if (!s) transport_error(s.error());
}

void ClientTransaction::transport_error(const Error& e) {
  if (state_ == State::kTerminated) return;
  auto cb = cb_.on_transport_error;
  terminate();
  if (cb) cb(e);
}

void ClientTransaction::terminate() {
  if (state_ == State::kTerminated) return;
  state_ = State::kTerminated;
  disarm(retransmit_timer_);
  disarm(timeout_timer_);
  disarm(linger_timer_);
  if (cb_.on_terminated) cb_.on_terminated();
}

Message make_ack_for_non2xx(const Message& invite, const Message& response) {
  auto ack = Message::request("ACK", invite.request_uri().raw);
  Message m = ack ? std::move(*ack) : Message::response(500, "");
  // section 17.1.1.3: one Via equal to the INVITE's top Via, Route as in the INVITE, From and
  // Call-ID of the INVITE, To of the response (with its tag), CSeq number of the INVITE.
  if (const auto* via = invite.find(HeaderId::kVia)) {
    std::size_t comma = text::find_unquoted(via->value, ',');
    m.add_header(HeaderId::kVia, text::trim(via->value.substr(0, comma)));
  }
  for (const auto& h : invite.headers())
    if (h.id == HeaderId::kRoute) m.add_header(HeaderId::kRoute, h.value);
  m.add_header(HeaderId::kMaxForwards, "70");
  if (const auto* f = invite.find(HeaderId::kFrom)) m.add_header(HeaderId::kFrom, f->value);
  if (const auto* t = response.find(HeaderId::kTo)) m.add_header(HeaderId::kTo, t->value);
  m.add_header(HeaderId::kCallId, invite.call_id());
  auto cseq = invite.cseq();
  m.add_header(HeaderId::kCSeq, std::to_string(cseq ? cseq->number : 0) + " ACK");
  m.add_header(HeaderId::kContentLength, "0");
  return m;
}

}  // namespace exphone::txn
