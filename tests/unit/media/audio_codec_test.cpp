// The codecs behind media::AudioCodec: a tone survives encode + decode (Goertzel), timestamps
// follow each payload format's clock (RFC 3551 4.5.2 for G.722, RFC 7587 for Opus), malformed
// payloads are errors.
#include "media/audio_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "media/tone.h"

using namespace exphone;
using namespace exphone::media;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<AudioCodec> codec(std::string_view name) {
  auto c = make_audio_codec(name);
  EXPECT_TRUE(c) << name << ": " << c.error().to_string();
  return c ? std::move(*c) : nullptr;
}

// Encodes `frames` 20 ms frames of a tone with one codec instance and decodes them with another
// (as two phones would); returns the decoded audio without the first 100 ms (codec delay).
std::vector<std::int16_t> round_trip(std::string_view name, double hz, int frames = 50) {
  auto enc = codec(name);
  auto dec = codec(name);
  if (!enc || !dec) return {};
  ToneGenerator tone(hz, enc->sample_rate(), 0.5);
  std::vector<std::int16_t> frame(enc->samples_per_frame(20ms)), out, all;
  std::vector<std::uint8_t> payload;
  for (int i = 0; i < frames; ++i) {
    tone.fill(frame);
    Status e = enc->encode(frame, payload);
    EXPECT_TRUE(e) << e.error().to_string();
    Status d = dec->decode(payload, out);
    EXPECT_TRUE(d) << d.error().to_string();
    EXPECT_EQ(out.size(), frame.size()) << name;
    all.insert(all.end(), out.begin(), out.end());
  }
  const std::size_t skip = enc->samples_per_frame(100ms);
  return {all.begin() + static_cast<std::ptrdiff_t>(std::min(skip, all.size())), all.end()};
}

}  // namespace

TEST(AudioCodec, FactoryKnowsTheSdpNames) {
  struct Case {
    std::string_view asked, canonical;
    std::uint32_t clock, rate;
    unsigned channels;
    std::optional<std::uint8_t> pt;
  };
  for (const Case& c : {Case{"PCMU", "PCMU", 8000, 8000, 1, 0}, Case{"pcma", "PCMA", 8000, 8000, 1, 8},
                        Case{"g722", "G722", 8000, 16000, 1, 9},
                        Case{"OPUS", "opus", 48000, 16000, 2, std::nullopt}}) {
    auto k = make_audio_codec(c.asked, c.clock);
    ASSERT_TRUE(k) << c.asked << ": " << k.error().to_string();
    EXPECT_EQ((*k)->name(), c.canonical);
    EXPECT_EQ((*k)->rtp_clock_rate(), c.clock);
    EXPECT_EQ((*k)->sample_rate(), c.rate);
    EXPECT_EQ((*k)->rtpmap_channels(), c.channels);
    EXPECT_EQ((*k)->static_payload_type(), c.pt);
  }
  EXPECT_EQ(supported_audio_codecs().size(), 4u);
  for (std::string_view n : supported_audio_codecs()) EXPECT_TRUE(make_audio_codec(n)) << n;

  auto unknown = make_audio_codec("G729");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, "codec-unknown");
  // RFC 3551 4.5.2: G.722's RTP clock is 8000 although it samples at 16 kHz.
  auto g722_16k = make_audio_codec("G722", 16000);
  ASSERT_FALSE(g722_16k);
  EXPECT_EQ(g722_16k.error().code, "codec-bad-clock-rate");
  auto opus_16k = make_audio_codec("opus", 16000);  // RFC 7587: always 48000
  ASSERT_FALSE(opus_16k);
  EXPECT_EQ(opus_16k.error().code, "codec-bad-clock-rate");
}

TEST(AudioCodec, FrameSizesAndTimestampsFollowThePayloadFormat) {
  auto pcmu = codec("PCMU");
  EXPECT_EQ(pcmu->samples_per_frame(20ms), 160u);
  EXPECT_EQ(pcmu->timestamp_increment(20ms), 160u);

  // G.722: 320 samples of 16 kHz audio, 160 octets, timestamp +160 (RFC 3551 4.5.2).
  auto g722 = codec("G722");
  EXPECT_EQ(g722->samples_per_frame(20ms), 320u);
  EXPECT_EQ(g722->timestamp_increment(20ms), 160u);
  EXPECT_EQ(g722->samples_to_ticks(320), 160u);
  EXPECT_EQ(g722->ticks_to_samples(160), 320u);
  std::vector<std::int16_t> frame(320, 0);
  std::vector<std::uint8_t> payload;
  ASSERT_TRUE(g722->encode(frame, payload));
  EXPECT_EQ(payload.size(), 160u);

  // Opus: 20 ms is 960 ticks of the 48 kHz RTP clock (RFC 7587 4.1), 320 samples at our 16 kHz.
  auto opus = codec("opus");
  EXPECT_EQ(opus->samples_per_frame(20ms), 320u);
  EXPECT_EQ(opus->timestamp_increment(20ms), 960u);
  EXPECT_EQ(opus->ticks_to_samples(960), 320u);
  EXPECT_TRUE(opus->ptime_supported(20ms));
  EXPECT_TRUE(opus->ptime_supported(60ms));
  EXPECT_FALSE(opus->ptime_supported(30ms));
  EXPECT_TRUE(pcmu->ptime_supported(30ms));
  EXPECT_FALSE(pcmu->ptime_supported(5ms));
}

