#include "clock/sntp_client.h"

#include <algorithm>

#include "core/random.h"

namespace exphone::clock {

namespace {

constexpr std::size_t kMaxRounds = 8;  // every server at most this often per sync
constexpr std::chrono::milliseconds kMaxWait{8000};

std::string describe(const std::vector<std::string>& servers) {
  std::string s;
  for (const auto& v : servers) s += (s.empty() ? "" : ", ") + v;
  return s;
}

}  // namespace

SntpClient::SntpClient(boost::asio::io_context& io, TrustedClock& clock, SntpConfig config)
    : clock_(clock), config_(std::move(config)), resolver_(io), socket_(io), wait_timer_(io),
      deadline_timer_(io), resync_timer_(io) {
  clock_.set_ntp_configured(!config_.servers.empty());
}

SntpClient::~SntpClient() { stop(); }

void SntpClient::stop() {
  running_ = false;
  ++generation_;
  wait_timer_.cancel();
  deadline_timer_.cancel();
  resync_timer_.cancel();
  resolver_.cancel();
  close_socket();
}

void SntpClient::close_socket() {
  boost::system::error_code ec;
  if (socket_.is_open()) socket_.close(ec);
}

void SntpClient::start(Done done) {
  done_ = std::move(done);
  if (config_.servers.empty()) {
    finish(make_error("ntp-timeout", "no NTP server configured"));
    return;
  }
  running_ = true;
  server_ = 0;
  round_ = 0;
  retired_.clear();
  last_error_.reset();
  std::weak_ptr<bool> alive = alive_;
  deadline_timer_.expires_after(config_.sync_timeout);
  deadline_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired() || !running_) return;
    std::string why = last_error_ ? " (last: " + last_error_->code + ": " + last_error_->message + ")" : "";
    finish(make_error("ntp-timeout", "no NTP server answered within " +
                                         std::to_string(config_.sync_timeout.count()) + " ms (" +
                                         describe(config_.servers) + ")" + why));
  });
  attempt();
}

void SntpClient::attempt() {
  if (!running_) return;
  if (retired_.size() >= config_.servers.size()) {
    finish(last_error_ ? *last_error_ : make_error("ntp-timeout", "every NTP server refused us"));
    return;
  }
  while (retired_.count(server_) != 0) {
    if (++server_ >= config_.servers.size()) {
      server_ = 0;
      ++round_;
    }
  }
  if (round_ >= kMaxRounds) return;  // wait for the deadline: the answer may still come late
  auto addr = parse_server(config_.servers[server_]);
  if (!addr) {
    retired_.insert(server_);
    next(addr.error());
    return;
  }
  std::uint64_t gen = ++generation_;
  std::weak_ptr<bool> alive = alive_;
  resolver_.async_resolve(addr->host, std::to_string(addr->port), boost::asio::ip::udp::resolver::numeric_service,
                          [this, alive, gen](const boost::system::error_code& ec,
                                             boost::asio::ip::udp::resolver::results_type results) {
                            if (alive.expired() || gen != generation_ || !running_) return;
                            if (ec || results.empty()) {
                              next(make_error("ntp-resolve", "cannot resolve NTP server " + config_.servers[server_] +
                                                                 ": " + ec.message()));
                              return;
                            }
                            send_to(results.begin()->endpoint());
                          });
}

