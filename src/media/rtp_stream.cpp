#include "media/rtp_stream.h"

#include <net/if.h>
#include <openssl/rand.h>

#include <boost/asio/ip/multicast.hpp>

#include <algorithm>

#include "core/random.h"
#include "media/rtcp.h"
#include "media/rtp.h"
#include "media/wav.h"

namespace exphone::media {

namespace asio = boost::asio;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

template <class T>
T random_value() {
  T v{};
  RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v);  // RFC 3550 5.1: random initial values
  return v;
}

// RFC 3550 6.3.1: the interval times a random factor in [0.5, 1.5].
std::chrono::milliseconds randomised(std::chrono::milliseconds interval) {
  const double factor = 0.5 + random_value<std::uint16_t>() / 65535.0;
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(interval.count()) * factor));
}

bool bind_socket(udp::socket& s, const udp::endpoint& ep) {
  boost::system::error_code ec;
  if (s.is_open()) s.close(ec);
  s.open(ep.protocol(), ec);
  if (!ec) s.bind(ep, ec);
  if (ec) s.close(ec);
  return !ec;
}

}  // namespace

RtpStream::RtpStream(asio::io_context& io, RtpStreamConfig config)
    : config_(std::move(config)),
      socket_(io),
      rtcp_socket_(io),
      timer_(io),
      playout_timer_(io),
      rtcp_timer_(io),
      jitter_(config_.jitter, 8000),
      sequence_(random_value<std::uint16_t>()),
      timestamp_(random_value<std::uint32_t>()),
      ssrc_(random_value<std::uint32_t>()) {}

RtpStream::~RtpStream() {
  *alive_ = false;
  boost::system::error_code ec;
  timer_.cancel();
  playout_timer_.cancel();
  rtcp_timer_.cancel();
  socket_.close(ec);
  rtcp_socket_.close(ec);
}

Status RtpStream::init_codec(const std::string& name) {
  auto enc = make_audio_codec(name);
  if (!enc) return enc.error();
  auto dec = make_audio_codec(name);
  if (!dec) return dec.error();
  if (!(*enc)->ptime_supported(config_.ptime)) {
    return make_error("media-config", name + " cannot send " + std::to_string(config_.ptime.count()) + " ms frames");
  }
  encoder_ = std::move(*enc);
  decoder_ = std::move(*dec);
  config_.jitter.frame = config_.ptime;
  jitter_ = JitterBuffer(config_.jitter, decoder_->rtp_clock_rate());
  source_.reset();
  DtmfSenderConfig d = config_.dtmf;
  d.clock_rate = encoder_->rtp_clock_rate();  // telephone-event uses the audio clock (RFC 4733 2.1)
  d.ptime = config_.ptime;
  dtmf_sender_ = DtmfSender(d);
  return Ok{};
}

