// RFC 3261 section 17 state machines on virtual time.
#include <gtest/gtest.h>

#include "txn/transaction_layer.h"

using namespace exphone;
using namespace exphone::txn;
using sip::Message;

namespace {

struct Wire {
  std::vector<std::string> sent;
  bool fail = false;
  Channel channel(bool reliable = false) {
    return Channel{[this](const std::string& w) -> Status {
                     if (fail) return make_error("transport-failed", "down");
                     sent.push_back(w);
                     return Ok{};
                   },
                   reliable, ""};
  }
};

Message request(const std::string& method, const std::string& branch = "z9hG4bKabc123") {
  std::string s = method + " sip:bob@example.com SIP/2.0\r\n"
                  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" + branch + "\r\n"
                  "Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>\r\n"
                  "Call-ID: call1\r\nCSeq: 1 " + method + "\r\nRoute: <sip:proxy.example.com;lr>\r\nContent-Length: 0\r\n\r\n";
  return std::move(*Message::parse(s));
}

Message response(int code, const std::string& method, const std::string& branch = "z9hG4bKabc123") {
  std::string s = "SIP/2.0 " + std::to_string(code) + " X\r\n"
                  "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=" + branch + "\r\n"
                  "From: <sip:alice@example.com>;tag=f1\r\nTo: <sip:bob@example.com>;tag=t9\r\n"
                  "Call-ID: call1\r\nCSeq: 1 " + method + "\r\nContent-Length: 0\r\n\r\n";
  return std::move(*Message::parse(s));
}


}  // namespace

TEST(ClientTransaction, NonInviteRetransmitsWithTimerEAndTimesOutWithF) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  std::vector<long> at;
  Channel ch{[&](const std::string& w) -> Status {
               at.push_back(static_cast<long>(std::chrono::duration_cast<Millis>(timers.now().time_since_epoch()).count()));
               wire.sent.push_back(w);
               return Ok{};
             },
             false, ""};
  bool timed_out = false;
  auto t = layer.send_request(request("OPTIONS"), ch, {nullptr, [&] { timed_out = true; }, nullptr, nullptr});
  ASSERT_TRUE(t.ok());
  timers.advance(Millis{40000});
  EXPECT_TRUE(timed_out);
  // E: 500, 1000, 2000, 4000, 4000, ... (section 17.1.2.2): sends at 0, .5, 1.5, 3.5, 7.5, 11.5 ... until F = 32 s
  std::vector<long> expect = {0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500};
  EXPECT_EQ(at, expect);
  timers.advance(Millis{1});
  EXPECT_EQ(layer.client_count(), 0u);
}

TEST(ClientTransaction, NonInviteProceedingUsesT2AndCompletesOnFinal) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  std::vector<int> codes;
  auto t = layer.send_request(request("REGISTER"), wire.channel(),
                              {[&](const Message& m) { codes.push_back(m.status()); }, nullptr, nullptr, nullptr});
  ASSERT_TRUE(t.ok());
  timers.advance(Millis{100});
  EXPECT_TRUE(layer.on_response(response(100, "REGISTER")));
  EXPECT_EQ((*t)->state(), ClientTransaction::State::kProceeding);
  std::size_t before = wire.sent.size();
  timers.advance(Millis{400});   // E was armed at 500 (fires in Proceeding -> then T2)
  timers.advance(Millis{4000});
  EXPECT_EQ(wire.sent.size(), before + 2);
  EXPECT_TRUE(layer.on_response(response(200, "REGISTER")));
  EXPECT_EQ((*t)->state(), ClientTransaction::State::kCompleted);
  EXPECT_TRUE(layer.on_response(response(200, "REGISTER")));  // absorbed retransmission
  EXPECT_EQ(codes, (std::vector<int>{100, 200}));
  timers.advance(Millis{5001});  // Timer K = T4
  EXPECT_EQ(layer.client_count(), 0u);
  EXPECT_FALSE(layer.on_response(response(200, "REGISTER")));
}

TEST(ClientTransaction, ReliableTransportNeverRetransmits) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  bool timed_out = false;
  ASSERT_TRUE(layer.send_request(request("OPTIONS"), wire.channel(true), {nullptr, [&] { timed_out = true; }, nullptr, nullptr}).ok());
  timers.advance(Millis{31999});
  EXPECT_EQ(wire.sent.size(), 1u);
  EXPECT_FALSE(timed_out);
  timers.advance(Millis{1});
  EXPECT_TRUE(timed_out);
}

