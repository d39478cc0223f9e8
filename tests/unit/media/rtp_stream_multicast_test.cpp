// Receive-only multicast RtpStream (paging, docs/paging.md) on lo: SRTP under a group key, one
// inbound session for the stream's lifetime, so a resent capture of an earlier sender is dropped
// as a replay (RFC 3711 3.3.2) and a sender with another key fails authentication.
#include <gtest/gtest.h>

#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <random>

#include "media/rtp_stream.h"
#include "media/tone.h"

using namespace exphone::media;
namespace asio = boost::asio;
using asio::ip::udp;

namespace {

const auto kLo = asio::ip::make_address_v4("127.0.0.1");

std::uint16_t free_udp_port() {
  asio::io_context io;
  udp::socket s(io, udp::endpoint(kLo, 0));
  return s.local_endpoint().port();
}

std::string random_group() {
  std::random_device rd;
  return "239.255." + std::to_string(rd() % 250 + 1) + "." + std::to_string(rd() % 250 + 1);
}

std::unique_ptr<RtpStream> sender(asio::io_context& io, const SrtpKey& key, const udp::endpoint& group) {
  RtpStreamConfig c;
  c.rtcp_mux = true;
  c.send_key = key;
  c.receive_key = key;
  auto s = RtpStream::open(io, c);
  EXPECT_TRUE(s.ok());
  EXPECT_TRUE((*s)->set_multicast_send(1, "127.0.0.1").ok());
  (*s)->set_remote(group);
  return std::move(*s);
}

}  // namespace

TEST(RtpStreamMulticast, SecurePagesReplaysAndForgeries) {
  asio::io_context io;
  const std::string group = random_group();
  const std::uint16_t port = free_udp_port();
  const udp::endpoint to(asio::ip::make_address(group), port);
  auto key = SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  auto other = SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(key.ok() && other.ok());

  RtpStreamConfig rc;
  rc.local_address = group;
  rc.local_port = port;
  rc.multicast_group = group;
  rc.multicast_interface = "127.0.0.1";
  rc.receive_key = *key;  // no send key: receive-only
  auto rx = RtpStream::open(io, rc);
  ASSERT_TRUE(rx.ok()) << rx.error().message;
  EXPECT_TRUE((*rx)->secure());

  // an eavesdropper's capture of the first page
  udp::socket cap(io, udp::endpoint(asio::ip::make_address(group), port).protocol());
  cap.set_option(asio::socket_base::reuse_address(true));
  cap.bind(udp::endpoint(asio::ip::make_address(group), port));
  cap.set_option(asio::ip::multicast::join_group(asio::ip::make_address_v4(group), kLo));
  std::vector<std::vector<std::uint8_t>> captured;
  std::vector<std::uint8_t> buf(2048);
  std::function<void()> capture = [&] {
    cap.async_receive(asio::buffer(buf), [&](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      captured.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
      capture();
    });
  };
  capture();

  ToneGenerator tone(1000, 8000);
  auto page1 = sender(io, *key, to);
  page1->start([&](std::span<std::int16_t> f) { tone.fill(f); });
  io.run_for(std::chrono::milliseconds(400));
  page1->stop();
  page1->send_bye();
  io.run_for(std::chrono::milliseconds(100));
  const auto first = (*rx)->stats();
  EXPECT_GE(first.packets_received, 15u);
  EXPECT_TRUE(first.remote_bye);
  EXPECT_EQ(first.srtp_auth_failures, 0u);
  EXPECT_GT(tone_energy_ratio((*rx)->take_recording(), 1000, 8000), 0.8);
  EXPECT_TRUE((*rx)->recording().empty());
  (*rx)->clear_remote_bye();
  EXPECT_FALSE((*rx)->stats().remote_bye);
  cap.close();
  ASSERT_GE(captured.size(), 15u);
  page1.reset();

  // the capture, resent: every packet (RTP and SRTCP) is a replay
  udp::socket attacker(io, udp::endpoint(kLo, 0));
  attacker.set_option(asio::ip::multicast::outbound_interface(kLo));
  for (const auto& p : captured) attacker.send_to(asio::buffer(p), to);
  // a forger with another key
  auto forged = sender(io, *other, to);
  forged->start([&](std::span<std::int16_t> f) { tone.fill(f); });
  // and a new genuine page: fresh SSRC, accepted
  auto page2 = sender(io, *key, to);
  ToneGenerator tone2(500, 8000);
  page2->start([&](std::span<std::int16_t> f) { tone2.fill(f); });
  io.run_for(std::chrono::milliseconds(400));
  const auto& st = (*rx)->stats();
  EXPECT_EQ(st.replays_dropped, captured.size());
  EXPECT_GE(st.srtp_auth_failures, 15u);
  EXPECT_GE(st.packets_received - first.packets_received, 15u);
  EXPECT_LE(st.packets_received - first.packets_received, page2->stats().packets_sent);
}

TEST(RtpStreamMulticast, OpenErrors) {
  asio::io_context io;
  auto key = SrtpKey::generate(SrtpSuite::kAesCm128HmacSha1_80);
  RtpStreamConfig c;
  c.local_port = free_udp_port();
  c.multicast_group = "10.1.2.3";
  auto s = RtpStream::open(io, c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "media-config");
  c.multicast_group = "239.255.9.9";
  c.local_address = "239.255.9.9";
  c.multicast_interface = "lo";  // IPv4 groups take an address
  s = RtpStream::open(io, c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "media-config");
  c.multicast_interface.clear();
  c.local_port = 0;
  s = RtpStream::open(io, c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "media-config");
  RtpStreamConfig unicast;  // a receive key alone is only for a multicast group
  unicast.receive_key = *key;
  s = RtpStream::open(io, unicast);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "media-config");
}
