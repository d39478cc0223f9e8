// Server transactions: RFC 3261 section 17.2, with the RFC 6026 "Accepted" state for INVITE.
#pragma once

#include <functional>
#include <string>

#include "sip/message.h"
#include "txn/channel.h"
#include "txn/timers.h"

namespace exphone::txn {

struct ServerCallbacks {
  // A 2xx-ACK for an INVITE in Accepted state (RFC 6026 section 7.1) goes to the TU.
  std::function<void(const sip::Message&)> on_ack;
  std::function<void()> on_timeout;                       // Timer H: no ACK for a final response
  std::function<void(const Error&)> on_transport_error;
  std::function<void()> on_terminated;
};

class ServerTransaction {
 public:
  enum class State { kTrying, kProceeding, kCompleted, kConfirmed, kAccepted, kTerminated };

  ServerTransaction(const sip::Message& request, Channel channel, TimerService& timers,
                    TimerConfig config, ServerCallbacks callbacks);
  ~ServerTransaction();
  ServerTransaction(const ServerTransaction&) = delete;
  ServerTransaction& operator=(const ServerTransaction&) = delete;

  // The TU's response (section 17.2.1 / 17.2.2). Returns the transport result.
  Status respond(const sip::Message& response);
  // A retransmission of the request, or the ACK for a non-2xx final response.
  void on_request(const sip::Message& request);

  State state() const { return state_; }
  bool is_invite() const { return invite_; }
  std::string_view method() const { return method_; }

 private:
  void arm(TimerService::Id& slot, Millis d, void (ServerTransaction::*fn)());
  void disarm(TimerService::Id& slot);
  void timer_g();  // retransmit the final response (unreliable)
  void timer_h();  // give up waiting for ACK
  void timer_end();  // I / J / L
  void resend();
  void terminate();

  std::string method_;
  bool invite_;
  Channel channel_;
  TimerService& timers_;
  TimerConfig config_;
  ServerCallbacks cb_;
  State state_;
  std::string last_response_;
  Millis interval_{0};
  TimerService::Id g_ = 0, h_ = 0, end_ = 0;
};

// Builds a response to `request` copying Via, From, To, Call-ID and CSeq (section 8.2.6.2);
// `to_tag` is added to To when the request's To has none and the status is not 100.
sip::Message make_response(const sip::Message& request, int status, std::string_view reason,
                           std::string_view to_tag = {});

}  // namespace exphone::txn
