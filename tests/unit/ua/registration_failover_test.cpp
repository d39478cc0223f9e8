// The registration client's failover, failback and backoff (docs/resilience.md) against two
// registrars scripted here on UDP sockets on 127.0.0.1: no real peer, real sockets and timers.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <string>
#include <vector>

#include "net/asio_timers.h"
#include "net/dns.h"
#include "net/transport_layer.h"
#include "sip/headers.h"
#include "sip/message.h"
#include "txn/server_transaction.h"
#include "txn/transaction_layer.h"
#include "ua/registration.h"

using namespace exphone;
using namespace exphone::ua;

namespace {

struct Registrar {
  boost::asio::ip::udp::socket socket;
  std::function<int(const sip::Message&)> answer;  // status code per request (0: no answer)
  std::vector<std::string> got;                    // "METHOD expires" per request

  explicit Registrar(boost::asio::io_context& io) : socket(io, {boost::asio::ip::make_address("127.0.0.1"), 0}) {}
  std::string uri() const { return "sip:127.0.0.1:" + std::to_string(socket.local_endpoint().port()) + ";transport=udp"; }

  void serve() {
    auto buf = std::make_shared<std::array<char, 65536>>();
    auto from = std::make_shared<boost::asio::ip::udp::endpoint>();
    socket.async_receive_from(boost::asio::buffer(*buf), *from, [this, buf, from](auto ec, std::size_t n) {
      if (ec) return;
      auto req = sip::Message::parse(std::string(buf->data(), n));
      if (req.ok() && req->is_request()) {
        std::string method(req->method());
        auto expires = req->expires();
        got.push_back(method + " " + (expires ? std::to_string(*expires) : "-"));
        int code = answer ? answer(*req) : 200;
        if (code == 0) {  // a registrar that took the request and went silent
          serve();
          return;
        }
        sip::Message r = txn::make_response(*req, code, code == 200 ? "OK" : "Service Unavailable", "t1");
        if (code == 200 && method == "REGISTER")
          if (const sip::Header* c = req->find(sip::HeaderId::kContact)) r.add_header("Contact", c->value);
        std::string out = sip::serialize(r);
        socket.send_to(boost::asio::buffer(out), *from);
      }
      serve();
    });
  }
  int count(const std::string& what) const {
    int n = 0;
    for (const auto& g : got) n += g == what;
    return n;
  }
};

struct Rig {
  boost::asio::io_context io;
  net::AsioTimers timers{io};
  std::unique_ptr<net::TransportLayer> transport;
  std::unique_ptr<net::DnsResolver> dns;
  std::unique_ptr<txn::TransactionLayer> txns;
  Registrar primary{io}, backup{io};

  Rig() {
    net::TransportConfig tc;
    tc.udp_bind = "127.0.0.1";
    transport = std::move(net::TransportLayer::create(io, timers, tc, false).value());
    dns = std::move(net::DnsResolver::create(io, {}).value());
    txns = std::make_unique<txn::TransactionLayer>(timers);
    transport->set_handler([this](sip::Message m, net::FlowPtr) {
      if (m.is_response()) txns->on_response(m);
    });
    primary.serve();
    backup.serve();
  }
  AccountSettings account() {
    AccountSettings a;
    a.user = "1001";
    a.domain = "localhost";
    a.registrar = primary.uri();
    a.backup_registrars = {backup.uri()};
    a.startup_jitter_ms = 0;
    return a;
  }
  // Runs the loop until pred(status) holds (checked at every change and every 50 ms) or 10 s.
  bool run_until(RegistrationClient& c, const std::function<bool(const RegistrationClient::Status&)>& pred) {
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (pred(c.status())) return true;
      io.restart();
      io.run_for(std::chrono::milliseconds(50));
    }
    return pred(c.status());
  }
};

TEST(RegistrationFailover, A503FromThePrimaryMovesToTheBackupAndTheProbeBringsItBack) {
  Rig rig;
  bool primary_down = true;
  rig.primary.answer = [&](const sip::Message&) { return primary_down ? 503 : 200; };
  AccountSettings a = rig.account();
  a.failback_interval_s = 1;
  RegistrationClient c(rig.io, *rig.transport, *rig.txns, *rig.dns, a);
  c.start();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.registered; }));
  EXPECT_EQ(c.status().registrar_index, 1u);
  EXPECT_EQ(c.status().registrar_uri, rig.backup.uri());
  EXPECT_EQ(c.status().failovers, 1);
  EXPECT_NE(c.status().failover_reason.find("registrar-unavailable"), std::string::npos) << c.status().failover_reason;
  EXPECT_EQ(rig.backup.count("REGISTER 600"), 1);

  // while the primary answers the OPTIONS probe with 503 it counts as down; then it is back
  primary_down = false;
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.failbacks == 1 && s.registered && s.registrar_index == 0; }))
      << c.status().registrar_index << " " << c.status().failbacks;
  EXPECT_GE(rig.primary.count("OPTIONS -"), 1);
  EXPECT_EQ(rig.primary.count("REGISTER 600"), 2);  // the first attempt, then the failback
  // the backup's binding is removed once the primary took it (RFC 3261 section 10.2.2)
  ASSERT_TRUE(rig.run_until(c, [&](const auto&) { return rig.backup.count("REGISTER 0") == 1; }));
  EXPECT_TRUE(c.status().failover_reason.empty());
}