TEST(ClientTransaction, InviteTimerADoublesAndStopsOnProvisional) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  auto t = layer.send_request(request("INVITE"), wire.channel(), {});
  timers.advance(Millis{3500});  // A: 500, 1000, 2000 -> sends at 0, .5, 1.5, 3.5
  EXPECT_EQ(wire.sent.size(), 4u);
  EXPECT_TRUE(layer.on_response(response(180, "INVITE")));
  timers.advance(Millis{20000});
  EXPECT_EQ(wire.sent.size(), 4u);
  EXPECT_EQ((*t)->state(), ClientTransaction::State::kProceeding);
}

TEST(ClientTransaction, InviteNon2xxSendsAckAndResendsItOnRetransmission) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  auto t = layer.send_request(request("INVITE"), wire.channel(), {});
  EXPECT_TRUE(layer.on_response(response(486, "INVITE")));
  ASSERT_EQ(wire.sent.size(), 2u);
  auto ack = Message::parse(wire.sent[1]);
  ASSERT_TRUE(ack.ok());
  EXPECT_EQ(ack->method(), "ACK");
  EXPECT_EQ(ack->request_uri().raw, "sip:bob@example.com");
  EXPECT_EQ(ack->top_via()->branch(), "z9hG4bKabc123");  // same branch as the INVITE (17.1.1.3)
  EXPECT_EQ(ack->to()->tag(), "t9");
  EXPECT_EQ(ack->cseq()->method, "ACK");
  EXPECT_EQ(ack->cseq()->number, 1u);
  EXPECT_NE(ack->find(sip::HeaderId::kRoute), nullptr);
  EXPECT_TRUE(layer.on_response(response(486, "INVITE")));
  EXPECT_EQ(wire.sent.size(), 3u);
  EXPECT_EQ(wire.sent[2], wire.sent[1]);
  EXPECT_EQ((*t)->state(), ClientTransaction::State::kCompleted);
  timers.advance(Millis{32001});  // Timer D: terminated and removed
  EXPECT_EQ(layer.client_count(), 0u);
}

TEST(ClientTransaction, Invite2xxGoesToAcceptedAndPassesRetransmissions) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  int oks = 0;
  auto t = layer.send_request(request("INVITE"), wire.channel(), {[&](const Message& m) { oks += m.status() == 200; }, nullptr, nullptr, nullptr});
  EXPECT_TRUE(layer.on_response(response(200, "INVITE")));
  EXPECT_EQ((*t)->state(), ClientTransaction::State::kAccepted);
  EXPECT_TRUE(layer.on_response(response(200, "INVITE")));
  EXPECT_EQ(oks, 2);               // RFC 6026: the TU sees 2xx retransmissions to re-ACK them
  EXPECT_EQ(wire.sent.size(), 1u);  // no ACK from the transaction for a 2xx
}

TEST(ClientTransaction, TimerBAndTransportError) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  bool timeout = false;
  ASSERT_TRUE(layer.send_request(request("INVITE"), wire.channel(), {nullptr, [&] { timeout = true; }, nullptr, nullptr}).ok());
  timers.advance(Millis{32000});
  EXPECT_TRUE(timeout);
  Wire broken;
  broken.fail = true;
  std::string err;
  auto t = layer.send_request(request("OPTIONS", "z9hG4bKother"), broken.channel(), {nullptr, nullptr, [&](const Error& e) { err = e.code; }, nullptr});
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(err, "transport-failed");
}

TEST(ClientTransaction, CustomT1ForSlowLinks) {
  ManualTimers timers;
  TimerConfig cfg;
  cfg.t1 = Millis{1000};
  TransactionLayer layer(timers, cfg);
  Wire wire;
  ASSERT_TRUE(layer.send_request(request("OPTIONS"), wire.channel(), {}).ok());
  timers.advance(Millis{999});
  EXPECT_EQ(wire.sent.size(), 1u);  // no retransmission before the configured T1
  timers.advance(Millis{1});
  EXPECT_EQ(wire.sent.size(), 2u);
}

TEST(ServerTransaction, NonInviteAbsorbsRetransmissionsAndRepliesAgain) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  Message req = request("OPTIONS");
  EXPECT_EQ(layer.match_request(req), nullptr);
  auto st = layer.create_server(req, wire.channel(), {});
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(layer.match_request(req), *st);  // Trying: absorbed, nothing sent
  EXPECT_TRUE(wire.sent.empty());
  ASSERT_TRUE((*st)->respond(make_response(req, 200, "OK", "totag")).ok());
  EXPECT_EQ(layer.match_request(req), *st);
  ASSERT_EQ(wire.sent.size(), 2u);
  EXPECT_EQ(wire.sent[0], wire.sent[1]);
  auto resp = Message::parse(wire.sent[0]);
  EXPECT_EQ(resp->to()->tag(), "totag");
  EXPECT_EQ(resp->top_via()->branch(), "z9hG4bKabc123");
  timers.advance(Millis{32001});  // Timer J
  EXPECT_EQ(layer.server_count(), 0u);
}