TEST(AudioCodec, ToneSurvivesEveryCodec) {
  for (std::string_view name : supported_audio_codecs()) {
    auto probe = codec(name);
    const auto rate = probe->sample_rate();
    auto heard = round_trip(name, 1000);
    ASSERT_FALSE(heard.empty()) << name;
    EXPECT_GT(tone_energy_ratio(heard, 1000, rate), 0.8) << name;
    EXPECT_LT(tone_energy_ratio(heard, 440, rate), 0.05) << name;
  }
}

TEST(AudioCodec, WidebandCodecsCarryFiveKilohertz) {
  // 5 kHz is above what 8 kHz sampling can represent: only a wideband path delivers it.
  for (std::string_view name : {"G722", "opus"}) {
    auto heard = round_trip(name, 5000);
    EXPECT_GT(tone_energy_ratio(heard, 5000, 16000), 0.5) << name;
  }
}

TEST(AudioCodec, MalformedPayloadsAreErrors) {
  for (std::string_view name : supported_audio_codecs()) {
    auto c = codec(name);
    std::vector<std::int16_t> out;
    auto empty = c->decode({}, out);
    ASSERT_FALSE(empty) << name;
    EXPECT_EQ(empty.error().code, "codec-empty-payload");
    std::vector<std::uint8_t> huge(kMaxCodecPayload + 1, 0x55);
    auto big = c->decode(huge, out);
    ASSERT_FALSE(big) << name;
    EXPECT_EQ(big.error().code, "codec-payload-too-large");
  }
  // RFC 6716 3.2.5: a code-3 packet announcing zero frames is invalid; a code-2 packet needs a
  // frame length byte.
  auto opus = codec("opus");
  std::vector<std::int16_t> out;
  for (std::vector<std::uint8_t> bad : {std::vector<std::uint8_t>{0x03, 0x00}, {0x02}}) {
    auto r = opus->decode(bad, out);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, "codec-bad-payload");
  }
  // Arbitrary bytes: errors or audio, never a crash, never more than 120 ms.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> junk(1 + rng() % 300);
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (opus->decode(junk, out)) {
      EXPECT_LE(out.size(), 1920u);
    }
  }
}

TEST(AudioCodec, EncodeRejectsFramesTheCodecCannotCarry) {
  std::vector<std::int16_t> odd(321, 0), opus_bad(100, 0);
  std::vector<std::uint8_t> payload;
  auto g722 = codec("G722");
  auto r = g722->encode(odd, payload);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec-bad-frame");
  auto opus = codec("opus");
  r = opus->encode(opus_bad, payload);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec-bad-frame");
  r = codec("PCMA")->encode({}, payload);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec-bad-frame");
}

TEST(AudioCodec, ConcealmentContinuesTheSignal) {
  for (std::string_view name : {"PCMU", "opus"}) {
    auto enc = codec(name);
    auto dec = codec(name);
    ASSERT_TRUE(dec->has_plc());
    ToneGenerator tone(1000, enc->sample_rate(), 0.5);
    std::vector<std::int16_t> frame(enc->samples_per_frame(20ms)), out;
    std::vector<std::uint8_t> payload;
    for (int i = 0; i < 10; ++i) {
      tone.fill(frame);
      ASSERT_TRUE(enc->encode(frame, payload));
      ASSERT_TRUE(dec->decode(payload, out));
    }
    ASSERT_TRUE(dec->conceal(frame.size(), out)) << name;
    ASSERT_EQ(out.size(), frame.size());
    EXPECT_GT(tone_energy_ratio(out, 1000, enc->sample_rate()), 0.5) << name;  // not silence
  }
  auto g722 = codec("G722");
  EXPECT_FALSE(g722->has_plc());
  std::vector<std::int16_t> out;
  auto r = g722->conceal(320, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "codec-no-plc");
  auto bad = codec("opus")->conceal(33, out);  // not a multiple of 2.5 ms
  EXPECT_FALSE(bad);
}

TEST(ToneMeter, MeasuringInPiecesAndForgettingGivesTheWholeRecordingsRatio) {
  // Call::meter_tone drops what the meter measured when no WAV is wanted: the ratio must be
  // the one of the whole recording.
  ToneGenerator tone(440, 8000, 0.5), other(1000, 8000, 0.5);
  std::vector<std::int16_t> all(8000);
  tone.fill(std::span(all).first(6000));
  other.fill(std::span(all).subspan(6000));
  const double whole = tone_energy_ratio(all, 440, 8000);
  ToneMeter meter(440, 8000);
  std::vector<std::int16_t> kept;
  double ratio = 0;
  for (std::size_t at = 0; at < all.size(); at += 700) {  // not a multiple of the 160-sample block
    const auto piece = std::span(all).subspan(at, std::min<std::size_t>(700, all.size() - at));
    kept.insert(kept.end(), piece.begin(), piece.end());
    ratio = meter.update(kept);
    const std::size_t done = meter.consumed();
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(done));
    meter.forget(done);
    EXPECT_LT(kept.size(), 160u);  // only the unmeasured tail is kept
  }
  EXPECT_NEAR(ratio, whole, 1e-9);
  EXPECT_GT(whole, 0.6);
  EXPECT_LT(whole, 0.9);
}