Result<std::unique_ptr<RtpStream>> RtpStream::open(asio::io_context& io, RtpStreamConfig config) {
  const bool receive_only = !config.multicast_group.empty() && config.receive_key && !config.send_key;
  if (config.send_key.has_value() != config.receive_key.has_value() && !receive_only)
    return make_error("media-config", "SRTP needs both the send and the receive key");
  if (config.ptime.count() <= 0 || config.ptime.count() > 120)
    return make_error("media-config", "ptime must be 1..120 ms");
  std::unique_ptr<RtpStream> s(new RtpStream(io, std::move(config)));
  RtpStreamConfig& c = s->config_;
  if (Status st = s->init_codec(c.codec.empty() ? (c.law == G711::kUlaw ? "PCMU" : "PCMA") : c.codec); !st)
    return st.error();
  if (c.send_key) {
    if (Status st = s->set_srtp(*c.send_key, *c.receive_key); !st) return st.error();
  } else if (c.receive_key) {  // receive-only multicast
    auto rx = SrtpSession::create(*c.receive_key, Direction::kInbound);
    if (!rx) return rx.error();
    s->receive_srtp_.emplace(std::move(*rx));
  }
  if (c.cname.empty()) c.cname = random_hex(8) + "@exphone";  // RFC 7022: random per session
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(c.local_address, ec);
  if (ec) return make_error("media-config", "bad media address " + c.local_address);

  if (!c.multicast_group.empty()) {
    if (Status st = s->join_multicast(); !st) return st.error();
  } else if (c.rtcp_mux) {
    if (!bind_socket(s->socket_, udp::endpoint(addr, c.local_port)))
      return make_error("media-failed", "cannot bind RTP socket on port " + std::to_string(c.local_port));
  } else if (c.local_port != 0) {
    if (c.local_port == 65535 || !bind_socket(s->socket_, udp::endpoint(addr, c.local_port)) ||
        !bind_socket(s->rtcp_socket_, udp::endpoint(addr, static_cast<std::uint16_t>(c.local_port + 1))))
      return make_error("media-failed", "cannot bind RTP/RTCP ports " + std::to_string(c.local_port) + "/+1");
  } else {
    // RFC 3550 11: an even RTP port and the next odd one for RTCP. Let the system pick ports
    // until one is even with its successor free.
    bool bound = false;
    for (int attempt = 0; attempt < 64 && !bound; ++attempt) {
      if (!bind_socket(s->socket_, udp::endpoint(addr, 0))) break;
      const auto p = s->socket_.local_endpoint(ec).port();
      if (ec || p % 2 != 0 || p == 65535) continue;
      bound = bind_socket(s->rtcp_socket_, udp::endpoint(addr, static_cast<std::uint16_t>(p + 1)));
    }
    if (!bound) return make_error("media-failed", "cannot find a free RTP/RTCP port pair");
  }
  s->local_port_ = s->socket_.local_endpoint(ec).port();
  s->rx_.resize(2048);
  s->rtcp_rx_.resize(2048);
  s->receive();
  if (s->rtcp_socket_.is_open()) s->receive_rtcp();
  s->next_play_ = Clock::now();
  s->schedule_playout();
  s->schedule_rtcp(true);
  return s;
}

std::uint16_t RtpStream::local_rtcp_port() const {
  if (config_.rtcp_mux || !rtcp_socket_.is_open()) return local_port_;
  boost::system::error_code ec;
  return rtcp_socket_.local_endpoint(ec).port();
}

void RtpStream::set_rtcp_mux(bool mux) {
  if (!mux) return;
  config_.rtcp_mux = true;
  boost::system::error_code ec;
  rtcp_socket_.close(ec);
}

void RtpStream::set_remote(const udp::endpoint& remote) {
  remote_ = remote;
  latched_ = false;
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

Status RtpStream::set_codec(const std::string& name, std::uint8_t payload_type,
                            std::optional<std::uint8_t> telephone_event_payload_type) {
  if (payload_type > 127 || (telephone_event_payload_type && *telephone_event_payload_type > 127))
    return make_error("media-config", "RTP payload types are 0..127");
  if (Status st = init_codec(name); !st) return st;
  config_.codec = name;
  config_.payload_type = payload_type;
  config_.telephone_event_payload_type = telephone_event_payload_type;
  return Ok{};
}

void RtpStream::set_codec(G711 law, std::uint8_t payload_type) {
  config_.law = law;
  (void)set_codec(law == G711::kUlaw ? "PCMU" : "PCMA", payload_type, config_.telephone_event_payload_type);
}

Status RtpStream::send_dtmf(const std::string& digits) {
  if (!config_.telephone_event_payload_type)
    return make_error("media-no-dtmf", "no telephone-event payload type was negotiated");
  return dtmf_sender_.queue(digits);
}

// ---- receiving ------------------------------------------------------------------------------

void RtpStream::receive() {
  std::weak_ptr<bool> alive = alive_;
  socket_.async_receive_from(asio::buffer(rx_), sender_, [this, alive](const boost::system::error_code& ec, std::size_t n) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    if (!ec) on_packet(n);
    receive();
  });
}

