#include "media/tone.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace exphone::media {

ToneGenerator::ToneGenerator(double frequency_hz, std::uint32_t sample_rate, double amplitude)
    : step_(2 * std::numbers::pi * frequency_hz / sample_rate), amplitude_(amplitude) {}

void ToneGenerator::fill(std::span<std::int16_t> out) {
  for (auto& s : out) {
    s = static_cast<std::int16_t>(std::lround(amplitude_ * 32767.0 * std::sin(phase_)));
    phase_ += step_;
    if (phase_ > 2 * std::numbers::pi) phase_ -= 2 * std::numbers::pi;
  }
}

ToneMeter::ToneMeter(double frequency_hz, std::uint32_t sample_rate)
    : coeff_(2 * std::cos(2 * std::numbers::pi * frequency_hz / sample_rate)),
      rate_(sample_rate),
      block_(std::max<std::size_t>(sample_rate / 50, 1)) {}

double ToneMeter::update(std::span<const std::int16_t> pcm) {
  if (pcm.size() < consumed_) consumed_ = 0, tone_ = total_ = 0;  // a new recording
  for (; consumed_ + block_ <= pcm.size(); consumed_ += block_) {
    double s1 = 0, s2 = 0;
    for (std::int16_t x : pcm.subspan(consumed_, block_)) {
      double s0 = x + coeff_ * s1 - s2;
      s2 = s1;
      s1 = s0;
      total_ += static_cast<double>(x) * x;
    }
    // A pure sine of N samples gives |X|^2 = (A*N/2)^2 and sum x^2 = A^2*N/2: 2|X|^2/N per block
    tone_ += 2 * (s1 * s1 + s2 * s2 - coeff_ * s1 * s2) / static_cast<double>(block_);
  }
  return total_ > 0 ? tone_ / total_ : 0;
}

double tone_energy_ratio(std::span<const std::int16_t> pcm, double frequency_hz, std::uint32_t sample_rate) {
  return ToneMeter(frequency_hz, sample_rate).update(pcm);
}

}  // namespace exphone::media
