// One audio stream on the event loop: a frame every ptime to the peer (any codec of
// audio_codec.h, or RFC 4733 telephone-events while a digit is being sent), SRTP-protected when
// keyed; what arrives authenticated goes through the adaptive jitter buffer and is played out
// (recorded, and handed to the sink) every ptime. Replays and forgeries are dropped and counted
// (RFC 3711 section 3.3.2); the call goes on.
//
// RTCP (RFC 3550 section 6): a compound SR or RR + SDES CNAME every rtcp_interval (randomised by
// 0.5..1.5, first one after half an interval, as 6.2/6.3 ask, simplified for one peer), SRTCP
// when keyed. With rtcp-mux (RFC 5761) it shares the RTP socket and port; otherwise it uses its
// own socket on local port + 1 and goes to the remote port + 1 (RFC 3550 11), unless
// set_remote_rtcp() says otherwise (RFC 3605 a=rtcp). RTCP arriving on the RTP socket is
// recognised by its packet type (RFC 5761 4) either way.
//
// Symmetric RTP (RFC 4961): we always send from the socket we receive on. With latch_remote, the
// remote address is replaced by the source of the first packet that authenticates (SRTP) -- or,
// on plain RTP, the first well-formed packet of a negotiated payload type -- once per set_remote.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "media/audio_codec.h"
#include "media/dtmf.h"
#include "media/g711.h"
#include "media/jitter_buffer.h"
#include "media/rtp.h"
#include "media/rtp_source_stats.h"
#include "media/srtp_session.h"

namespace exphone::media {

struct RtpStreamConfig {
  G711 law = G711::kUlaw;                 // the codec when `codec` is empty (older callers)
  std::string codec;                      // SDP encoding name: PCMU, PCMA, G722, opus
  std::uint8_t payload_type = 0;
  std::optional<std::uint8_t> telephone_event_payload_type;  // RFC 4733, when negotiated
  std::string local_address = "0.0.0.0";
  std::uint16_t local_port = 0;           // 0 = any free port (an even one when RTCP is not muxed)
  std::optional<SrtpKey> send_key;        // SRTP when both keys are set
  std::optional<SrtpKey> receive_key;
  std::chrono::milliseconds ptime{20};
  std::size_t max_recorded_samples = 16000 * 600;  // ten minutes at 16 kHz, then recording stops
  bool rtcp_mux = false;                  // RFC 5761; set from the answer with set_rtcp_mux()
  std::chrono::milliseconds rtcp_interval{5000};
  std::string cname;                      // RFC 3550 6.5.1; empty = random
  bool latch_remote = false;              // RFC 4961 latching, see above
  JitterBufferConfig jitter;              // its frame is set to ptime
  DtmfSenderConfig dtmf;                  // clock rate and ptime follow the codec
  // Receive-only multicast (paging): bind local_port on this group address and join it
  // (RFC 1112 / RFC 4604 any-source); only receive_key is needed for SRTP; nothing is sent and no
  // RTCP reports go out (no set_remote). The stream, and thus its SRTP replay state, lives as long
  // as the caller keeps it.
  std::string multicast_group;
  std::string multicast_interface;        // IPv4: local address to join on; IPv6: interface name; "" = routing
};

struct RtpStreamStats {
  std::uint64_t packets_sent = 0;         // RTP, audio and telephone-event
  std::uint64_t packets_received = 0;     // authenticated (when SRTP) and well formed RTP
  std::uint64_t srtp_auth_failures = 0;   // SRTP (media) packets that failed authentication
  // RTCP on an SRTP stream that failed SRTCP authentication: forgeries, and the cleartext RTCP
  // some peers send anyway (baresip's APP "PING" and its BYE at hang-up). Dropped like the rest,
  // but kept apart: a report that could not be checked touches no audio, so it does not cost the
  // call its padlock the way a failing media packet does.
  std::uint64_t srtcp_auth_failures = 0;
  std::uint64_t replays_dropped = 0;      // RTP and RTCP
  std::uint64_t malformed = 0;            // not RTP/RTCP, unknown payload type, bad payload
  std::uint64_t early_dropped = 0;        // arrived before the remote was known (negotiation unfinished)
  std::uint64_t octets_sent = 0;          // RTP payload octets (the SR's sender octet count)
  // RTCP: our reception of the peer's stream (RFC 3550 A.3, A.8) ...
  std::int64_t packets_lost = 0;          // cumulative, as in our report blocks
  double fraction_lost = 0;               // 0..1, over the last reporting interval
  double jitter_ms = 0;
  // ... what the peer reports about ours, and the round trip from its LSR/DLSR (6.4.1).
  std::optional<std::int64_t> remote_packets_lost;
  std::optional<double> remote_fraction_lost;
  std::optional<double> remote_jitter_ms;
  std::optional<double> rtt_ms;
  std::uint64_t rtcp_sent = 0;
  std::uint64_t rtcp_received = 0;        // valid compound packets (after SRTCP)
  std::uint64_t rtcp_malformed = 0;
  bool remote_bye = false;
  std::uint64_t dtmf_sent = 0;            // digits
  std::uint64_t dtmf_received = 0;        // digits
  JitterBufferStats jitter_buffer;
};

class RtpStream {
 public:
  using Source = std::function<void(std::span<std::int16_t>)>;      // fills one frame of samples
  using Sink = std::function<void(std::span<const std::int16_t>)>;  // one played frame
  using DigitHandler = std::function<void(char)>;

