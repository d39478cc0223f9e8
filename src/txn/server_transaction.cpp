#include "txn/server_transaction.h"

#include <algorithm>

namespace exphone::txn {

using sip::HeaderId;
using sip::Message;

ServerTransaction::ServerTransaction(const Message& request, Channel channel, TimerService& timers,
                                     TimerConfig config, ServerCallbacks callbacks)
    : method_(request.method()),
      invite_(method_ == "INVITE"),
      channel_(std::move(channel)),
      timers_(timers),
      config_(config),
      cb_(std::move(callbacks)),
      state_(invite_ ? State::kProceeding : State::kTrying) {}

ServerTransaction::~ServerTransaction() {
  disarm(g_);
  disarm(h_);
  disarm(end_);
}

void ServerTransaction::arm(TimerService::Id& slot, Millis d, void (ServerTransaction::*fn)()) {
  disarm(slot);
  slot = timers_.schedule(d, [this, fn, &slot] {
    slot = 0;
    (this->*fn)();
  });
}

void ServerTransaction::disarm(TimerService::Id& slot) {
  if (slot) timers_.cancel(slot);
  slot = 0;
}

void ServerTransaction::resend() {
  if (last_response_.empty()) return;
  Status s = channel_.send(last_response_);
  if (!s) {
    auto cb = cb_.on_transport_error;
    terminate();
    if (cb) cb(s.error());
  }
}

Status ServerTransaction::respond(const Message& response) {
  if (state_ != State::kTrying && state_ != State::kProceeding)
    return make_error("txn-state", "the transaction already has a final response");
  last_response_ = sip::serialize(response);
  int code = response.status();
  Status s = channel_.send(last_response_);
  if (!s) {
    auto cb = cb_.on_transport_error;
    terminate();
    if (cb) cb(s.error());
    return s;
  }
  if (code < 200) {
    state_ = State::kProceeding;
  } else if (invite_ && code < 300) {
    // RFC 6026 section 7.1: Accepted; the TU retransmits the 2xx until the ACK arrives
    state_ = State::kAccepted;
    arm(end_, config_.timer_l(), &ServerTransaction::timer_end);
  } else if (invite_) {
    state_ = State::kCompleted;
    if (!channel_.reliable) {
      interval_ = config_.t1;
      arm(g_, interval_, &ServerTransaction::timer_g);
    }
    arm(h_, config_.timer_h(), &ServerTransaction::timer_h);
  } else {
    state_ = State::kCompleted;
    arm(end_, config_.timer_j(channel_.reliable), &ServerTransaction::timer_end);
  }
  return s;
}

void ServerTransaction::on_request(const Message& request) {
  if (request.method() == "ACK") {
    if (!invite_) return;
    if (state_ == State::kCompleted) {
      // section 17.2.1: Confirmed, absorb further ACKs until Timer I
      state_ = State::kConfirmed;
      disarm(g_);
      disarm(h_);
      arm(end_, config_.timer_i(channel_.reliable), &ServerTransaction::timer_end);
    } else if (state_ == State::kAccepted && cb_.on_ack) {
      cb_.on_ack(request);
    }
    return;
  }
  // a retransmitted request: re-send the last response (sections 17.2.1, 17.2.2)
  if (state_ == State::kProceeding || state_ == State::kCompleted) resend();
}

void ServerTransaction::timer_g() {
  if (state_ != State::kCompleted) return;
  resend();
  if (state_ != State::kCompleted) return;
  interval_ = std::min(interval_ * 2, config_.t2);
  arm(g_, interval_, &ServerTransaction::timer_g);
}

void ServerTransaction::timer_h() {
  if (state_ != State::kCompleted) return;
  auto cb = cb_.on_timeout;
  terminate();
  if (cb) cb();
}

void ServerTransaction::timer_end() { terminate(); }

void ServerTransaction::terminate() {
  if (state_ == State::kTerminated) return;
  state_ = State::kTerminated;
  disarm(g_);
  disarm(h_);
  disarm(end_);
  if (cb_.on_terminated) cb_.on_terminated();
}

Message make_response(const Message& request, int status, std::string_view reason, std::string_view to_tag) {
  Message r = Message::response(status, reason);
  for (const auto& h : request.headers())
    if (h.id == HeaderId::kVia) r.add_header(HeaderId::kVia, h.value);
  if (const auto* f = request.find(HeaderId::kFrom)) r.add_header(HeaderId::kFrom, f->value);
  if (const auto* t = request.find(HeaderId::kTo)) {
    auto to = request.to();
    bool has_tag = to && !to->tag().empty();
    if (!has_tag && status != 100 && !to_tag.empty())
      r.add_header(HeaderId::kTo, std::string(t->value) + ";tag=" + std::string(to_tag));
    else
      r.add_header(HeaderId::kTo, t->value);
  }
  r.add_header(HeaderId::kCallId, request.call_id());
  if (const auto* c = request.find(HeaderId::kCSeq)) r.add_header(HeaderId::kCSeq, c->value);
  // section 8.2.6.1: a 100 Trying copies Timestamp
  if (status == 100)
    if (const auto* ts = request.find(HeaderId::kTimestamp)) r.add_header(HeaderId::kTimestamp, ts->value);
  // section 18.3: stream transports need Content-Length on every message (set_body replaces it)
  r.add_header(HeaderId::kContentLength, "0");
  return r;
}

}  // namespace exphone::txn
