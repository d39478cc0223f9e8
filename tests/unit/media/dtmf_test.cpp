// RFC 4733 telephone-events: the sender's packet train and the receiver's one digit per event.
#include "media/dtmf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace exphone;
using namespace exphone::media;
using namespace std::chrono_literals;

namespace {

// Runs the sender for `ticks` ptimes with an audio clock advancing 160 per tick; returns the
// packets sent, each with the tick it was sent on.
std::vector<std::pair<int, DtmfPacket>> run(DtmfSender& s, int ticks, std::uint32_t ts0 = 1000) {
  std::vector<std::pair<int, DtmfPacket>> out;
  for (int i = 0; i < ticks; ++i) {
    if (auto p = s.tick(ts0 + 160u * static_cast<unsigned>(i))) out.emplace_back(i, *p);
  }
  return out;
}

}  // namespace

TEST(Dtmf, EventCodesOfRfc4733) {
  EXPECT_EQ(dtmf_event_code('0'), 0);
  EXPECT_EQ(dtmf_event_code('9'), 9);
  EXPECT_EQ(dtmf_event_code('*'), 10);
  EXPECT_EQ(dtmf_event_code('#'), 11);
  EXPECT_EQ(dtmf_event_code('A'), 12);
  EXPECT_EQ(dtmf_event_code('d'), 15);
  EXPECT_FALSE(dtmf_event_code('E'));
  EXPECT_FALSE(dtmf_event_code(' '));
  EXPECT_EQ(dtmf_digit(11), '#');
  EXPECT_FALSE(dtmf_digit(16));  // flash
  auto e = parse_telephone_event(serialize_telephone_event({11, true, 63, 0x1234}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->event, 11);
  EXPECT_TRUE(e->end);
  EXPECT_EQ(e->volume, 63);
  EXPECT_EQ(e->duration, 0x1234);
  std::vector<std::uint8_t> three = {1, 2, 3};
  auto bad = parse_telephone_event(three);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "dtmf-too-short");
}

TEST(Dtmf, SenderEmitsOneEventPerDigit) {
  DtmfSender s;  // 8000 Hz, 20 ms packets, 100 ms tones, 60 ms gaps
  ASSERT_TRUE(s.queue("5#"));
  EXPECT_TRUE(s.busy());
  auto pkts = run(s, 40);
  EXPECT_FALSE(s.busy());
  // Per digit: durations 160..800 (5 packets, the last with E) + 2 more E retransmissions.
  ASSERT_EQ(pkts.size(), 14u);
  for (int d = 0; d < 2; ++d) {
    const auto first = pkts[static_cast<std::size_t>(d * 7)];
    for (int k = 0; k < 7; ++k) {
      const auto& [tick, p] = pkts[static_cast<std::size_t>(d * 7 + k)];
      auto e = parse_telephone_event(p.payload);
      ASSERT_TRUE(e);
      EXPECT_EQ(e->event, d == 0 ? 5 : 11);
      EXPECT_EQ(p.timestamp, first.second.timestamp) << "one timestamp per event";
      EXPECT_EQ(p.marker, k == 0);
      EXPECT_EQ(e->duration, 160 * std::min(k + 1, 5));
      EXPECT_EQ(e->end, k >= 4);
      EXPECT_EQ(e->volume, 10);
      EXPECT_EQ(tick, first.first + k) << "one packet per ptime";
    }
    // The event's timestamp is the audio timestamp when it started.
    EXPECT_EQ(first.second.timestamp, 1000u + 160u * static_cast<unsigned>(first.first));
  }
  // The gap between the digits: 60 ms = 3 ticks of audio.
  EXPECT_EQ(pkts[7].first - pkts[6].first, 4);
}

TEST(Dtmf, SenderRejectsBadDigitsAndBoundsItsQueue) {
  DtmfSenderConfig cfg;
  cfg.max_queued = 4;
  DtmfSender s(cfg);
  auto bad = s.queue("12x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "dtmf-bad-digit");
  EXPECT_FALSE(s.busy());  // nothing of "12x" was queued
  ASSERT_TRUE(s.queue("1234"));
  auto full = s.queue("5");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, "dtmf-queue-full");
}

TEST(Dtmf, LongToneAtWidebandClockFitsTheDurationField) {
  DtmfSenderConfig cfg;
  cfg.clock_rate = 48000;
  cfg.tone = 5000ms;  // 240000 ticks do not fit 16 bits: capped at 65535
  DtmfSender s(cfg);
  ASSERT_TRUE(s.queue("1"));
  std::uint16_t last = 0;
  for (int i = 0; i < 400; ++i) {
    if (auto p = s.tick(0)) last = parse_telephone_event(p->payload)->duration;
  }
  EXPECT_EQ(last, 65535);
}

TEST(Dtmf, ReceiverReportsOneDigitPerEvent) {
  DtmfSender s;
  ASSERT_TRUE(s.queue("1234567890*#ABCD"));
  auto pkts = run(s, 300);
  DtmfReceiver r;
  std::string got;
  for (auto& [tick, p] : pkts) {
    // every packet arrives twice (network duplication)
    for (int copy = 0; copy < 2; ++copy) {
      auto d = r.on_packet(p.timestamp, p.payload);
      ASSERT_TRUE(d);
      if (*d) got += **d;
    }
  }
  EXPECT_EQ(got, "1234567890*#ABCD");
}

TEST(Dtmf, ReceiverToleratesReorderingAndLoss) {
  DtmfSender s;
  ASSERT_TRUE(s.queue("147"));
  auto pkts = run(s, 60);
  ASSERT_EQ(pkts.size(), 21u);
  // Each event's packets shuffled; the first event loses its marker packet, the second keeps only
  // its end packets.
  std::mt19937 rng(3);
  std::vector<DtmfPacket> wire;
  for (int d = 0; d < 3; ++d) {
    std::vector<DtmfPacket> ev;
    for (int k = 0; k < 7; ++k) ev.push_back(pkts[static_cast<std::size_t>(d * 7 + k)].second);
    if (d == 0) ev.erase(ev.begin());
    if (d == 1) ev.erase(ev.begin(), ev.begin() + 4);
    std::shuffle(ev.begin(), ev.end(), rng);
    wire.insert(wire.end(), ev.begin(), ev.end());
  }
  DtmfReceiver r;
  std::string got;
  for (auto& p : wire) {
    auto d = r.on_packet(p.timestamp, p.payload);
    ASSERT_TRUE(d);
    if (*d) got += **d;
  }
  EXPECT_EQ(got, "147");
  // A late retransmission of the first event, after the others: still nothing new.
  auto again = r.on_packet(wire.front().timestamp, wire.front().payload);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST(Dtmf, ReceiverIgnoresOtherEventsAndRejectsShortPayloads) {
  DtmfReceiver r;
  auto flash = serialize_telephone_event({16, false, 10, 160});
  auto d = r.on_packet(5, flash);
  ASSERT_TRUE(d);
  EXPECT_FALSE(*d);
  std::vector<std::uint8_t> short_payload = {1, 0x80};
  auto bad = r.on_packet(6, short_payload);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "dtmf-too-short");
  // The same digit twice in a row is two events (two timestamps).
  auto one = serialize_telephone_event({1, true, 10, 800});
  EXPECT_EQ(*r.on_packet(1000, one), '1');
  EXPECT_EQ(*r.on_packet(2000, one), '1');
  EXPECT_FALSE(*r.on_packet(1000, one));
}