void RtpStream::receive_rtcp() {
  std::weak_ptr<bool> alive = alive_;
  rtcp_socket_.async_receive_from(asio::buffer(rtcp_rx_), rtcp_sender_, [this, alive](const boost::system::error_code& ec, std::size_t n) {
    if (alive.expired() || ec == asio::error::operation_aborted || !rtcp_socket_.is_open()) return;
    if (!ec) {
      if (n >= rtcp_rx_.size()) ++stats_.rtcp_malformed;
      else on_rtcp(rtcp_rx_.data(), n, rtcp_sender_);
    }
    receive_rtcp();
  });
}

void RtpStream::on_packet(std::size_t n) {
  if (n >= rx_.size()) {
    ++stats_.malformed;  // larger than any audio packet: dropped, not truncated
    return;
  }
  // RFC 7983 7: the first byte tells STUN (0..3) and DTLS (20..63) from RTP/RTCP (128..191).
  if (n > 0 && (rx_[0] < 4 || (rx_[0] >= 20 && rx_[0] <= 63))) {
    const auto& handler = rx_[0] < 4 ? on_stun_ : on_dtls_;
    if (handler) handler(std::span<const std::uint8_t>(rx_.data(), n), sender_);
    else ++stats_.malformed;
    return;
  }
  if (require_srtp_ && !receive_srtp_) {  // DTLS-SRTP keys not there yet: cannot authenticate it
    ++stats_.early_dropped;
    return;
  }
  // RFC 5761 4: RTCP packet types 192..223 sit where RTP payload types 64..95 would be.
  if (looks_like_rtcp({rx_.data(), n})) {
    on_rtcp(rx_.data(), n, sender_);
    return;
  }
  // Media before offer/answer finished (set_remote) cannot be authenticated yet — with SDES the
  // callee starts sending SRTP before the caller has read the keys in the 200 — so it is not
  // audio: dropped and counted, never decoded.
  if (negotiating()) {
    ++stats_.early_dropped;
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
  if (!rtp) {
    ++stats_.malformed;
    return;
  }
  const RtpHeader& h = rtp->header;
  const bool audio = h.payload_type == config_.payload_type;
  const bool event = config_.telephone_event_payload_type && h.payload_type == *config_.telephone_event_payload_type;
  if ((!audio && !event) || rtp->payload.empty()) {
    ++stats_.malformed;
    return;
  }
  ++stats_.packets_received;
  if (config_.latch_remote && !latched_) {  // RFC 4961: answer where the authentic media comes from
    remote_ = sender_;
    latched_ = true;
  }
  const auto now = Clock::now();
  if (!source_ || source_->ssrc() != h.ssrc) source_.emplace(h.ssrc, decoder_->rtp_clock_rate());
  source_->on_packet(h.sequence, h.timestamp, now);
  if (event) {
    jitter_.note_other_payload(h.sequence);
    auto digit = dtmf_receiver_.on_packet(h.timestamp, rtp->payload);
    if (!digit) {
      ++stats_.malformed;
    } else if (*digit) {
      ++stats_.dtmf_received;
      if (digits_.size() < 256) digits_ += **digit;
      if (on_digit_) on_digit_(**digit);
    }
    return;
  }
  jitter_.push(h.sequence, h.timestamp, rtp->payload, now);
}

void RtpStream::on_rtcp(std::uint8_t* data, std::size_t n, const udp::endpoint& from) {
  // Like media (on_packet): before offer/answer finished there is no key to check it with; the
  // callee's SRTCP can beat the 200 to the caller.
  if ((require_srtp_ && !receive_srtp_) || negotiating()) {
    ++stats_.early_dropped;
    return;
  }
  std::size_t len = n;
  if (receive_srtp_) {
    Status s = receive_srtp_->unprotect_rtcp(data, len);
    if (!s) {
      if (s.error().code == "srtp-auth-failed") ++stats_.srtcp_auth_failures;
      else if (s.error().code == "srtp-replay") ++stats_.replays_dropped;
      else ++stats_.rtcp_malformed;
      return;
    }
  }
  auto packets = parse_rtcp_compound({data, len});
  if (!packets) {
    ++stats_.rtcp_malformed;
    return;
  }
  ++stats_.rtcp_received;
  if (config_.latch_remote && !config_.rtcp_mux && !remote_rtcp_ && latched_) remote_rtcp_ = from;
  const auto now = Clock::now();
  const std::uint32_t arrival = ntp_middle32(ntp_from_system(std::chrono::system_clock::now()));
  auto about_us = [&](const std::vector<RtcpReportBlock>& blocks) {
    for (const auto& b : blocks) {
      if (b.ssrc != ssrc_) continue;
      stats_.remote_packets_lost = b.cumulative_lost;
      stats_.remote_fraction_lost = b.fraction_lost / 256.0;
      stats_.remote_jitter_ms = b.jitter * 1000.0 / encoder_->rtp_clock_rate();
      if (auto rtt = rtcp_round_trip(arrival, b)) stats_.rtt_ms = static_cast<double>(rtt->count()) / 1000.0;
    }
  };
  for (const auto& p : *packets) {
    if (const auto* sr = std::get_if<RtcpSenderReport>(&p)) {
      if (source_ && source_->ssrc() == sr->ssrc) source_->on_sender_report(sr->sender.ntp_timestamp, now);
      about_us(sr->reports);
    } else if (const auto* rr = std::get_if<RtcpReceiverReport>(&p)) {
      about_us(rr->reports);
    } else if (const auto* bye = std::get_if<RtcpBye>(&p)) {
      if (source_ && std::find(bye->ssrcs.begin(), bye->ssrcs.end(), source_->ssrc()) != bye->ssrcs.end())
        stats_.remote_bye = true;
    }
  }
}

// ---- playout --------------------------------------------------------------------------------

void RtpStream::schedule_playout() {
  next_play_ += config_.ptime;
  playout_timer_.expires_at(next_play_);
  std::weak_ptr<bool> alive = alive_;
  playout_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    play_frame();
    schedule_playout();
  });
}