void SntpClient::send_to(const boost::asio::ip::udp::endpoint& ep) {
  close_socket();
  boost::system::error_code ec;
  // A fresh socket (new ephemeral port) per request, connected: datagrams from other addresses
  // never reach us, and an ICMP port-unreachable surfaces as a receive error.
  socket_.open(ep.protocol(), ec);
  if (!ec) socket_.connect(ep, ec);
  if (ec) {
    next(make_error("ntp-socket", "NTP server " + config_.servers[server_] + ": " + ec.message()));
    return;
  }
  // Random transmit timestamp (RFC 5905 section 9.1 origin check; our clock is not revealed).
  std::vector<std::uint8_t> r = random_bytes(8);
  sent_.seconds = (std::uint32_t{r[0]} << 24) | (std::uint32_t{r[1]} << 16) | (std::uint32_t{r[2]} << 8) | r[3];
  sent_.fraction = (std::uint32_t{r[4]} << 24) | (std::uint32_t{r[5]} << 16) | (std::uint32_t{r[6]} << 8) | r[7];
  if (sent_.zero()) sent_.fraction = 1;
  auto wire = serialize(make_request(sent_));
  t1_ = std::chrono::system_clock::now();
  socket_.send(boost::asio::buffer(wire), 0, ec);
  if (ec) last_error_ = make_error("ntp-socket", "NTP server " + config_.servers[server_] + ": " + ec.message());

  std::uint64_t gen = generation_;
  std::weak_ptr<bool> alive = alive_;
  auto wait = std::min<std::chrono::milliseconds>(config_.first_wait * (1LL << std::min<std::size_t>(round_, 10)), kMaxWait);
  wait_timer_.expires_after(wait);
  wait_timer_.async_wait([this, alive, gen](const boost::system::error_code& e) {
    if (e || alive.expired() || gen != generation_ || !running_) return;
    next(last_error_ ? last_error_
                     : std::optional<Error>(make_error("ntp-timeout", "no answer from NTP server " + config_.servers[server_])));
  });
  if (!ec) receive();
}

void SntpClient::receive() {
  std::uint64_t gen = generation_;
  std::weak_ptr<bool> alive = alive_;
  socket_.async_receive(boost::asio::buffer(buffer_), [this, alive, gen](const boost::system::error_code& ec, std::size_t n) {
    if (alive.expired() || gen != generation_ || !running_) return;
    if (ec) {
      // e.g. ICMP port unreachable: wait out the backoff before the next request.
      last_error_ = make_error("ntp-unreachable", "NTP server " + config_.servers[server_] + ": " + ec.message());
      return;
    }
    on_datagram(n);
  });
}

void SntpClient::on_datagram(std::size_t n) {
  auto t4 = std::chrono::system_clock::now();
  auto pkt = parse_ntp_packet(std::span<const std::uint8_t>(buffer_.data(), n));
  Result<SntpSample> sample = pkt ? check_reply(*pkt, sent_, t1_, t4) : Result<SntpSample>(pkt.error());
  if (!sample) {
    const Error& e = sample.error();
    last_error_ = make_error(e.code, "NTP server " + config_.servers[server_] + ": " + e.message);
    if (e.code == "ntp-kiss-of-death") {
      std::string kiss = kiss_code(*pkt);
      if (kiss == "DENY" || kiss == "RSTR") retired_.insert(server_);  // RFC 4330 section 8
      next(last_error_);
    } else if (e.code == "ntp-unsynchronized" || e.code == "ntp-bad-packet") {
      next(last_error_);
    } else {
      receive();  // spoofed or malformed: ignored, the request stays open
    }
    return;
  }
  TrustedClock::Sync s;
  s.offset = sample->offset;
  s.delay = sample->delay;
  s.server = config_.servers[server_];
  s.at = std::chrono::system_clock::to_time_t(t4 + std::chrono::duration_cast<std::chrono::system_clock::duration>(s.offset));
  clock_.set_sync(std::move(s));
  finish(Ok{});
}

void SntpClient::next(std::optional<Error> why) {
  if (why) last_error_ = std::move(why);
  ++generation_;
  wait_timer_.cancel();
  close_socket();
  if (++server_ >= config_.servers.size()) {
    server_ = 0;
    ++round_;
  }
  attempt();
}

void SntpClient::finish(Status s) {
  running_ = false;
  ++generation_;
  wait_timer_.cancel();
  deadline_timer_.cancel();
  resolver_.cancel();
  close_socket();
  if (!s) last_error_ = s.error();
  if (done_) {
    Done d = std::move(done_);
    done_ = nullptr;
    d(s);
  }
  if (config_.resync_interval.count() > 0 && !config_.servers.empty()) {
    std::weak_ptr<bool> alive = alive_;
    resync_timer_.expires_after(config_.resync_interval);
    resync_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
      if (ec || alive.expired()) return;
      start(nullptr);
    });
  }
}

}  // namespace exphone::clock
