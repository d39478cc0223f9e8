// Client transactions: RFC 3261 section 17.1, with the RFC 6026 "Accepted" state for INVITE.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sip/message.h"
#include "txn/channel.h"
#include "txn/timers.h"

namespace exphone::txn {

// What the transaction user (registration client, invite session...) hears back.
struct ClientCallbacks {
  std::function<void(const sip::Message&)> on_response;   // 1xx and final (and 2xx retransmissions)
  std::function<void()> on_timeout;                       // Timer B / F fired (section 17.1.1.2, 17.1.2.2)
  std::function<void(const Error&)> on_transport_error;   // section 17.1.4
  std::function<void()> on_terminated;                    // the transaction is gone (for cleanup)
};

class ClientTransaction {
 public:
  enum class State { kCalling, kTrying, kProceeding, kCompleted, kAccepted, kTerminated };

  // `request` must carry a top Via with a branch and a CSeq (TransactionLayer fills them).
  ClientTransaction(sip::Message request, Channel channel, TimerService& timers, TimerConfig config,
                    ClientCallbacks callbacks);
  ~ClientTransaction();
  ClientTransaction(const ClientTransaction&) = delete;
  ClientTransaction& operator=(const ClientTransaction&) = delete;

  void start();                               // sends the request, arms the timers
  void on_response(const sip::Message& m);    // a response matched to us (section 17.1.3)

  State state() const { return state_; }
  bool is_invite() const { return invite_; }
  const sip::Message& request() const { return request_; }
  std::string_view branch() const { return branch_; }
  std::string_view method() const { return method_; }
  int retransmissions() const { return retransmissions_; }
  // Told once, at the first response: how long after the request left, and whether it had been
  // retransmitted by then (the layer's RTT estimate, rtt_estimates.h).
  void on_first_response(std::function<void(Millis, bool retransmitted)> fn) { first_response_ = std::move(fn); }

 private:
  void send_request();
  void arm(TimerService::Id& slot, Millis d, void (ClientTransaction::*fn)());
  void disarm(TimerService::Id& slot);
  void timer_retransmit();   // Timer A (INVITE) / E (non-INVITE)
  void timer_timeout();      // Timer B / F
  void timer_linger();       // Timer D / K / M
  void send_ack(const sip::Message& final_response);  // section 17.1.1.3
  void terminate();
  void transport_error(const Error& e);

  sip::Message request_;
  std::string wire_;
  std::string ack_wire_;
  std::string branch_;
  std::string method_;
  bool invite_;
  Channel channel_;
  TimerService& timers_;
  TimerConfig config_;
  ClientCallbacks cb_;
  State state_;
  Millis interval_{0};
  int retransmissions_ = 0;
  Clock::time_point started_{};
  bool answered_ = false;
  std::function<void(Millis, bool)> first_response_;
  TimerService::Id retransmit_timer_ = 0;
  TimerService::Id timeout_timer_ = 0;
  TimerService::Id linger_timer_ = 0;
};

// Builds the ACK for a non-2xx final response to `invite` (section 17.1.1.3).
sip::Message make_ack_for_non2xx(const sip::Message& invite, const sip::Message& response);

}  // namespace exphone::txn