TEST(RegistrationFailover, AFailedFailbackStaysOnTheBackup) {
  Rig rig;
  int options = 0;
  rig.primary.answer = [&](const sip::Message& m) {
    if (m.method() == "OPTIONS") ++options;
    return m.method() == "OPTIONS" ? 200 : 503;  // answers the probe but refuses REGISTER
  };
  AccountSettings a = rig.account();
  a.failback_interval_s = 1;
  RegistrationClient c(rig.io, *rig.transport, *rig.txns, *rig.dns, a);
  c.start();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.registered; }));
  // probe answered -> REGISTER to the primary (503) -> REGISTER to the backup again
  ASSERT_TRUE(rig.run_until(c, [&](const auto& s) {
    return options >= 1 && rig.primary.count("REGISTER 600") == 2 && rig.backup.count("REGISTER 600") == 2 &&
           s.state == RegistrationClient::State::kRegistered;
  })) << rig.primary.got.size() << " " << rig.backup.got.size();
  EXPECT_EQ(c.status().registrar_index, 1u);
  EXPECT_EQ(c.status().failbacks, 0);
  EXPECT_EQ(rig.backup.count("REGISTER 0"), 0);  // never unregistered from the backup
}

TEST(RegistrationFailover, EveryRegistrarDownMeansARandomizedBackoffThenThePrimaryFirst) {
  Rig rig;
  bool down = true;
  rig.primary.answer = [&](const sip::Message&) { return down ? 503 : 200; };
  rig.backup.answer = [&](const sip::Message&) { return down ? 503 : 200; };
  AccountSettings a = rig.account();
  a.persistent = true;  // the daemon: keeps trying
  a.retry.base_all_failed_s = 1;
  a.retry.max_s = 4;
  RegistrationClient c(rig.io, *rig.transport, *rig.txns, *rig.dns, a);
  c.start();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.consecutive_failures == 1; }));
  EXPECT_GE(c.status().retry_in_ms, 500);   // RFC 5626 section 4.5: 50..100 % of 1 s
  EXPECT_LE(c.status().retry_in_ms, 1000);
  EXPECT_EQ(c.status().state, RegistrationClient::State::kRegistering);
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.consecutive_failures == 2; }));
  EXPECT_GE(c.status().retry_in_ms, 1000);  // doubled: 50..100 % of 2 s
  EXPECT_LE(c.status().retry_in_ms, 2000);
  down = false;
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.registered; }));
  EXPECT_EQ(c.status().registrar_index, 0u);  // each round starts with the primary
  EXPECT_EQ(c.status().consecutive_failures, 0);
}

TEST(RegistrationFailover, WithoutPersistenceAFirstFailureIsFinal) {
  Rig rig;
  rig.primary.answer = [](const sip::Message&) { return 503; };
  rig.backup.answer = [](const sip::Message&) { return 503; };
  RegistrationClient c(rig.io, *rig.transport, *rig.txns, *rig.dns, rig.account());
  c.start();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.state == RegistrationClient::State::kFailed; }));
  ASSERT_TRUE(c.status().error.has_value());
  EXPECT_EQ(c.status().error->code, "registrar-unavailable");
  EXPECT_EQ(rig.primary.count("REGISTER 600"), 1);
  EXPECT_EQ(rig.backup.count("REGISTER 600"), 1);
}

// RFC 3261 section 10.2.4: a binding lasts its expires from the 2xx. A refresh the registrar took
// and never answers fails only at Timer F (32 s), after the end of a short interval: the account
// must show unregistered when the binding ends, and register again when the refresh is answered.
TEST(RegistrationExpiry, ABindingThatEndsBeforeARefreshIsAnsweredShowsUnregistered) {
  Rig rig;
  bool silent = false;
  rig.primary.answer = [&](const sip::Message&) { return silent ? 0 : 200; };
  AccountSettings a = rig.account();
  a.backup_registrars.clear();
  a.expires = 2;  // refreshed after 1 s
  RegistrationClient c(rig.io, *rig.transport, *rig.txns, *rig.dns, a);
  c.start();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.registered; }));
  EXPECT_EQ(c.status().expires, 2u);
  silent = true;
  const auto t0 = Clock::now();
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return !s.registered; })) << "still registered";
  const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_LE(waited, 2500);  // at the binding's end, not at Timer F
  EXPECT_EQ(c.status().state, RegistrationClient::State::kRegistering);
  ASSERT_TRUE(c.status().error.has_value());
  EXPECT_EQ(c.status().error->code, "registration-expired");
  EXPECT_GE(rig.primary.count("REGISTER 2"), 3);  // the refresh was sent and retransmitted (Timer E)
  silent = false;  // the next retransmission of the refresh is answered
  ASSERT_TRUE(rig.run_until(c, [](const auto& s) { return s.registered; }));
  EXPECT_FALSE(c.status().error.has_value());
}

}  // namespace
