// RtpStream with the whole media layer on loopback: every codec both ways over SRTP, RTCP
// reports (SR/RR, SRTCP, rtcp-mux or port + 1) with loss, jitter and round-trip time, DTMF both
// ways, symmetric RTP latching only on authenticated packets, and a WAV file as the source.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/ip/udp.hpp>
#include <filesystem>

#include "media/rtp_stream.h"
#include "media/tone.h"
#include "media/wav.h"

using namespace exphone;
using namespace exphone::media;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::udp;

namespace {

udp::endpoint loopback(std::uint16_t port) { return {asio::ip::make_address("127.0.0.1"), port}; }

struct Call {
  asio::io_context io;
  std::unique_ptr<RtpStream> a, b;
  explicit Call(bool srtp, bool mux = true, bool latch_b = false) {
    RtpStreamConfig ca, cb;
    ca.local_address = cb.local_address = "127.0.0.1";
    ca.rtcp_mux = cb.rtcp_mux = mux;
    ca.rtcp_interval = cb.rtcp_interval = 300ms;
    cb.latch_remote = latch_b;
    if (srtp) {
      auto k1 = SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
      auto k2 = SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
      ca.send_key = *k1;
      cb.receive_key = *k1;
      cb.send_key = *k2;
      ca.receive_key = *k2;
    }
    auto ra = RtpStream::open(io, ca);
    auto rb = RtpStream::open(io, cb);
    EXPECT_TRUE(ra && rb);
    a = std::move(*ra);
    b = std::move(*rb);
  }
  void connect() {
    a->set_remote(loopback(b->local_port()));
    b->set_remote(loopback(a->local_port()));
  }
};

double heard(const RtpStream& s, double hz) { return tone_energy_ratio(s.recording(), hz, s.recording_rate()); }

// The same over the last `ms` of the recording only (what is playing now).
double heard_now(const RtpStream& s, double hz, int ms = 300) {
  std::span<const std::int16_t> rec = s.recording();
  const std::size_t n = std::min(rec.size(), static_cast<std::size_t>(s.recording_rate()) * static_cast<std::size_t>(ms) / 1000);
  return tone_energy_ratio(rec.last(n), hz, s.recording_rate());
}

// Runs the loop until `done` holds (polled every 50 ms) or `limit` passes: a loaded build
// machine slows the loop down, and the tests wait for outcomes, not for fixed times.
template <class Pred>
void run_until(asio::io_context& io, Pred done, std::chrono::milliseconds limit = 5000ms) {
  for (auto waited = 0ms; waited < limit && !done(); waited += 50ms) io.run_for(50ms);
}

}  // namespace

TEST(RtpStreamCalls, EveryCodecBothWaysOverSrtp) {
  for (const char* name : {"PCMA", "G722", "opus"}) {
    Call c(true);
    const std::uint8_t pt = std::string(name) == "opus" ? 111 : std::string(name) == "G722" ? 9 : 8;
    ASSERT_TRUE(c.a->set_codec(name, pt));
    ASSERT_TRUE(c.b->set_codec(name, pt));
    c.connect();
    const auto rate = c.a->codec().sample_rate();
    EXPECT_EQ(c.a->recording_rate(), rate);
    std::size_t sunk = 0, bad_frames = 0;
    c.b->set_sink([&](std::span<const std::int16_t> f) {
      ++sunk;
      if (f.size() != rate / 50) ++bad_frames;  // one 20 ms frame per playout tick
    });
    ToneGenerator ta(1000, rate), tb(3000, rate);
    c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
    c.b->start([&](std::span<std::int16_t> f) { tb.fill(f); });
    run_until(c.io, [&] {
      return c.a->stats().packets_received >= 30 && c.b->stats().packets_received >= 30;
    });
    EXPECT_GE(c.b->stats().packets_received, 30u) << name;
    EXPECT_GT(heard(*c.b, 1000), 0.7) << name;
    EXPECT_GT(heard(*c.a, 3000), 0.7) << name;  // 3 kHz: fine in narrowband too
    EXPECT_EQ(c.b->stats().malformed + c.b->stats().srtp_auth_failures, 0u) << name;
    EXPECT_GE(sunk, 20u) << name;
    EXPECT_EQ(bad_frames, 0u) << name;
  }
}