void RtpStream::play_frame() {
  jitter_.pull(Clock::now(), *decoder_, played_);
  stats_.jitter_buffer = jitter_.stats();
  if (!jitter_.playing()) return;  // nothing received yet: the sink gets nothing either
  const auto decoded = jitter_.last_decoded();
  if (recording_.size() < config_.max_recorded_samples) {
    const std::size_t room = config_.max_recorded_samples - recording_.size();
    recording_.insert(recording_.end(), decoded.begin(), decoded.begin() + static_cast<std::ptrdiff_t>(std::min(room, decoded.size())));
  }
  if (sink_) sink_(played_);
}

// ---- sending --------------------------------------------------------------------------------

void RtpStream::start(Source source) {
  source_fn_ = std::move(source);
  next_send_ = Clock::now();
  send_frame();
}

void RtpStream::stop() {
  timer_.cancel();
  source_fn_ = nullptr;
}

void RtpStream::send_rtp(const RtpHeader& h, std::span<const std::uint8_t> payload) {
  if (!remote_ || (require_srtp_ && !send_srtp_)) return;
  packet_.resize(kRtpFixedHeaderSize + payload.size() + kSrtpTrailerSpace);
  auto written = write_rtp(h, payload, packet_);
  if (!written) return;
  std::size_t len = *written;
  if (send_srtp_ && !send_srtp_->protect(packet_.data(), len, packet_.size())) return;
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(packet_.data(), len), *remote_, 0, ec);
  if (ec) return;
  ++stats_.packets_sent;
  stats_.octets_sent += payload.size();
}

