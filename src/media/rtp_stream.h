// One audio stream on the event loop: G.711 frames every ptime to the peer, SRTP-protected when
// keyed, and what arrives authenticated, decoded and recorded. Replays and forgeries are dropped
// and counted (RFC 3711 section 3.3.2); the call goes on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "media/g711.h"
#include "media/srtp_session.h"

namespace exphone::media {

struct RtpStreamConfig {
  G711 law = G711::kUlaw;
  std::uint8_t payload_type = 0;
  std::string local_address = "0.0.0.0";
  std::uint16_t local_port = 0;           // 0 = any free port
  std::optional<SrtpKey> send_key;        // SRTP when both keys are set
  std::optional<SrtpKey> receive_key;
  std::chrono::milliseconds ptime{20};
  std::size_t max_recorded_samples = 8000 * 600;  // ten minutes at 8 kHz, then recording stops
};

struct RtpStreamStats {
  std::uint64_t packets_sent = 0;
  std::uint64_t packets_received = 0;     // authenticated (when SRTP) and well formed
  std::uint64_t srtp_auth_failures = 0;
  std::uint64_t replays_dropped = 0;
  std::uint64_t malformed = 0;            // not RTP, wrong payload type, or unprotect failed otherwise
};

class RtpStream {
 public:
  using Source = std::function<void(std::span<std::int16_t>)>;  // fills one frame of samples

  static Result<std::unique_ptr<RtpStream>> open(boost::asio::io_context& io, RtpStreamConfig config);
  ~RtpStream();

  std::uint16_t local_port() const { return local_port_; }
  bool secure() const { return static_cast<bool>(send_srtp_); }
  void set_remote(const boost::asio::ip::udp::endpoint& remote) { remote_ = remote; }
  // What offer/answer settled, after the socket exists (its port goes into the SDP first).
  Status set_srtp(const SrtpKey& send, const SrtpKey& receive);
  void set_codec(G711 law, std::uint8_t payload_type) {
    config_.law = law;
    config_.payload_type = payload_type;
  }
  void start(Source source);  // sends a frame every ptime until stop()
  void stop();

  const std::vector<std::int16_t>& recording() const { return recording_; }
  const RtpStreamStats& stats() const { return stats_; }

 private:
  RtpStream(boost::asio::io_context& io, RtpStreamConfig config);
  void receive();
  void on_packet(std::size_t n);
  void send_frame();

  RtpStreamConfig config_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  std::optional<boost::asio::ip::udp::endpoint> remote_;
  std::optional<SrtpSession> send_srtp_;
  std::optional<SrtpSession> receive_srtp_;
  Source source_;
  std::uint16_t local_port_ = 0;
  std::uint16_t sequence_;
  std::uint32_t timestamp_;
  std::uint32_t ssrc_;
  std::chrono::steady_clock::time_point next_send_;
  std::vector<std::uint8_t> rx_;
  boost::asio::ip::udp::endpoint sender_;
  std::vector<std::int16_t> recording_;
  std::vector<std::int16_t> frame_;
  std::vector<std::uint8_t> payload_;
  std::vector<std::uint8_t> packet_;
  std::vector<std::int16_t> decoded_;
  RtpStreamStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::media
