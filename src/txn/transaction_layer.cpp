#include "txn/transaction_layer.h"

#include "core/random.h"
#include "core/text.h"

namespace exphone::txn {

using sip::Message;

namespace {
constexpr std::string_view kMagicCookie = "z9hG4bK";
}

TransactionLayer::TransactionLayer(TimerService& timers, TimerConfig config, Limits limits)
    : timers_(timers), config_(config), limits_(limits) {}

TransactionLayer::~TransactionLayer() {
  if (reap_timer_) timers_.cancel(reap_timer_);
}

std::string TransactionLayer::new_branch() { return std::string(kMagicCookie) + random_hex(12); }

std::string TransactionLayer::client_key(std::string_view branch, std::string_view method) {
  std::string k(branch);
  k += '|';
  k += method;
  return k;
}

std::string TransactionLayer::server_key(const Message& request, std::string_view method) {
  auto via = request.top_via();
  if (!via) return {};
  std::string_view branch = via->branch();
  std::string k;
  if (text::istarts_with(branch, kMagicCookie) && branch.size() > kMagicCookie.size()) {
    // section 17.2.3: branch + sent-by + method (ACK matches its INVITE)
    k.append(branch).append("|").append(via->sent_by()).append("|").append(method);
    return k;
  }
  // RFC 2543 fallback: Request-URI, From tag, Call-ID, CSeq number, top Via, method
  auto from = request.from();
  auto cseq = request.cseq();
  k.append("2543|").append(request.request_uri().raw).append("|");
  if (from) k.append(from->tag());
  k.append("|").append(request.call_id()).append("|").append(cseq ? std::to_string(cseq->number) : "");
  k.append("|").append(via->sent_by()).append("|").append(method);
  return k;
}

void TransactionLayer::reap_later() {
  if (reap_timer_) return;
  // Deferred, so a transaction is never destroyed inside one of its own callbacks.
  reap_timer_ = timers_.schedule(Millis{0}, [this] {
    reap_timer_ = 0;
    std::erase_if(clients_, [](auto& kv) { return kv.second->state() == ClientTransaction::State::kTerminated; });
    std::erase_if(servers_, [](auto& kv) { return kv.second.t->state() == ServerTransaction::State::kTerminated; });
  });
}

Result<ClientTransaction*> TransactionLayer::send_request(Message request, Channel channel, ClientCallbacks callbacks) {
  if (clients_.size() >= limits_.max_client)
    return make_error("txn-limit", "too many client transactions");
  auto via = request.top_via();
  if (!via || via->branch().empty()) return make_error("txn-bad-request", "request needs a top Via with a branch");
  std::string key = client_key(via->branch(), request.method());
  if (clients_.count(key)) return make_error("txn-duplicate", "a client transaction with this branch exists");
  auto user_terminated = std::move(callbacks.on_terminated);
  callbacks.on_terminated = [this, user_terminated] {
    reap_later();
    if (user_terminated) user_terminated();
  };
  TimerConfig config = config_;
  std::string peer = channel.reliable ? std::string() : channel.peer;
  // section 17.1.1.1: T1 estimates the RTT
  if (!peer.empty()) config.first_retransmit = rtt_.t1(peer, config_);
  auto t = std::make_unique<ClientTransaction>(std::move(request), std::move(channel), timers_, config, std::move(callbacks));
  ClientTransaction* raw = t.get();
  if (!peer.empty())
    raw->on_first_response([this, peer, t1 = config.timer_a()](Millis rtt, bool retransmitted) {
      if (retransmitted) rtt_.backed_off(peer, t1);  // Karn: not a sample, but keep the backoff
      else rtt_.sample(peer, rtt);
    });
  clients_.emplace(std::move(key), std::move(t));
  raw->start();
  return raw;
}

bool TransactionLayer::on_response(const Message& response) {
  // section 17.1.3: top Via branch and CSeq method
  auto via = response.top_via();
  auto cseq = response.cseq();
  if (!via || !cseq) return false;
  auto it = clients_.find(client_key(via->branch(), cseq->method));
  if (it == clients_.end() || it->second->state() == ClientTransaction::State::kTerminated) return false;
  it->second->on_response(response);
  return true;
}

ServerTransaction* TransactionLayer::match_request(const Message& request) {
  std::string_view method = request.method() == "ACK" ? std::string_view("INVITE") : request.method();
  auto it = servers_.find(server_key(request, method));
  if (it == servers_.end() || it->second.t->state() == ServerTransaction::State::kTerminated) return nullptr;
  // An ACK for a 2xx carries a new branch (section 17.1.1.3 vs 13.2.2.4), so a match here is
  // either a retransmission or the ACK of a non-2xx final response.
  it->second.t->on_request(request);
  return it->second.t.get();
}

bool TransactionLayer::shed_oldest_answered_server() {
  // Completed/Confirmed (or already terminated): the final response is sent and the TU holds no
  // pointer to it any more; dropping it only loses retransmissions of that final response.
  auto victim = servers_.end();
  for (auto it = servers_.begin(); it != servers_.end(); ++it) {
    auto st = it->second.t->state();
    if (st != ServerTransaction::State::kCompleted && st != ServerTransaction::State::kConfirmed &&
        st != ServerTransaction::State::kTerminated)
      continue;
    if (victim == servers_.end() || it->second.seq < victim->second.seq) victim = it;
  }
  if (victim == servers_.end()) return false;
  servers_.erase(victim);  // the destructor cancels its timers
  ++servers_shed_;
  return true;
}

Result<ServerTransaction*> TransactionLayer::create_server(const Message& request, Channel channel, ServerCallbacks callbacks) {
  if (request.method() == "ACK") return make_error("txn-bad-request", "an ACK creates no server transaction");
  std::string key = server_key(request, request.method());
  if (key.empty()) return make_error("txn-bad-request", "request without a usable Via");
  if (servers_.count(key)) return make_error("txn-duplicate", "a server transaction for this request exists");
  if (servers_.size() >= limits_.max_server && !shed_oldest_answered_server())
    return make_error("txn-limit", "too many server transactions waiting for a final response");
  auto user_terminated = std::move(callbacks.on_terminated);
  callbacks.on_terminated = [this, user_terminated] {
    reap_later();
    if (user_terminated) user_terminated();
  };
  auto t = std::make_unique<ServerTransaction>(request, std::move(channel), timers_, config_, std::move(callbacks));
  ServerTransaction* raw = t.get();
  servers_.emplace(std::move(key), ServerEntry{std::move(t), ++server_seq_});
  return raw;
}

ServerTransaction* TransactionLayer::find_invite_for_cancel(const Message& cancel) {
  auto it = servers_.find(server_key(cancel, "INVITE"));
  return it == servers_.end() ? nullptr : it->second.t.get();
}

}  // namespace exphone::txn
