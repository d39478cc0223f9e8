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
  std::vector<std::int16_t> concealed(80), expected(80);
  plc.fill(concealed);
  truth.fill(expected);
  // The first 10 ms are the last period repeated at full level: close to the real continuation
  // (the seam blend touches only the period's last 10 samples).
  for (std::size_t i = 0; i < concealed.size(); ++i) {
    EXPECT_NEAR(concealed[i], expected[i], 16384 * 0.1) << i;
  }
  EXPECT_GT(tone_energy_ratio(concealed, 100, 8000), 0.5);
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
  G711Plc plc;
  ToneGenerator tone = feed(plc, 250);
  std::vector<std::int16_t> gap(160);
  plc.fill(gap);
  std::vector<std::int16_t> back(160);
  tone.fill(back);
  const std::int16_t first_real = back[0];
  plc.rx(back);
  EXPECT_FALSE(plc.in_gap());
  // The first sample is mostly the concealment, not the real signal's value at once...
  EXPECT_NE(back[0], first_real);
  // ...and no step larger than a 250 Hz tone at this level can make between samples plus the
  // blend's share (a raw switch between two unrelated waveforms can jump by up to 32768).
  int step = std::abs(int{back[0]} - int{gap.back()});
  for (std::size_t i = 1; i < back.size(); ++i) step = std::max(step, std::abs(int{back[i]} - int{back[i - 1]}));
  EXPECT_LT(step, 8000);
}

TEST(G711Plc, SilentHistoryConcealsSilence) {
  G711Plc plc;  // nothing received yet
  std::vector<std::int16_t> out(160, 7);
  plc.fill(out);
  for (auto s : out) EXPECT_EQ(s, 0);
}
