// STUN (RFC 8489) and ICE-lite (RFC 8445) against the RFC 5769 test vectors and our own builder.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "media/ice_lite.h"
#include "media/stun.h"

namespace exphone::media {
namespace {

// RFC 5769 section 2.1: sample request, short-term credentials.
const std::vector<std::uint8_t> kSampleRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
    0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
    0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};
constexpr char kSamplePassword[] = "VOkJxbRl1RmTxUk/WvJxBt";

TEST(Stun, ParsesRfc5769SampleRequest) {
  ASSERT_TRUE(looks_like_stun(kSampleRequest));
  auto m = parse_stun(kSampleRequest);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->type, kStunBindingRequest);
  EXPECT_EQ(m->attributes.size(), 6u);
  EXPECT_EQ(m->username().value(), "evtj:h6vY");
  EXPECT_EQ(m->priority().value(), 0x6e0001ffu);
  EXPECT_TRUE(m->has(kStunIceControlled));
  EXPECT_TRUE(check_message_integrity(*m, kSamplePassword));
  EXPECT_FALSE(check_message_integrity(*m, "VOkJxbRl1RmTxUk/WvJxBu"));
  EXPECT_TRUE(check_fingerprint(*m));
  EXPECT_TRUE(m->unknown_required().empty());
}

TEST(Stun, DetectsAnyChangedByte) {
  for (std::size_t i = 20; i < kSampleRequest.size(); ++i) {
    auto bad = kSampleRequest;
    bad[i] ^= 0x01;
    auto m = parse_stun(bad);
    if (!m) continue;  // a length now runs past the end: rejected is fine too
    EXPECT_FALSE(check_message_integrity(*m, kSamplePassword) && check_fingerprint(*m)) << "byte " << i;
  }
}

TEST(Stun, RejectsMalformed) {
  EXPECT_EQ(parse_stun(std::vector<std::uint8_t>(19)).error().code, "stun-too-short");
  auto b = kSampleRequest;
  b[4] = 0;  // cookie
  EXPECT_EQ(parse_stun(b).error().code, "stun-bad-header");
  b = kSampleRequest;
  b[3] = 0x5c;  // length does not match the datagram
  EXPECT_EQ(parse_stun(b).error().code, "stun-bad-header");
  b = kSampleRequest;
  b[22] = 0x7f;  // SOFTWARE length runs past the end
  EXPECT_EQ(parse_stun(b).error().code, "stun-bad-attribute");
  b = kSampleRequest;
  b.insert(b.end(), {0x80, 0x22, 0x00, 0x00});  // attribute after FINGERPRINT
  b[3] += 4;
  EXPECT_EQ(parse_stun(b).error().code, "stun-attribute-after-fingerprint");
  std::vector<std::uint8_t> rtp = {0x80, 0x00, 0x00, 0x01};
  EXPECT_FALSE(looks_like_stun(rtp));
}

TEST(Stun, BuilderRoundTripsWithIntegrityAndAddress) {
  StunTransactionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(i * 7);
  auto wire = StunBuilder(kStunBindingSuccess, id)
                  .add_xor_address(std::vector<std::uint8_t>{192, 0, 2, 1}, 32853)
                  .finish(std::string_view("secret-password"));
  auto m = parse_stun(wire);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_TRUE(check_message_integrity(*m, "secret-password"));
  EXPECT_TRUE(check_fingerprint(*m));
  auto a = xor_mapped_address(*m);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->address, (std::vector<std::uint8_t>{192, 0, 2, 1}));
  EXPECT_EQ(a->port, 32853);
}

std::vector<std::uint8_t> check(const IceCredentials& callee, const std::string& caller_ufrag, bool use_candidate,
                                const std::string& pwd) {
  StunTransactionId id{};
  id[0] = 1;
  StunBuilder b(kStunBindingRequest, id);
  b.add_string(kStunUsername, callee.ufrag + ":" + caller_ufrag).add_u32(kStunPriority, 1853824767);
  b.add_u64(kStunIceControlling, 42);
  if (use_candidate) b.add(kStunUseCandidate, {});
  return b.finish(std::string_view(pwd));
}

TEST(IceLite, AnswersAuthenticatedChecksAndTakesTheNomination) {
  IceLiteAgent agent(IceCredentials::generate());
  EXPECT_GE(agent.local().ufrag.size(), 4u);
  EXPECT_GE(agent.local().pwd.size(), 22u);
  agent.set_remote("peer");
  const boost::asio::ip::udp::endpoint a(boost::asio::ip::make_address("127.0.0.1"), 4000);
  const boost::asio::ip::udp::endpoint b(boost::asio::ip::make_address("127.0.0.1"), 5000);

  auto o = agent.on_stun(check(agent.local(), "peer", false, agent.local().pwd), a);
  EXPECT_TRUE(o.valid);
  EXPECT_FALSE(o.nominated);
  auto resp = parse_stun(o.response);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->type, kStunBindingSuccess);
  EXPECT_TRUE(check_message_integrity(*resp, agent.local().pwd));
  EXPECT_TRUE(check_fingerprint(*resp));
  EXPECT_EQ(xor_mapped_address(*resp)->port, 4000);
  EXPECT_EQ(agent.selected(), a);
  EXPECT_FALSE(agent.nominated());

  o = agent.on_stun(check(agent.local(), "peer", true, agent.local().pwd), b);
  EXPECT_TRUE(o.nominated);
  EXPECT_EQ(agent.selected(), b);
  EXPECT_EQ(agent.stats().requests, 2u);
}

TEST(IceLite, RejectsWrongPasswordAndStrangers) {
  IceLiteAgent agent(IceCredentials::generate());
  agent.set_remote("peer");
  const boost::asio::ip::udp::endpoint a(boost::asio::ip::make_address("127.0.0.1"), 4000);
  auto o = agent.on_stun(check(agent.local(), "peer", true, "not-the-password-at-all"), a);
  EXPECT_FALSE(o.valid);
  auto resp = parse_stun(o.response);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->type, kStunBindingError);
  o = agent.on_stun(check(agent.local(), "someone-else", true, agent.local().pwd), a);
  EXPECT_FALSE(o.valid);
  IceCredentials other{"abcd", "0123456789012345678901"};
  o = agent.on_stun(check(other, "peer", true, agent.local().pwd), a);
  EXPECT_FALSE(o.valid);
  EXPECT_FALSE(agent.selected());
  EXPECT_EQ(agent.stats().rejected, 3u);
  // garbage is dropped without an answer
  o = agent.on_stun(std::vector<std::uint8_t>{0, 1, 0, 0}, a);
  EXPECT_TRUE(o.response.empty());
}

}  // namespace
}  // namespace exphone::media
