// Test signals for a headless phone: a sine tone generator, and a Goertzel detector that tells
// whether a recording contains a given frequency (how tests prove audio really flowed).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

namespace exphone::media {

class ToneGenerator {
 public:
  ToneGenerator(double frequency_hz, std::uint32_t sample_rate, double amplitude = 0.5);
  void fill(std::span<std::int16_t> out);  // continues the phase across calls

 private:
  double step_;
  double phase_ = 0;
  double amplitude_;
};

// Share of the signal's energy at `frequency_hz` (0..1): the Goertzel algorithm over 20 ms blocks,
// block tone powers summed against the total energy. Blocks, not one long window: a playout
// that drops or inserts a frame shifts the tone's phase, which would cancel a long sum.
double tone_energy_ratio(std::span<const std::int16_t> pcm, double frequency_hz, std::uint32_t sample_rate);

// The same ratio kept up to date over a growing recording: each update() reads only the complete
// blocks added since the last one, so a status poll during a long call costs O(new audio).
class ToneMeter {
 public:
  ToneMeter(double frequency_hz, std::uint32_t sample_rate);
  double update(std::span<const std::int16_t> recording);  // the recording so far
  std::uint32_t sample_rate() const { return rate_; }
  // Samples of the recording measured so far; forget(n) after the recording dropped its first n
  // (n <= consumed()): the totals stay, the next update() continues where this one stopped.
  std::size_t consumed() const { return consumed_; }
  void forget(std::size_t n) { consumed_ -= std::min(n, consumed_); }

 private:
  double coeff_;
  std::uint32_t rate_;
  std::size_t block_;
  std::size_t consumed_ = 0;
  double tone_ = 0, total_ = 0;
};

}  // namespace exphone::media
