// SNTP client (RFC 4330 section 5, RFC 5905 client mode) on the phone's Asio event loop: asks
// the configured servers in turn, with a fresh socket (new source port) and a random transmit
// timestamp per request, retries with exponential backoff, bounded by a deadline; a valid
// answer sets the offset of the TrustedClock. Replies that do not echo our transmit timestamp
// are ignored (the request stays open). Kiss-o'-death DENY/RSTR retire a server for this run
// (RFC 4330 section 8).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clock/ntp_packet.h"
#include "clock/sntp_config.h"
#include "core/result.h"
#include "core/trusted_clock.h"

namespace exphone::clock {

class SntpClient {
 public:
  using Done = std::function<void(const Status&)>;
  SntpClient(boost::asio::io_context& io, TrustedClock& clock, SntpConfig config);
  ~SntpClient();
  SntpClient(const SntpClient&) = delete;
  SntpClient& operator=(const SntpClient&) = delete;

  // One synchronization: `done` gets Ok when a server answered (the clock is updated), else the
  // last error ("ntp-timeout" when nothing usable arrived before sync_timeout). Then, when
  // resync_interval > 0, syncs again periodically (done is called for the first one only).
  void start(Done done);
  void stop();

  const std::optional<Error>& last_error() const { return last_error_; }

 private:
  void attempt();
  void send_to(const boost::asio::ip::udp::endpoint& ep);
  void receive();
  void on_datagram(std::size_t n);
  void next(std::optional<Error> why);
  void finish(Status s);
  void close_socket();

  TrustedClock& clock_;
  SntpConfig config_;
  boost::asio::ip::udp::resolver resolver_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer wait_timer_, deadline_timer_, resync_timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t generation_ = 0;  // bumps with every request: stale handlers do nothing

  Done done_;
  bool running_ = false;
  std::size_t server_ = 0, round_ = 0;
  std::set<std::size_t> retired_;  // kiss-o'-death DENY / RSTR
  NtpTimestamp sent_{};
  std::chrono::system_clock::time_point t1_{};
  std::array<std::uint8_t, 512> buffer_{};
  std::optional<Error> last_error_;
};

}  // namespace exphone::clock