  // Errors: media-config (one SRTP key alone, bad address, unknown codec or ptime),
  // media-failed (socket), srtp-*.
  static Result<std::unique_ptr<RtpStream>> open(boost::asio::io_context& io, RtpStreamConfig config);
  ~RtpStream();

  std::uint16_t local_port() const { return local_port_; }
  // The local RTCP port: local_port() with rtcp-mux, local_port() + 1 otherwise.
  std::uint16_t local_rtcp_port() const;
  bool secure() const { return static_cast<bool>(send_srtp_) || (receive_srtp_ && !config_.multicast_group.empty()); }
  void set_remote(const boost::asio::ip::udp::endpoint& remote);
  void set_remote_rtcp(const boost::asio::ip::udp::endpoint& remote) { remote_rtcp_ = remote; }
  // What offer/answer settled, after the socket exists (its port goes into the SDP first).
  Status set_srtp(const SrtpKey& send, const SrtpKey& receive);
  // The codec by SDP encoding name (make_audio_codec), its payload type and the telephone-event
  // payload type when negotiated. Resets the jitter buffer. Errors: codec-*, media-config (ptime).
  Status set_codec(const std::string& name, std::uint8_t payload_type,
                   std::optional<std::uint8_t> telephone_event_payload_type = std::nullopt);
  // Older form, G.711 only; kept for callers that predate the codec factory.
  void set_codec(G711 law, std::uint8_t payload_type);
  // After the answer: true when both sides agreed to rtcp-mux (RFC 5761 5.1.1); closes the
  // separate RTCP socket. Going back to a separate port is not supported.
  void set_rtcp_mux(bool mux);
  void set_sink(Sink sink) { sink_ = std::move(sink); }
  // Sending to a multicast group (paging sender): hop limit (IPv4 TTL / IPv6 hops), outbound
  // interface as multicast_interface above, loopback on. Errors: media-config.
  Status set_multicast_send(int hops, const std::string& interface);
  // For a long-lived receive stream cut into episodes (pages): hands over what was recorded
  // so far, and forgets a BYE seen.
  std::vector<std::int16_t> take_recording() { return std::exchange(recording_, {}); }
  // Forgets the first n samples of recording() (already measured, and not wanted as a WAV), so
  // that a call's recording holds only what is still to be measured, not the whole call.
  void drop_recorded(std::size_t n) {
    recording_.erase(recording_.begin(), recording_.begin() + static_cast<std::ptrdiff_t>(std::min(n, recording_.size())));
  }
  void clear_remote_bye() { stats_.remote_bye = false; }
  void on_digit(DigitHandler handler) { on_digit_ = std::move(handler); }

  // RFC 7983 demultiplexing of the RTP socket: STUN (first byte 0..3) and DTLS (20..63) go to
  // these handlers instead of the RTP path (dropped as malformed when there is none), so ICE and
  // the DTLS-SRTP handshake share the media port (RFC 5764 5.1.2).
  using DatagramHandler = std::function<void(std::span<const std::uint8_t>, const boost::asio::ip::udp::endpoint&)>;
  void on_stun(DatagramHandler handler) { on_stun_ = std::move(handler); }
  void on_dtls(DatagramHandler handler) { on_dtls_ = std::move(handler); }
  // One datagram from the RTP socket (a STUN answer, a DTLS record).
  void send_datagram(std::span<const std::uint8_t> datagram, const boost::asio::ip::udp::endpoint& to);
  const std::optional<boost::asio::ip::udp::endpoint>& remote() const { return remote_; }
  // DTLS-SRTP: until set_srtp() brings the keys the handshake exported, nothing is sent and what
  // arrives is dropped (early_dropped): never a packet in clear on a stream meant to be SRTP.
  void set_require_srtp(bool on) { require_srtp_ = on; }

