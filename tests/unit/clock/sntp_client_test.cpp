// The SNTP client against an NTP responder on loopback inside the test: spoofed replies are
// ignored, kiss-o'-death retires a server, dead servers are skipped, the sync is bounded.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <vector>

#include "clock/sntp_client.h"

namespace exphone::clock {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;
using boost::asio::ip::udp;

// Answers each request with the packets `respond` makes from it.
class Responder {
 public:
  using Fn = std::function<std::vector<NtpPacket>(const NtpPacket& request)>;
  Responder(boost::asio::io_context& io, Fn fn) : socket_(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)), fn_(std::move(fn)) {
    receive();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port()); }
  int requests = 0;

 private:
  void receive() {
    socket_.async_receive_from(boost::asio::buffer(buf_), peer_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      auto req = parse_ntp_packet(std::span<const std::uint8_t>(buf_.data(), n));
      if (req) {
        ++requests;
        for (const NtpPacket& p : fn_(*req)) {
          auto wire = serialize(p);
          socket_.send_to(boost::asio::buffer(wire), peer_);
        }
      }
      receive();
    });
  }
  udp::socket socket_;
  Fn fn_;
  std::array<std::uint8_t, 512> buf_{};
  udp::endpoint peer_;
};

NtpPacket answer(const NtpPacket& req, seconds ahead) {
  NtpPacket p;
  p.mode = kModeServer;
  p.stratum = 8;
  p.originate = req.transmit;
  p.receive = p.transmit = to_ntp(system_clock::now() + ahead);
  return p;
}

// A port nobody listens on (bound, then closed).
std::string closed_port(boost::asio::io_context& io) {
  udp::socket s(io, udp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  return "127.0.0.1:" + std::to_string(s.local_endpoint().port());
}

struct SyncRun {
  std::optional<Status> result;
  milliseconds took{0};
};

SyncRun sync(boost::asio::io_context& io, TrustedClock& clock, SntpConfig cfg) {
  cfg.resync_interval = 0ms;
  cfg.first_wait = 100ms;
  SntpClient client(io, clock, cfg);
  SyncRun run;
  auto t0 = steady_clock::now();
  client.start([&](const Status& s) {
    run.result = s;
    run.took = duration_cast<milliseconds>(steady_clock::now() - t0);
    io.stop();
  });
  io.run_for(cfg.sync_timeout + 2s);
  return run;
}

TEST(SntpClient, IgnoresSpoofedRepliesAndTakesTheGenuineOne) {
  boost::asio::io_context io;
  Responder server(io, [](const NtpPacket& req) {
    NtpPacket spoof = answer(req, 86400s * 365);  // an attacker's time, a year ahead
    spoof.originate.fraction ^= 1;
    return std::vector<NtpPacket>{spoof, answer(req, 100s)};
  });
  TrustedClock clock;
  SyncRun r = sync(io, clock, {{server.address()}, 3000ms});
  ASSERT_TRUE(r.result);
  ASSERT_TRUE(*r.result) << r.result->error().to_string();
  ASSERT_TRUE(clock.synchronized());
  EXPECT_NEAR(duration_cast<milliseconds>(clock.last_sync()->offset).count(), 100000, 200);
  EXPECT_EQ(clock.source(), "ntp " + server.address());
}

TEST(SntpClient, OnlySpoofedRepliesNeverSynchronize) {
  boost::asio::io_context io;
  Responder server(io, [](const NtpPacket& req) {
    NtpPacket spoof = answer(req, 1000s);
    spoof.originate = to_ntp(system_clock::now());
    return std::vector<NtpPacket>{spoof};
  });
  TrustedClock clock;
  SyncRun r = sync(io, clock, {{server.address()}, 1000ms});
  ASSERT_TRUE(r.result);
  ASSERT_FALSE(*r.result);
  EXPECT_EQ(r.result->error().code, "ntp-timeout");
  EXPECT_NE(r.result->error().message.find("ntp-spoofed"), std::string::npos) << r.result->error().message;
  EXPECT_FALSE(clock.synchronized());
  EXPECT_GE(server.requests, 2);  // retried
}

TEST(SntpClient, DeadServerIsSkippedAndTheSyncIsBounded) {
  boost::asio::io_context io;
  TrustedClock clock;
  std::string dead = closed_port(io);
  SyncRun r = sync(io, clock, {{dead}, 1000ms});
  ASSERT_TRUE(r.result);
  ASSERT_FALSE(*r.result);
  EXPECT_EQ(r.result->error().code, "ntp-timeout");
  EXPECT_LE(r.took.count(), 1500);
  EXPECT_FALSE(clock.synchronized());

  boost::asio::io_context io2;
  Responder good(io2, [](const NtpPacket& req) { return std::vector<NtpPacket>{answer(req, -50s)}; });
  SyncRun r2 = sync(io2, clock, {{dead, good.address()}, 3000ms});
  ASSERT_TRUE(r2.result && *r2.result);
  EXPECT_NEAR(duration_cast<milliseconds>(clock.last_sync()->offset).count(), -50000, 200);
}

TEST(SntpClient, KissOfDeathDenyRetiresTheServer) {
  boost::asio::io_context io;
  Responder denier(io, [](const NtpPacket& req) {
    NtpPacket p = answer(req, 0s);
    p.stratum = 0;
    p.reference_id = 0x44454e59;  // DENY
    return std::vector<NtpPacket>{p};
  });
  Responder good(io, [](const NtpPacket& req) { return std::vector<NtpPacket>{answer(req, 7s)}; });
  TrustedClock clock;
  SyncRun r = sync(io, clock, {{denier.address(), good.address()}, 3000ms});
  ASSERT_TRUE(r.result && *r.result);
  EXPECT_EQ(denier.requests, 1);
  EXPECT_EQ(clock.source(), "ntp " + good.address());

  boost::asio::io_context io2;
  Responder denier2(io2, [](const NtpPacket& req) {
    NtpPacket p = answer(req, 0s);
    p.stratum = 0;
    p.reference_id = 0x44454e59;
    return std::vector<NtpPacket>{p};
  });
  TrustedClock clock2;
  SyncRun r2 = sync(io2, clock2, {{denier2.address()}, 3000ms});
  ASSERT_TRUE(r2.result);
  ASSERT_FALSE(*r2.result);
  EXPECT_EQ(r2.result->error().code, "ntp-kiss-of-death");
  EXPECT_LT(r2.took.count(), 1000);  // no point waiting for a server that said DENY
  EXPECT_EQ(denier2.requests, 1);
}

}  // namespace
}  // namespace exphone::clock
