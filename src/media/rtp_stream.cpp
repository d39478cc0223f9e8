#include "media/rtp_stream.h"

#include <openssl/rand.h>

#include "media/rtp.h"

namespace exphone::media {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {
template <class T>
T random_value() {
  T v{};
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);  // RFC 3550 5.1: random initial values
  return v;
}
}  // namespace

RtpStream::RtpStream(asio::io_context& io, RtpStreamConfig config)
    : config_(std::move(config)),
      socket_(io),
      timer_(io),
      sequence_(random_value<std::uint16_t>()),
      timestamp_(random_value<std::uint32_t>()),
      ssrc_(random_value<std::uint32_t>()) {}

RtpStream::~RtpStream() {
  *alive_ = false;
  boost::system::error_code ec;
  timer_.cancel();
  socket_.close(ec);
}

Result<std::unique_ptr<RtpStream>> RtpStream::open(asio::io_context& io, RtpStreamConfig config) {
  if (config.send_key.has_value() != config.receive_key.has_value())
    return make_error("media-config", "SRTP needs both the send and the receive key");
  std::unique_ptr<RtpStream> s(new RtpStream(io, std::move(config)));
  if (s->config_.send_key) {
    auto tx = SrtpSession::create(*s->config_.send_key, Direction::kOutbound);
    if (!tx) return tx.error();
    auto rx = SrtpSession::create(*s->config_.receive_key, Direction::kInbound);
    if (!rx) return rx.error();
    s->send_srtp_.emplace(std::move(*tx));
    s->receive_srtp_.emplace(std::move(*rx));
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(s->config_.local_address, ec);
  if (ec) return make_error("media-config", "bad media address " + s->config_.local_address);
  udp::endpoint ep(addr, s->config_.local_port);
  s->socket_.open(ep.protocol(), ec);
  if (!ec) s->socket_.bind(ep, ec);
  if (ec) return make_error("media-failed", "cannot bind RTP socket: " + ec.message());
  s->local_port_ = s->socket_.local_endpoint(ec).port();
  s->rx_.resize(2048);
  s->receive();
  return s;
}

Status RtpStream::set_srtp(const SrtpKey& send, const SrtpKey& receive) {
  auto tx = SrtpSession::create(send, Direction::kOutbound);
  if (!tx) return tx.error();
  auto rx = SrtpSession::create(receive, Direction::kInbound);
  if (!rx) return rx.error();
  send_srtp_.emplace(std::move(*tx));
  receive_srtp_.emplace(std::move(*rx));
  return Ok{};
}

void RtpStream::receive() {
  std::weak_ptr<bool> alive = alive_;
  socket_.async_receive_from(asio::buffer(rx_), sender_, [this, alive](const boost::system::error_code& ec, std::size_t n) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    if (!ec) on_packet(n);
    receive();
  });
}

void RtpStream::on_packet(std::size_t n) {
  if (n >= rx_.size()) {
    ++stats_.malformed;  // larger than any audio packet: dropped, not truncated
    return;
  }
  std::size_t len = n;
  if (receive_srtp_) {
    Status s = receive_srtp_->unprotect(rx_.data(), len);
    if (!s) {
      if (s.error().code == "srtp-auth-failed") ++stats_.srtp_auth_failures;
      else if (s.error().code == "srtp-replay") ++stats_.replays_dropped;
      else ++stats_.malformed;
      return;
    }
  }
  auto rtp = parse_rtp(std::span<const std::uint8_t>(rx_.data(), len));
  if (!rtp || rtp->header.payload_type != config_.payload_type) {
    ++stats_.malformed;
    return;
  }
  ++stats_.packets_received;
  if (recording_.size() >= config_.max_recorded_samples) return;
  g711_decode(config_.law, rtp->payload, decoded_);
  recording_.insert(recording_.end(), decoded_.begin(), decoded_.end());
}

void RtpStream::start(Source source) {
  source_ = std::move(source);
  next_send_ = std::chrono::steady_clock::now();
  send_frame();
}

void RtpStream::stop() {
  timer_.cancel();
  source_ = nullptr;
}

void RtpStream::send_frame() {
  if (!source_) return;
  std::size_t samples = static_cast<std::size_t>(8 * config_.ptime.count());  // 8 kHz
  frame_.resize(samples);
  source_(frame_);
  g711_encode(config_.law, frame_, payload_);
  RtpHeader h;
  h.payload_type = config_.payload_type;
  h.sequence = sequence_++;
  h.timestamp = timestamp_;
  h.ssrc = ssrc_;
  timestamp_ += static_cast<std::uint32_t>(samples);
  packet_.resize(12 + payload_.size() + kSrtpTrailerSpace);
  auto written = write_rtp(h, payload_, packet_);
  if (written && remote_) {
    std::size_t len = *written;
    bool ok = true;
    if (send_srtp_) ok = send_srtp_->protect(packet_.data(), len, packet_.size()).ok();
    boost::system::error_code ec;
    if (ok) socket_.send_to(asio::buffer(packet_.data(), len), *remote_, 0, ec);
    if (ok && !ec) ++stats_.packets_sent;
  }
  // drift-free pacing: the next frame is due one ptime after the previous deadline
  next_send_ += config_.ptime;
  timer_.expires_at(next_send_);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) send_frame();
  });
}

}  // namespace exphone::media