void RtpStream::send_frame() {
  if (!source_fn_) return;
  const std::uint32_t step = encoder_->timestamp_increment(config_.ptime);
  RtpHeader h;
  h.ssrc = ssrc_;
  std::optional<DtmfPacket> dtmf;
  if (config_.telephone_event_payload_type) dtmf = dtmf_sender_.tick(timestamp_);
  frame_.resize(encoder_->samples_per_frame(config_.ptime));
  source_fn_(frame_);  // the source keeps its pace even while a digit replaces the audio
  if (dtmf) {
    // RFC 4733 2.5.1: same SSRC and sequence space, the event's start as timestamp.
    h.payload_type = *config_.telephone_event_payload_type;
    h.marker = dtmf->marker;
    h.timestamp = dtmf->timestamp;
    h.sequence = sequence_++;
    send_rtp(h, dtmf->payload);
    if (dtmf->marker) ++stats_.dtmf_sent;  // one marker packet per digit
  } else if (encoder_->encode(frame_, payload_)) {
    h.payload_type = config_.payload_type;
    h.timestamp = timestamp_;
    h.sequence = sequence_++;
    send_rtp(h, payload_);
  }
  timestamp_ += step;
  // drift-free pacing: the next frame is due one ptime after the previous deadline
  next_send_ += config_.ptime;
  timer_.expires_at(next_send_);
  std::weak_ptr<bool> alive = alive_;
  timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) send_frame();
  });
}

// ---- RTCP -----------------------------------------------------------------------------------

std::optional<udp::endpoint> RtpStream::rtcp_destination() const {
  if (!remote_) return std::nullopt;
  if (config_.rtcp_mux) return remote_;
  if (remote_rtcp_) return remote_rtcp_;
  if (remote_->port() == 65535) return std::nullopt;
  return udp::endpoint(remote_->address(), static_cast<std::uint16_t>(remote_->port() + 1));
}

void RtpStream::schedule_rtcp(bool first) {
  // RFC 3550 6.2: the first report after half the interval.
  rtcp_timer_.expires_after(randomised(first ? config_.rtcp_interval / 2 : config_.rtcp_interval));
  std::weak_ptr<bool> alive = alive_;
  rtcp_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    send_report(false, {});
    schedule_rtcp(false);
  });
}

void RtpStream::send_report(bool bye, const std::string& reason) {
  auto to = rtcp_destination();
  if (!to || (require_srtp_ && !send_srtp_)) return;
  RtcpReportParts parts;
  parts.ssrc = ssrc_;
  parts.cname = config_.cname;
  parts.bye = bye;
  parts.bye_reason = reason;
  const auto now = Clock::now();
  if (stats_.packets_sent != packets_at_last_report_) {
    // RFC 3550 6.4.1: SR when we sent RTP since the last report. The RTP timestamp of "now":
    // timestamp_ belongs to the frame due at next_send_.
    RtcpSenderInfo info;
    info.ntp_timestamp = ntp_from_system(std::chrono::system_clock::now());
    const auto ahead = std::chrono::duration_cast<std::chrono::microseconds>(next_send_ - now).count();
    info.rtp_timestamp = timestamp_ - static_cast<std::uint32_t>(std::max<std::int64_t>(ahead, 0) * encoder_->rtp_clock_rate() / 1000000);
    info.packet_count = static_cast<std::uint32_t>(stats_.packets_sent);
    info.octet_count = static_cast<std::uint32_t>(stats_.octets_sent);
    parts.sender = info;
    packets_at_last_report_ = stats_.packets_sent;
  }
  if (source_ && source_->valid()) {
    parts.reports.push_back(source_->make_report_block(now));
    stats_.packets_lost = source_->cumulative_lost();
    stats_.fraction_lost = source_->last_fraction_lost() / 256.0;
    stats_.jitter_ms = static_cast<double>(source_->jitter().count()) / 1000.0;
  }
  auto wire = build_report(parts);
  if (!wire) return;
  std::vector<std::uint8_t>& p = *wire;
  if (send_srtp_ && !send_srtp_->protect_rtcp(p)) return;
  boost::system::error_code ec;
  udp::socket& s = (config_.rtcp_mux || !rtcp_socket_.is_open()) ? socket_ : rtcp_socket_;
  s.send_to(asio::buffer(p), *to, 0, ec);
  if (!ec) ++stats_.rtcp_sent;
}

void RtpStream::send_bye(const std::string& reason) {
  send_report(true, reason.substr(0, 255));
}