TEST(RtpStreamCalls, RtcpReportsOverSrtcpWithMuxAndWithoutIt) {
  for (bool mux : {true, false}) {
    Call c(true, mux);
    if (!mux) {
      EXPECT_EQ(c.a->local_rtcp_port(), c.a->local_port() + 1);
      EXPECT_EQ(c.a->local_port() % 2, 0);  // RFC 3550 11: even RTP port
    } else {
      EXPECT_EQ(c.a->local_rtcp_port(), c.a->local_port());
    }
    c.connect();
    ToneGenerator ta(1000, 8000), tb(440, 8000);
    c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
    c.b->start([&](std::span<std::int16_t> f) { tb.fill(f); });
    run_until(c.io, [&] {
      return c.a->stats().rtcp_received >= 2 && c.b->stats().rtcp_received >= 2 && c.a->stats().rtt_ms &&
             c.b->stats().rtt_ms;
    });
    for (const RtpStream* s : {c.a.get(), c.b.get()}) {
      const auto& st = s->stats();
      EXPECT_GE(st.rtcp_sent, 2u) << "mux " << mux;
      EXPECT_GE(st.rtcp_received, 2u) << "mux " << mux;  // SRTCP authenticated and parsed
      EXPECT_EQ(st.rtcp_malformed + st.srtp_auth_failures + st.srtcp_auth_failures, 0u);
      EXPECT_EQ(st.packets_lost, 0);
      ASSERT_TRUE(st.remote_packets_lost.has_value());
      EXPECT_EQ(*st.remote_packets_lost, 0);
      EXPECT_LT(st.jitter_ms, 20.0);
      // Round trip from LSR/DLSR: both sides sent SRs, so both know it; loopback is fast.
      ASSERT_TRUE(st.rtt_ms.has_value()) << "mux " << mux;
      EXPECT_GE(*st.rtt_ms, 0.0);
      EXPECT_LT(*st.rtt_ms, 100.0);
    }
    c.a->send_bye("hangup");
    run_until(c.io, [&] { return c.b->stats().remote_bye; }, 1000ms);
    EXPECT_TRUE(c.b->stats().remote_bye);
  }
}

TEST(RtpStreamCalls, DtmfBothWays) {
  Call c(true);
  ASSERT_TRUE(c.a->set_codec("PCMU", 0, 101));
  ASSERT_TRUE(c.b->set_codec("PCMU", 0, 101));
  c.connect();
  std::string via_callback;
  c.b->on_digit([&](char d) { via_callback += d; });
  ToneGenerator ta(1000, 8000), tb(440, 8000);
  c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
  c.b->start([&](std::span<std::int16_t> f) { tb.fill(f); });
  ASSERT_TRUE(c.a->send_dtmf("12#9"));
  ASSERT_TRUE(c.b->send_dtmf("*0"));
  run_until(c.io, [&] { return c.b->received_digits().size() >= 4 && c.a->received_digits().size() >= 2; });
  const auto before = c.b->stats().packets_received;
  run_until(c.io, [&] { return c.b->stats().packets_received >= before + 25; });  // audio again
  EXPECT_EQ(c.b->received_digits(), "12#9");
  EXPECT_EQ(via_callback, "12#9");
  EXPECT_EQ(c.a->received_digits(), "*0");
  EXPECT_EQ(c.b->stats().dtmf_received, 4u);
  EXPECT_EQ(c.a->stats().dtmf_sent, 4u);
  EXPECT_GT(heard_now(*c.b, 1000), 0.7);  // audio continues after the digits
  EXPECT_EQ(c.b->stats().jitter_buffer.lost, 0u);  // event sequence numbers are not lost audio
  auto bad = c.a->send_dtmf("12x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "dtmf-bad-digit");

  Call plain(false);
  auto none = plain.a->send_dtmf("1");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, "media-no-dtmf");
  auto unknown = plain.a->set_codec("G729", 18);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "codec-unknown");
}

TEST(RtpStreamCalls, LatchesOnlyOnAuthenticatedPackets) {
  Call c(true, true, /*latch_b=*/true);
  c.a->set_remote(loopback(c.b->local_port()));
  // B believes A is somewhere else (a NAT rewrote the address, say).
  udp::socket nowhere(c.io, loopback(0));
  c.b->set_remote(nowhere.local_endpoint());
  // An attacker sends first: a forged SRTP packet from another socket.
  udp::socket attacker(c.io, loopback(0));
  std::vector<std::uint8_t> forged(60, 0x42);
  forged[0] = 0x80;
  forged[1] = 0x00;
  attacker.send_to(asio::buffer(forged), loopback(c.b->local_port()));
  c.io.run_for(50ms);
  EXPECT_EQ(c.b->stats().srtp_auth_failures, 1u);

  ToneGenerator ta(1000, 8000), tb(440, 8000);
  c.b->start([&](std::span<std::int16_t> f) { tb.fill(f); });
  c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
  run_until(c.io, [&] { return c.a->stats().packets_received >= 30; });
  // B latched to A (the first authentic packet), not to the attacker: A hears B.
  EXPECT_GE(c.a->stats().packets_received, 10u);
  EXPECT_GT(heard_now(*c.a, 440), 0.7);
  attacker.non_blocking(true);
  std::vector<std::uint8_t> buf(2048);
  boost::system::error_code ec;
  udp::endpoint from;
  EXPECT_EQ(attacker.receive_from(asio::buffer(buf), from, 0, ec), 0u);
  EXPECT_TRUE(ec == asio::error::would_block);  // nothing went to the attacker
}

