// G.711 packet loss concealment (media/g711_plc.h, pitch waveform substitution in the manner of
// ITU-T G.711 Appendix I): the pitch is found, the gap continues the waveform, fades to silence
// after 60 ms, and the real audio after the gap is faded in without a step.
#include "media/g711_plc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "media/tone.h"

using namespace exphone::media;

namespace {

// 20 ms frames of a tone fed to the concealer; returns the generator for the true continuation.
ToneGenerator feed(G711Plc& plc, double hz, int frames = 5) {
  ToneGenerator tone(hz, 8000, 0.5);
  std::vector<std::int16_t> frame(160);
  for (int i = 0; i < frames; ++i) {
    tone.fill(frame);
    plc.rx(frame);
  }
  return tone;
}

}  // namespace

TEST(G711Plc, FindsThePitchPeriod) {
  G711Plc plc;
  feed(plc, 100);  // 80 samples a period
  std::vector<std::int16_t> out(160);
  plc.fill(out);
  EXPECT_EQ(plc.pitch(), 80);
  G711Plc high;
  feed(high, 400);  // 20 samples: the shortest lag >= 5 ms that fits, two periods
  high.fill(out);
  EXPECT_EQ(high.pitch(), 40);
}

TEST(G711Plc, GapContinuesTheWaveform) {
  G711Plc plc;
  ToneGenerator truth = feed(plc, 100);
  std::vector<std::int16_t> concealed(160), expected(160);
  plc.fill(concealed);
  truth.fill(expected);
  // The first 10 ms are the last period repeated at full level: close to the real continuation
  // (the seam blend touches only the period's last 10 samples).
  for (std::size_t i = 0; i < G711Plc::kFullLevel; ++i) {
    EXPECT_NEAR(concealed[i], expected[i], 16384 * 0.1) << i;
  }
  EXPECT_GT(tone_energy_ratio(concealed, 100, 8000), 0.5);  // 20 ms: the tone, fading
}

TEST(G711Plc, LongGapFadesToSilence) {
  G711Plc plc;
  feed(plc, 300);
  std::vector<std::int16_t> out(G711Plc::kFullLevel + G711Plc::kFade);
  plc.fill(out);
  int peak_start = 0;
  for (std::size_t i = 0; i < G711Plc::kFullLevel; ++i) peak_start = std::max(peak_start, std::abs(int{out[i]}));
  EXPECT_GT(peak_start, 15000);
  std::vector<std::int16_t> later(160);
  plc.fill(later);
  for (auto s : later) EXPECT_EQ(s, 0);
  EXPECT_TRUE(plc.in_gap());
}

TEST(G711Plc, AudioAfterTheGapIsFadedIn) {
  G711Plc plc;  // silence before the gap: the concealment is silence
  std::vector<std::int16_t> gap(160);
  plc.fill(gap);
  std::vector<std::int16_t> back(160, 11000);  // a step to 11000 after the gap
  plc.rx(back);
  EXPECT_FALSE(plc.in_gap());
  // Faded in over a quarter period (the 5 ms lag found in silence: 10 samples), not at once.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(back[static_cast<std::size_t>(i)], 1000 * (i + 1)) << i;
  for (std::size_t i = 10; i < back.size(); ++i) EXPECT_EQ(back[i], 11000) << i;
}

TEST(G711Plc, NoLargeStepWhereTheRealAudioResumes) {
  G711Plc plc;
  ToneGenerator tone = feed(plc, 250);
  std::vector<std::int16_t> gap(150);  // not a whole number of periods: the phases differ
  plc.fill(gap);
  std::vector<std::int16_t> back(160);
  tone.fill(back);
  plc.rx(back);
  // A 250 Hz tone at half scale moves at most ~3200 per sample; a raw switch between the two
  // out-of-phase waveforms could jump by twice the amplitude.
  int step = std::abs(int{back[0]} - int{gap.back()});
  for (std::size_t i = 1; i < back.size(); ++i) step = std::max(step, std::abs(int{back[i]} - int{back[i - 1]}));
  EXPECT_LT(step, 6000);
}

TEST(G711Plc, SilentHistoryConcealsSilence) {
  G711Plc plc;  // nothing received yet
  std::vector<std::int16_t> out(160, 7);
  plc.fill(out);
  for (auto s : out) EXPECT_EQ(s, 0);
}