TEST(ServerTransaction, InviteTimerGAndAckConfirms) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  Message inv = request("INVITE");
  auto st = layer.create_server(inv, wire.channel(), {});
  ASSERT_TRUE((*st)->respond(make_response(inv, 100, "Trying")).ok());
  ASSERT_TRUE((*st)->respond(make_response(inv, 486, "Busy Here", "x")).ok());
  timers.advance(Millis{1500});  // G: 500, 1000
  EXPECT_EQ(wire.sent.size(), 4u);
  Message ack = request("ACK");
  EXPECT_EQ(layer.match_request(ack), *st);
  EXPECT_EQ((*st)->state(), ServerTransaction::State::kConfirmed);
  timers.advance(Millis{10000});
  EXPECT_EQ(wire.sent.size(), 4u);
  EXPECT_EQ(layer.server_count(), 0u);
}

TEST(ServerTransaction, InviteTimerHWithoutAck) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  Message inv = request("INVITE");
  bool timeout = false;
  auto st = layer.create_server(inv, wire.channel(true), {nullptr, [&] { timeout = true; }, nullptr, nullptr});
  ASSERT_TRUE((*st)->respond(make_response(inv, 404, "Not Found", "x")).ok());
  timers.advance(Millis{32000});
  EXPECT_TRUE(timeout);
  EXPECT_EQ(wire.sent.size(), 1u);  // reliable: no Timer G
}

TEST(ServerTransaction, CancelFindsItsInviteAndLimitsHold) {
  ManualTimers timers;
  TransactionLayer::Limits limits;
  limits.max_server = 2;
  TransactionLayer layer(timers, {}, limits);
  Wire wire;
  Message inv = request("INVITE");
  auto st = layer.create_server(inv, wire.channel(), {});
  Message cancel = request("CANCEL");
  EXPECT_EQ(layer.find_invite_for_cancel(cancel), *st);
  EXPECT_TRUE(layer.create_server(cancel, wire.channel(), {}).ok());
  auto third = layer.create_server(request("OPTIONS", "z9hG4bKthird"), wire.channel(), {});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, "txn-limit");
  EXPECT_FALSE(layer.create_server(request("ACK"), wire.channel(), {}).ok());
}

TEST(ServerTransaction, Rfc2543MatchingWithoutMagicCookie) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  Wire wire;
  Message inv = request("INVITE", "oldstyle1");
  auto st = layer.create_server(inv, wire.channel(), {});
  EXPECT_EQ(layer.match_request(request("INVITE", "oldstyle1")), *st);
  EXPECT_TRUE(TransactionLayer::new_branch().rfind("z9hG4bK", 0) == 0);
  EXPECT_NE(TransactionLayer::new_branch(), TransactionLayer::new_branch());
}