TEST(RtpStreamCalls, HostileRtcpIsCountedNotFatal) {
  Call c(false);  // not connected yet: A sends no reports of its own to B
  udp::socket peer(c.io, loopback(0));
  const std::vector<std::vector<std::uint8_t>> junk = {
      {0x80, 200, 0x00, 0x06},                     // SR promising 28 bytes, 4 present
      {0x81, 201, 0x00, 0x01, 0, 0, 0, 1},         // RR with a block missing
      {0x80, 202, 0x00, 0x01, 0, 0, 0, 1},         // SDES without chunks and 4 bytes more
      {0x81, 200, 0xff, 0xff, 1, 2, 3, 4, 5, 6},   // length far past the end
  };
  // Before offer/answer finished nothing can be checked: early, not parsed.
  for (const auto& j : junk) peer.send_to(asio::buffer(j), loopback(c.b->local_port()));
  run_until(c.io, [&] { return c.b->stats().early_dropped >= junk.size(); }, 1000ms);
  EXPECT_EQ(c.b->stats().early_dropped, junk.size());
  EXPECT_EQ(c.b->stats().rtcp_malformed, 0u);
  c.b->set_remote(peer.local_endpoint());
  for (const auto& j : junk) peer.send_to(asio::buffer(j), loopback(c.b->local_port()));
  run_until(c.io, [&] { return c.b->stats().rtcp_malformed >= junk.size(); }, 1000ms);
  EXPECT_EQ(c.b->stats().rtcp_malformed, junk.size());
  EXPECT_EQ(c.b->stats().rtcp_received, 0u);
  c.a->set_remote(loopback(c.b->local_port()));
  c.b->set_remote(loopback(c.a->local_port()));  // b negotiated too (else early media is dropped)
  ToneGenerator ta(1000, 8000);
  c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
  run_until(c.io, [&] { return c.b->stats().packets_received >= 15; });
  EXPECT_GT(heard(*c.b, 1000), 0.7);  // the stream is unaffected
}

TEST(RtpStreamCalls, WavFileSource) {
  const auto path = (std::filesystem::temp_directory_path() / ("exphone-src-" + std::to_string(::getpid()) + ".wav")).string();
  std::vector<std::int16_t> tone(4000);  // half a second at 8 kHz, looped
  ToneGenerator(700, 8000).fill(tone);
  ASSERT_TRUE(write_wav(path, tone, 8000));
  Call c(true);
  ASSERT_TRUE(c.a->set_codec("G722", 9));
  ASSERT_TRUE(c.b->set_codec("G722", 9));
  c.connect();
  auto src = wav_file_source(path, c.a->codec().sample_rate(), /*loop=*/true);  // 8k file -> 16k
  std::filesystem::remove(path);
  ASSERT_TRUE(src) << src.error().to_string();
  c.a->start(*src);
  run_until(c.io, [&] { return c.b->stats().packets_received >= 30; });
  EXPECT_EQ(c.b->recording_rate(), 16000u);
  EXPECT_GT(heard(*c.b, 700), 0.7);
  auto missing = wav_file_source("/nonexistent/x.wav", 8000, false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "wav-open-failed");
}

// What baresip does on SRTP calls (seen in interop_call_pbx): its RTCP APP "PING" and, at hang-up,
// an RTCP BYE + SDES go out in clear. Dropped and counted as SRTCP failures or malformed, the BYE
// not taken, and no media authentication failure (which would cost the call its padlock).
TEST(RtpStreamCalls, CleartextRtcpOnAnSrtpCallIsDroppedWithoutCostingThePadlock) {
  Call c(true);
  c.connect();
  ToneGenerator ta(1000, 8000), tb(440, 8000);
  c.a->start([&](std::span<std::int16_t> f) { ta.fill(f); });
  c.b->start([&](std::span<std::int16_t> f) { tb.fill(f); });
  run_until(c.io, [&] { return c.b->stats().packets_received >= 5; });
  udp::socket peer(c.io, loopback(0));
  const std::vector<std::uint8_t> ping = {0x80, 0xcc, 0x00, 0x03, 1, 2, 3, 4, 'P', 'I', 'N', 'G', 'P', 'O', 'N', 'G'};
  // BYE "Adjo" for SSRC 01020304, then SDES CNAME: 52 bytes, long enough to pass for SRTCP
  std::vector<std::uint8_t> bye = {0x81, 0xcb, 0x00, 0x03, 1, 2, 3, 4, 4, 'A', 'd', 'j', 'o', 0, 0, 0,
                                   0x81, 0xca, 0x00, 0x08, 1, 2, 3, 4, 1, 24};
  for (char ch : std::string("sip:1002@127.0.0.1:50417")) bye.push_back(static_cast<std::uint8_t>(ch));
  bye.push_back(0);
  bye.push_back(0);
  ASSERT_EQ(bye.size(), 52u);
  peer.send_to(asio::buffer(ping), loopback(c.b->local_port()));
  peer.send_to(asio::buffer(bye), loopback(c.b->local_port()));
  c.io.run_for(100ms);
  const auto& st = c.b->stats();
  EXPECT_EQ(st.srtcp_auth_failures + st.rtcp_malformed, 2u);
  EXPECT_EQ(st.srtp_auth_failures, 0u);
  EXPECT_FALSE(st.remote_bye);
}
