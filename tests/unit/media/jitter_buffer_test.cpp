// The adaptive jitter buffer, on synthetic arrival times: reordering, duplicates, late packets,
// loss with and without concealment, adaptation of the target delay to the measured jitter, and
// its bounds. No sleeping and no wall clock: time is a number here.
#include "media/jitter_buffer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "media/tone.h"

namespace exphone::media {
std::ostream& operator<<(std::ostream& o, const JitterBufferStats& s) {
  return o << "pushed " << s.pushed << " played " << s.played << " late " << s.late << " dup " << s.duplicates
           << " lost " << s.lost << " underruns " << s.underruns << " dropped " << s.dropped_for_delay
           << " stretched " << s.stretched << " overflows " << s.overflows << " resyncs " << s.resyncs;
}
}  // namespace exphone::media

using namespace exphone;
using namespace exphone::media;
using namespace std::chrono_literals;

namespace {

// A transparent test codec at 8 kHz: a payload of k octets decodes to k samples, each the value
// of the first octet times 100, so the test can tell which packet a sample came from.
// Concealment, when enabled, yields -1.
class MarkerCodec final : public AudioCodec {
 public:
  explicit MarkerCodec(bool plc = true) : plc_(plc) {}
  std::string_view name() const override { return "marker"; }
  std::uint32_t rtp_clock_rate() const override { return 8000; }
  std::uint32_t sample_rate() const override { return 8000; }
  Status encode(std::span<const std::int16_t>, std::vector<std::uint8_t>&) override { return Ok{}; }
  Status decode(std::span<const std::uint8_t> p, std::vector<std::int16_t>& out) override {
    if (p[0] == 0xff) return make_error("codec-bad-payload", "marker 255 is broken");
    out.assign(p.size(), static_cast<std::int16_t>(p[0] * 100));
    return Ok{};
  }
  bool has_plc() const override { return plc_; }
  Status conceal(std::size_t samples, std::vector<std::int16_t>& out) override {
    if (!plc_) return AudioCodec::conceal(samples, out);
    out.assign(samples, -1);
    return Ok{};
  }

 private:
  bool plc_;
};

using TP = JitterBuffer::TimePoint;
const TP t0 = TP{} + 1000s;

struct Arrival {
  std::uint16_t seq;
  std::chrono::microseconds at;
  std::size_t samples = 160;
};

// Packet i (sequence i, timestamp 160 i, marker i % 200) is sent at 20 i ms. Arrivals are played
// into the buffer in time order, interleaved with a pull every 20 ms; returns the frames pulled.
struct Sim {
  JitterBuffer jb;
  MarkerCodec codec;
  std::vector<std::vector<std::int16_t>> frames;
  explicit Sim(JitterBufferConfig c = {}, bool plc = true) : jb(c, 8000), codec(plc) {}