  void start(Source source);  // sends a frame every ptime until stop()
  void stop();                // stops sending (hold or hang-up); reception goes on
  // Sends an RTCP BYE (RFC 3550 6.6) now, with a last report. For hang-up, before destruction.
  void send_bye(const std::string& reason = {});

  // Queues RFC 4733 digits (0-9 * # A-D), sent while the stream is started. Errors: dtmf-*,
  // media-no-dtmf (no telephone-event payload type negotiated).
  Status send_dtmf(const std::string& digits);
  const std::string& received_digits() const { return digits_; }

  // The peer's audio as decoded, in sequence order, without the playout's concealment, silence
  // or delay adjustments (those go to the sink): what the peer sent and we received, at
  // recording_rate(). A tone in it stays coherent, which is what tone checks rely on.
  const std::vector<std::int16_t>& recording() const { return recording_; }
  std::uint32_t recording_rate() const { return decoder_->sample_rate(); }
  const AudioCodec& codec() const { return *encoder_; }
  const RtpStreamStats& stats() const { return stats_; }
  std::uint32_t ssrc() const { return ssrc_; }

 private:
  RtpStream(boost::asio::io_context& io, RtpStreamConfig config);
  Status init_codec(const std::string& name);
  Status join_multicast();
  void receive();
  void receive_rtcp();
  void on_packet(std::size_t n);
  void on_rtcp(std::uint8_t* data, std::size_t n, const boost::asio::ip::udp::endpoint& from);
  void send_frame();
  void send_rtp(const RtpHeader& h, std::span<const std::uint8_t> payload);
  void play_frame();
  void schedule_playout();
  void schedule_rtcp(bool first);
  void send_report(bool bye, const std::string& reason);
  std::optional<boost::asio::ip::udp::endpoint> rtcp_destination() const;

  RtpStreamConfig config_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::socket rtcp_socket_;  // open only without rtcp-mux
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer playout_timer_;
  boost::asio::steady_timer rtcp_timer_;
  std::optional<boost::asio::ip::udp::endpoint> remote_;
  std::optional<boost::asio::ip::udp::endpoint> remote_rtcp_;
  bool latched_ = false;
  std::optional<SrtpSession> send_srtp_;
  std::optional<SrtpSession> receive_srtp_;
  std::unique_ptr<AudioCodec> encoder_;
  std::unique_ptr<AudioCodec> decoder_;
  JitterBuffer jitter_;
  std::optional<RtpSourceStats> source_;
  DtmfSender dtmf_sender_;
  DtmfReceiver dtmf_receiver_;
  std::string digits_;
  Source source_fn_;
  Sink sink_;
  DigitHandler on_digit_;
  DatagramHandler on_stun_;
  DatagramHandler on_dtls_;
  bool require_srtp_ = false;
  // Offer/answer has not given the peer yet (no set_remote), and the stream neither latches nor
  // listens to a group: what arrives cannot be checked, so it is early, not media.
  bool negotiating() const { return !remote_ && !config_.latch_remote && config_.multicast_group.empty(); }
  std::uint16_t local_port_ = 0;
  std::uint16_t sequence_;
  std::uint32_t timestamp_;
  std::uint32_t ssrc_;
  std::chrono::steady_clock::time_point next_send_;
  std::chrono::steady_clock::time_point next_play_;
  std::uint64_t packets_at_last_report_ = 0;
  std::vector<std::uint8_t> rx_;
  std::vector<std::uint8_t> rtcp_rx_;
  boost::asio::ip::udp::endpoint sender_;
  boost::asio::ip::udp::endpoint rtcp_sender_;
  std::vector<std::int16_t> recording_;
  std::vector<std::int16_t> frame_;
  std::vector<std::int16_t> played_;
  std::vector<std::uint8_t> payload_;
  std::vector<std::uint8_t> packet_;
  RtpStreamStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A Source that plays a WAV file (read_wav) at `sample_rate` (converted from 8/16 kHz when they
// differ), looping or followed by silence. Errors: wav-*.
Result<RtpStream::Source> wav_file_source(const std::string& path, std::uint32_t sample_rate, bool loop);

}  // namespace exphone::media