// A storm of answered requests (e.g. INVITEs refused with 486 and never ACKed, Timer H = 32 s)
// must not lock out new work: at the limit the oldest answered transaction is shed; requests
// still waiting for their final response are never shed, and when only those are left the
// layer refuses (the caller answers 503 + Retry-After).
TEST(ServerTransaction, FullTableShedsTheOldestAnsweredTransactionFirst) {
  ManualTimers timers;
  TransactionLayer::Limits limits;
  limits.max_server = 3;
  TransactionLayer layer(timers, {}, limits);
  Wire wire;
  Message pending = request("INVITE", "z9hG4bKpending");  // ringing: no final response yet
  auto p = layer.create_server(pending, wire.channel(), {});
  ASSERT_TRUE(p.ok());
  Message old1 = request("INVITE", "z9hG4bKold1"), old2 = request("INVITE", "z9hG4bKold2");
  for (auto* m : {&old1, &old2}) {
    auto st = layer.create_server(*m, wire.channel(), {});
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE((*st)->respond(make_response(*m, 486, "Busy Here", "x")).ok());
  }
  ASSERT_EQ(layer.server_count(), 3u);
  Message fresh = request("INVITE", "z9hG4bKfresh");
  auto f = layer.create_server(fresh, wire.channel(), {});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(layer.server_count(), 3u);
  EXPECT_EQ(layer.servers_shed(), 1u);
  EXPECT_EQ(layer.match_request(old1), nullptr);  // the oldest answered one went first
  EXPECT_NE(layer.match_request(old2), nullptr);
  EXPECT_EQ(layer.match_request(pending), *p);     // the one still waiting for an answer stays
  // old2 goes next; then only unanswered transactions are left: refused
  ASSERT_TRUE(layer.create_server(request("OPTIONS", "z9hG4bKn1"), wire.channel(), {}).ok());
  EXPECT_EQ(layer.servers_shed(), 2u);
  auto refused = layer.create_server(request("OPTIONS", "z9hG4bKn2"), wire.channel(), {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "txn-limit");
  // the shed transaction's timers are gone with it: nothing more is sent for it
  std::size_t sent = wire.sent.size();
  (void)(*f)->respond(make_response(fresh, 100, "Trying"));
  timers.advance(Millis{40000});
  EXPECT_EQ(wire.sent.size(), sent + 1);
}

// Section 17.1.1.1: T1 estimates the RTT. Over a 700 ms path the first request to a peer is
// retransmitted at the default 500 ms; its answer keeps the doubled T1 (Karn: no sample); the next
// request is sent once, its 700 ms is the first sample (RFC 6298: T1 = 700 + 4 x 350), and the
// request after that is not retransmitted before 2.1 s. Another peer keeps the default.
TEST(ClientTransaction, T1FollowsTheMeasuredRttPerPeer) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  auto channel = [](std::vector<std::string>& sent, const std::string& peer) {
    return Channel{[&sent](const std::string& w) -> Status {
                     sent.push_back(w);
                     return Ok{};
                   },
                   false, peer};
  };
  auto exchange = [&](const std::string& branch, const std::string& peer, Millis answer_after) {
    std::vector<std::string> sent;
    EXPECT_TRUE(layer.send_request(request("OPTIONS", branch), channel(sent, peer), {}).ok());
    timers.advance(answer_after);
    layer.on_response(response(200, "OPTIONS", branch));
    timers.advance(Millis{6000});  // Timer K
    return sent.size();
  };
  const std::string sat = "192.0.2.9:5060";
  EXPECT_EQ(exchange("z9hG4bK1", sat, Millis{700}), 2u);  // sent at 0 and 500 ms
  EXPECT_EQ(exchange("z9hG4bK2", sat, Millis{700}), 1u);  // T1 1000 ms: sent once
  std::vector<std::string> sent;
  ASSERT_TRUE(layer.send_request(request("OPTIONS", "z9hG4bK3"), channel(sent, sat), {}).ok());
  timers.advance(Millis{2099});
  EXPECT_EQ(sent.size(), 1u);
  timers.advance(Millis{1});
  EXPECT_EQ(sent.size(), 2u);  // T1 = 700 + 4 x 350 = 2100 ms
  timers.advance(Millis{70000});
  EXPECT_EQ(exchange("z9hG4bK4", "198.51.100.1:5060", Millis{600}), 2u);  // a new peer: 500 ms
  // bounded by T2 whatever was measured
  RttEstimates r;
  r.sample("x", Millis{30000});
  EXPECT_EQ(r.t1("x", TimerConfig{}), Millis{4000});
  EXPECT_EQ(r.t1("unknown", TimerConfig{}), Millis{500});
  RttEstimates small(2);
  small.sample("a", Millis{10});
  small.sample("b", Millis{10});
  small.sample("c", Millis{10});
  EXPECT_EQ(small.size(), 2u);
}

// The estimate spaces the retransmissions; the transaction timeout stays 64 x the configured T1
// (Timer F, section 17.1.2.2), so a dead server is found in 32 s over any path.
TEST(ClientTransaction, TimeoutDoesNotGrowWithTheEstimate) {
  ManualTimers timers;
  TransactionLayer layer(timers);
  std::vector<std::string> sent;
  Channel ch{[&sent](const std::string& w) -> Status {
               sent.push_back(w);
               return Ok{};
             },
             false, "192.0.2.7:5060"};
  for (const char* branch : {"z9hG4bKa", "z9hG4bKa2"}) {  // 900 ms: backed off to 1 s, then a sample
    ASSERT_TRUE(layer.send_request(request("OPTIONS", branch), ch, {}).ok());
    timers.advance(Millis{900});
    layer.on_response(response(200, "OPTIONS", branch));  // T1 = 900 + 4 x 450 after the second
    timers.advance(Millis{6000});
  }
  bool timed_out = false;
  sent.clear();
  ClientCallbacks cb;
  cb.on_timeout = [&] { timed_out = true; };
  ASSERT_TRUE(layer.send_request(request("OPTIONS", "z9hG4bKb"), ch, std::move(cb)).ok());
  timers.advance(Millis{2699});
  EXPECT_EQ(sent.size(), 1u);
  timers.advance(Millis{1});
  EXPECT_EQ(sent.size(), 2u);
  timers.advance(Millis{32000 - 2700 - 1});
  EXPECT_FALSE(timed_out);
  timers.advance(Millis{1});
  EXPECT_TRUE(timed_out);  // 64 x 500 ms
}