  void run(std::vector<Arrival> arrivals, std::chrono::milliseconds until) {
    std::stable_sort(arrivals.begin(), arrivals.end(), [](auto& a, auto& b) { return a.at < b.at; });
    std::size_t next = 0;
    std::vector<std::int16_t> out;
    for (auto t = 0ms; t < until; t += 20ms) {
      while (next < arrivals.size() && arrivals[next].at <= t) {
        const Arrival& a = arrivals[next++];
        std::vector<std::uint8_t> payload(a.samples, static_cast<std::uint8_t>(a.seq % 200));
        jb.push(a.seq, 160u * a.seq, payload, t0 + a.at);
      }
      jb.pull(t0 + t, codec, out);
      EXPECT_EQ(out.size(), 160u);
      frames.push_back(out);
    }
  }
  // The markers of the frames that carried audio, in playout order (-1 concealed, 0 silence).
  std::vector<int> markers() const {
    std::vector<int> m;
    for (auto& f : frames) m.push_back(f.front() > 0 ? f.front() / 100 : f.front());
    return m;
  }
};

std::vector<Arrival> paced(int count, std::chrono::milliseconds delay) {
  std::vector<Arrival> a;
  for (int i = 1; i <= count; ++i) a.push_back({static_cast<std::uint16_t>(i), 20ms * i + delay});
  return a;
}

std::vector<int> played(const std::vector<int>& m) {
  std::vector<int> p;
  for (int x : m)
    if (x > 0) p.push_back(x);
  return p;
}

std::vector<int> iota(int from, int to) {
  std::vector<int> v;
  for (int i = from; i <= to; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST(JitterBuffer, InOrderStreamPlaysEverythingOnce) {
  Sim s;
  s.run(paced(50, 5ms), 1200ms);
  EXPECT_EQ(played(s.markers()), iota(1, 50));
  const auto& st = s.jb.stats();
  EXPECT_EQ(st.played, 50u);
  EXPECT_EQ(st.lost + st.late + st.duplicates + st.dropped_for_delay, 0u);
  EXPECT_EQ(s.jb.jitter_ms(), 0.0);
  EXPECT_EQ(s.jb.target_delay(), 20ms);  // min_delay: no jitter
  // Every frame is one whole packet: the stream is not torn between frames.
  for (auto& f : s.frames) EXPECT_TRUE(std::all_of(f.begin(), f.end(), [&](auto x) { return x == f.front(); }));
}

TEST(JitterBuffer, ReordersWithinTheDelay) {
  auto a = paced(30, 5ms);
  std::swap(a[9].at, a[10].at);   // 10 and 11 swapped
  a[20].at += 25ms;               // 21 arrives after 22 and 23, still before its playout
  Sim s;
  s.run(a, 800ms);
  EXPECT_EQ(played(s.markers()), iota(1, 30)) << s.jb.stats();
  EXPECT_EQ(s.jb.stats().lost, 0u);
  EXPECT_EQ(s.jb.stats().late, 0u);
}

TEST(JitterBuffer, DuplicatesAreDroppedAndCounted) {
  auto a = paced(20, 5ms);
  a.push_back({7, 20ms * 7 + 6ms});   // duplicate while still buffered
  a.push_back({8, 20ms * 8 + 15ms});
  Sim s;
  s.run(a, 600ms);
  EXPECT_EQ(played(s.markers()), iota(1, 20));
  EXPECT_EQ(s.jb.stats().duplicates, 2u);
  EXPECT_EQ(s.jb.stats().lost, 0u);
}

TEST(JitterBuffer, LossIsConcealedAndCounted) {
  auto a = paced(30, 5ms);
  a.erase(a.begin() + 14);  // sequence 15 never arrives
  Sim s;
  s.run(a, 800ms);
  auto m = s.markers();
  auto at14 = std::find(m.begin(), m.end(), 14);
  ASSERT_NE(at14, m.end());
  EXPECT_EQ(*(at14 + 1), -1);  // concealment where 15 would have played
  EXPECT_EQ(*(at14 + 2), 16);
  EXPECT_EQ(s.jb.stats().lost, 1u);
  EXPECT_EQ(s.jb.stats().played, 29u);

  Sim quiet({}, /*plc=*/false);  // a codec without PLC: silence instead
  quiet.run(a, 800ms);
  m = quiet.markers();
  at14 = std::find(m.begin(), m.end(), 14);
  ASSERT_NE(at14, m.end());
  EXPECT_EQ(*(at14 + 1), 0);
  EXPECT_EQ(quiet.jb.stats().lost, 1u);
}

TEST(JitterBuffer, LatePacketIsDroppedAfterItsAudioWasConcealed) {
  auto a = paced(30, 5ms);
  a[14].at += 200ms;  // 15 arrives long after 16.. were played
  Sim s;
  s.run(a, 900ms);
  EXPECT_EQ(s.jb.stats().late, 1u);
  EXPECT_EQ(s.jb.stats().lost, 1u);
  auto p = played(s.markers());
  EXPECT_EQ(std::count(p.begin(), p.end(), 15), 0);
  EXPECT_EQ(p.size(), 29u);
}

TEST(JitterBuffer, BrokenPayloadIsConcealedNotFatal) {
  std::vector<Arrival> a = paced(10, 5ms);
  Sim s;
  // sequence 255 has marker 255 % 200 = 55: fine; make a broken one by using marker 0xff directly
  JitterBuffer& jb = s.jb;
  std::vector<std::uint8_t> bad(160, 0xff);
  jb.push(0, 0, bad, t0);
  s.run(a, 400ms);
  EXPECT_EQ(s.jb.stats().decode_errors, 1u);
  EXPECT_EQ(played(s.markers()), iota(1, 10));
}

TEST(JitterBuffer, TargetDelayFollowsJitterWithinBounds) {
  // Phase 1: each packet delayed by 0..60 ms (deterministic pseudo-random), then phase 2 steady.
  std::mt19937 rng(42);
  std::vector<Arrival> a;
  for (int i = 1; i <= 250; ++i) a.push_back({static_cast<std::uint16_t>(i), 20ms * i + std::chrono::milliseconds(rng() % 61)});
  Sim s;
  s.run(a, 5000ms + 100ms);
  const auto high = s.jb.target_delay();
  EXPECT_GT(high, 60ms);
  EXPECT_LE(high, 200ms);
  EXPECT_GT(s.jb.stats().stretched + s.jb.stats().underruns, 0u) << s.jb.stats();  // it grew
  // The delay it settled at absorbs the jitter: most packets play, few arrive too late.
  EXPECT_GT(s.jb.stats().played, 240u) << s.jb.stats();
  EXPECT_GT(s.jb.buffered(), 40ms);

  // Phase 2: no jitter any more; the target comes down and the buffer drops to meet it.
  std::vector<Arrival> b;
  for (int i = 1; i <= 250; ++i) b.push_back({static_cast<std::uint16_t>(i), 20ms * i + std::chrono::milliseconds(i <= 100 ? rng() % 61 : 30)});
  Sim s2;
  s2.run(b, 5200ms);
  EXPECT_LT(s2.jb.target_delay(), 40ms);
  EXPECT_GT(s2.jb.stats().dropped_for_delay, 0u);
  EXPECT_LE(s2.jb.buffered(), s2.jb.target_delay() + 40ms);

  // Extreme jitter: the target stops at max_delay.
  std::vector<Arrival> c;
  for (int i = 1; i <= 200; ++i) c.push_back({static_cast<std::uint16_t>(i), 20ms * i + std::chrono::milliseconds(i % 2 ? 0 : 400)});
  Sim s3;
  s3.run(c, 3000ms);  // while both halves of the stream still flow
  EXPECT_EQ(s3.jb.target_delay(), 200ms) << s3.jb.stats();
}

TEST(JitterBuffer, HoldsAtMostMaxPackets) {
  JitterBufferConfig cfg;
  cfg.max_packets = 16;
  JitterBuffer jb(cfg, 8000);
  std::vector<std::uint8_t> p(160, 1);
  for (std::uint16_t i = 0; i < 1000; ++i) jb.push(i, 160u * i, p, t0);
  EXPECT_EQ(jb.size(), 16u);
  EXPECT_EQ(jb.stats().overflows, 1000u - 16u);
  std::vector<std::uint8_t> huge(kMaxCodecPayload + 1, 1);
  EXPECT_FALSE(jb.push(2000, 0, huge, t0));
  EXPECT_FALSE(jb.push(2001, 0, {}, t0));
}

TEST(JitterBuffer, TimestampJumpResynchronises) {
  Sim s;
  auto a = paced(20, 5ms);
  // the peer restarts: same sequence line, timestamps 10 s ahead
  for (int i = 21; i <= 40; ++i) a.push_back({static_cast<std::uint16_t>(i), 20ms * i + 5ms});
  std::vector<Arrival> arrivals = a;
  s.jb.reset();
  // run manually to shift the timestamps of the second half
  std::vector<std::int16_t> out;
  std::size_t next = 0;
  std::vector<int> got;
  for (auto t = 0ms; t < 1000ms; t += 20ms) {
    while (next < arrivals.size() && arrivals[next].at <= t) {
      const Arrival& x = arrivals[next++];
      std::uint32_t ts = 160u * x.seq + (x.seq > 20 ? 80000u : 0u);
      std::vector<std::uint8_t> payload(160, static_cast<std::uint8_t>(x.seq));
      s.jb.push(x.seq, ts, payload, t0 + x.at);
    }
    s.jb.pull(t0 + t, s.codec, out);
    if (out.front() > 0) got.push_back(out.front() / 100);
  }
  EXPECT_EQ(s.jb.stats().resyncs, 1u);
  EXPECT_EQ(got.front(), 1);
  EXPECT_EQ(got.back(), 40);
  EXPECT_GE(got.size(), 38u);
}

TEST(JitterBuffer, LongerPacketsThanTheFrame) {
  // The peer sends 30 ms packets (240 samples, timestamp +240); we pull 20 ms frames.
  JitterBuffer jb({}, 8000);
  MarkerCodec codec;
  std::vector<std::int16_t> out, all;
  int pushed = 0;
  for (int ms = 0; ms < 1500; ms += 10) {
    if (ms % 30 == 0 && pushed < 40) {
      ++pushed;
      std::vector<std::uint8_t> p(240, static_cast<std::uint8_t>(pushed));
      jb.push(static_cast<std::uint16_t>(pushed), 240u * static_cast<unsigned>(pushed), p, t0 + std::chrono::milliseconds(ms + 2));
    }
    if (ms % 20 == 0) {
      jb.pull(t0 + std::chrono::milliseconds(ms), codec, out);
      ASSERT_EQ(out.size(), 160u);
      all.insert(all.end(), out.begin(), out.end());
    }
  }
  EXPECT_EQ(jb.stats().played, 40u) << jb.stats();
  EXPECT_EQ(jb.stats().lost, 0u);
  // 240 samples of each packet, in order, with no concealment in between.
  std::vector<std::int16_t> audio;
  for (auto x : all)
    if (x > 0) audio.push_back(x);
  ASSERT_EQ(audio.size(), 40u * 240u);
  for (std::size_t i = 0; i < audio.size(); ++i) ASSERT_EQ(audio[i], static_cast<std::int16_t>((i / 240 + 1) * 100)) << i;
}

TEST(JitterBuffer, RealCodecToneSurvivesJitter) {
  auto enc = make_audio_codec("PCMU");
  auto dec = make_audio_codec("PCMU");
  ASSERT_TRUE(enc && dec);
  JitterBuffer jb({}, 8000);
  ToneGenerator tone(1000, 8000);
  std::mt19937 rng(1);
  std::multimap<std::chrono::milliseconds, std::pair<std::uint16_t, std::vector<std::uint8_t>>> wire;
  std::vector<std::int16_t> frame(160), out, heard;
  for (std::uint16_t i = 0; i < 100; ++i) {
    tone.fill(frame);
    std::vector<std::uint8_t> payload;
    ASSERT_TRUE((*enc)->encode(frame, payload));
    wire.emplace(20ms * i + std::chrono::milliseconds(rng() % 40), std::make_pair(i, payload));
  }
  for (auto t = 0ms; t < 2500ms; t += 20ms) {
    while (!wire.empty() && wire.begin()->first <= t) {
      auto& [seq, payload] = wire.begin()->second;
      jb.push(seq, 160u * seq, payload, t0 + wire.begin()->first);
      wire.erase(wire.begin());
    }
    jb.pull(t0 + t, **dec, out);
    heard.insert(heard.end(), out.begin(), out.end());
  }
  EXPECT_EQ(jb.stats().played, 100u);
  EXPECT_GT(tone_energy_ratio(heard, 1000, 8000), 0.8);
}

TEST(JitterBuffer, SenderPauseIsNotLossAndNotConcealedTwice) {
  // Packets 11..17 carry a DTMF event (other payload, same sequence space): no audio for 140 ms.
  auto a = paced(40, 5ms);
  a.erase(a.begin() + 10, a.begin() + 17);
  Sim s;
  for (std::uint16_t seq = 11; seq <= 17; ++seq) s.jb.note_other_payload(seq);
  s.run(a, 1100ms);
  const auto& st = s.jb.stats();
  EXPECT_EQ(st.lost, 0u) << st;
  EXPECT_EQ(st.played, 33u);
  auto m = s.markers();
  auto at10 = std::find(m.begin(), m.end(), 10);
  ASSERT_NE(at10, m.end());
  // Exactly the seven frames of the pause are concealment, then 18 follows.
  EXPECT_EQ(std::count(at10 + 1, at10 + 8, -1), 7);
  EXPECT_EQ(*(at10 + 8), 18);
}