void RtpStream::send_datagram(std::span<const std::uint8_t> datagram, const udp::endpoint& to) {
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to, 0, ec);  // best effort, like RTP
}

// ---- multicast (paging) ---------------------------------------------------------------------

namespace {

// IPv6 interface by name ("lo", "eth0") or index; 0 = let the routing table pick.
Result<unsigned> ipv6_interface(const std::string& name) {
  if (name.empty()) return 0u;
  if (unsigned i = if_nametoindex(name.c_str()); i != 0) return i;
  return make_error("media-config", "no network interface '" + name + "'");
}

}  // namespace

Status RtpStream::join_multicast() {
  boost::system::error_code ec;
  auto group = asio::ip::make_address(config_.multicast_group, ec);
  if (ec || !group.is_multicast()) return make_error("media-config", "not a multicast group: " + config_.multicast_group);
  if (config_.local_port == 0) return make_error("media-config", "a multicast group needs a port");
  config_.rtcp_mux = true;  // RTCP (SR, BYE) shares the group's port (RFC 5761)
  const udp::endpoint ep(group, config_.local_port);
  socket_.open(ep.protocol(), ec);
  if (!ec) socket_.set_option(asio::socket_base::reuse_address(true), ec);  // several listeners per host
  if (!ec) socket_.bind(ep, ec);  // bound to the group: unicast to the port is not taken
  if (ec) return make_error("media-failed", "cannot bind " + config_.multicast_group + " port " + std::to_string(config_.local_port) + ": " + ec.message());
  if (group.is_v4()) {
    asio::ip::address_v4 itf = asio::ip::address_v4::any();
    if (!config_.multicast_interface.empty()) {
      itf = asio::ip::make_address_v4(config_.multicast_interface, ec);
      if (ec) return make_error("media-config", "multicast interface must be an IPv4 address: " + config_.multicast_interface);
    }
    socket_.set_option(asio::ip::multicast::join_group(group.to_v4(), itf), ec);
  } else {
    auto idx = ipv6_interface(config_.multicast_interface);
    if (!idx) return idx.error();
    socket_.set_option(asio::ip::multicast::join_group(group.to_v6(), *idx), ec);
  }
  if (ec) return make_error("media-failed", "cannot join " + config_.multicast_group + ": " + ec.message());
  return Ok{};
}

Status RtpStream::set_multicast_send(int hops, const std::string& interface) {
  boost::system::error_code ec;
  if (hops < 0 || hops > 255) return make_error("media-config", "multicast TTL must be 0..255");
  socket_.set_option(asio::ip::multicast::hops(hops), ec);
  if (!ec) socket_.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec && !interface.empty()) {
    if (socket_.local_endpoint(ec).address().is_v4()) {
      auto a = asio::ip::make_address_v4(interface, ec);
      if (ec) return make_error("media-config", "multicast interface must be an IPv4 address: " + interface);
      socket_.set_option(asio::ip::multicast::outbound_interface(a), ec);
    } else {
      auto idx = ipv6_interface(interface);
      if (!idx) return idx.error();
      socket_.set_option(asio::ip::multicast::outbound_interface(*idx), ec);
    }
  }
  if (ec) return make_error("media-config", "multicast socket options: " + ec.message());
  return Ok{};
}

Result<RtpStream::Source> wav_file_source(const std::string& path, std::uint32_t sample_rate, bool loop) {
  auto wav = read_wav(path);
  if (!wav) return wav.error();
  auto converted = resample_8k_16k(wav->samples, wav->sample_rate, sample_rate);
  if (!converted) return converted.error();
  auto samples = std::make_shared<std::vector<std::int16_t>>(std::move(*converted));
  auto pos = std::make_shared<std::size_t>(0);
  return RtpStream::Source([samples, pos, loop](std::span<std::int16_t> frame) {
    for (auto& s : frame) {
      if (*pos >= samples->size()) {
        if (!loop || samples->empty()) {
          s = 0;
          continue;
        }
        *pos = 0;
      }
      s = (*samples)[(*pos)++];
    }
  });
}

}  // namespace exphone::media
