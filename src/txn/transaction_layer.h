// The transaction layer (RFC 3261 section 17): creates transactions, matches incoming
// messages to them (sections 17.1.3 and 17.2.3) and removes them when they terminate.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "txn/client_transaction.h"
#include "txn/rtt_estimates.h"
#include "txn/server_transaction.h"

namespace exphone::txn {

struct TransactionLimits {
  std::size_t max_client = 256;
  // Beyond max_server, create_server() first sheds the oldest server transaction that has
  // already sent its final response (Completed/Confirmed: it only absorbs retransmissions and
  // waits for Timer H/J, up to 32 s on UDP), so a storm of answered requests cannot lock out new
  // work; only when every slot holds a request still waiting for its final answer does it fail
  // with `txn-limit`, and the caller refuses statelessly with 503 + Retry-After.
  std::size_t max_server = 256;
};

class TransactionLayer {
 public:
  using Limits = TransactionLimits;

  TransactionLayer(TimerService& timers, TimerConfig config = {}, Limits limits = {});
  ~TransactionLayer();

  // A fresh branch with the RFC 3261 magic cookie (section 8.1.1.7).
  static std::string new_branch();

  // Starts a client transaction for `request` (its top Via must carry a unique branch).
  // Returns nullptr with an error when the limit is reached or the request lacks Via/CSeq.
  Result<ClientTransaction*> send_request(sip::Message request, Channel channel, ClientCallbacks callbacks);

  // A response from the transport. False when no transaction matches (section 17.1.3): the
  // caller hands it to the TU core (e.g. 2xx retransmissions after the transaction ended).
  bool on_response(const sip::Message& response);

  // A request from the transport. If it belongs to an existing server transaction (a
  // retransmission, or the ACK of a non-2xx), that transaction absorbs it and this returns it;
  // otherwise nullptr, and the TU decides: create_server() for a new request, or handle an ACK
  // for a 2xx itself.
  ServerTransaction* match_request(const sip::Message& request);
  Result<ServerTransaction*> create_server(const sip::Message& request, Channel channel, ServerCallbacks callbacks);
  // The INVITE server transaction a CANCEL refers to (section 9.2), or nullptr.
  ServerTransaction* find_invite_for_cancel(const sip::Message& cancel);

  std::size_t client_count() const { return clients_.size(); }
  std::size_t server_count() const { return servers_.size(); }
  // server transactions dropped early to make room (see TransactionLimits::max_server)
  std::uint64_t servers_shed() const { return servers_shed_; }
  TimerService& timers() { return timers_; }
  const TimerConfig& config() const { return config_; }

 private:
  static std::string client_key(std::string_view branch, std::string_view method);
  static std::string server_key(const sip::Message& request, std::string_view method);
  void reap_later();
  bool shed_oldest_answered_server();
  struct ServerEntry {
    std::unique_ptr<ServerTransaction> t;
    std::uint64_t seq = 0;  // creation order: the oldest answered one is shed first
  };

  TimerService& timers_;
  TimerConfig config_;
  RttEstimates rtt_;  // T1 per UDP peer
  Limits limits_;
  std::unordered_map<std::string, std::unique_ptr<ClientTransaction>> clients_;
  std::unordered_map<std::string, ServerEntry> servers_;
  std::uint64_t server_seq_ = 0;
  std::uint64_t servers_shed_ = 0;
  TimerService::Id reap_timer_ = 0;
};

}  // namespace exphone::txn
