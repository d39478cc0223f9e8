// Packet loss concealment for G.711 by pitch waveform substitution, in the manner of ITU-T G.711
// Appendix I: the pitch period of the last decoded audio is found (AMDF over 20 ms), that period
// is repeated through the gap (its end blended into the signal one period earlier so that the
// repetition has no seam), at full level for 10 ms and then fading to silence over 50 ms; the
// first real audio after the gap is cross-faded in. Plain arithmetic on a 280-sample history:
// a G.711 call needs no library for it (spandsp, with the image libraries it pulls in, is only
// loaded for G.722).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace exphone::media {

class G711Plc {
 public:
  static constexpr int kPitchMin = 40;                        // 5 ms at 8 kHz: 200 Hz
  static constexpr int kPitchMax = 120;                       // 15 ms: 66.7 Hz
  static constexpr int kCorrelationSpan = 160;                // 20 ms compared for the pitch
  static constexpr int kHistory = kCorrelationSpan + kPitchMax;
  static constexpr int kOverlapMax = kPitchMin / 4;           // cross-fades: a quarter period, <= 10
  static constexpr std::size_t kFullLevel = 80;               // 10 ms repeated at full level
  static constexpr std::size_t kFade = 400;                   // then 50 ms down to silence

  // Decoded audio: kept as history; after a concealed gap its start is cross-faded with the
  // continued concealment (in place).
  void rx(std::span<std::int16_t> pcm);
  // Audio for a gap of out.size() samples.
  void fill(std::span<std::int16_t> out);
  bool in_gap() const { return missing_ != 0; }
  int pitch() const { return pitch_; }

 private:
  void start_gap();
  float next_concealed();

  std::array<std::int16_t, kHistory> history_{};  // the last kHistory samples, oldest first
  std::array<float, kPitchMax> period_{};         // one pitch period to repeat
  int pitch_ = kPitchMin;
  int offset_ = 0;                                // next sample of period_
  std::size_t missing_ = 0;                       // samples concealed in this gap so far
};

}  // namespace exphone::media
