#include "media/g711_plc.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace exphone::media {

namespace {

std::int16_t saturate(float v) {
  if (v >= 32767.0f) return 32767;
  if (v <= -32768.0f) return -32768;
  return static_cast<std::int16_t>(v >= 0 ? v + 0.5f : v - 0.5f);
}

}  // namespace

void G711Plc::rx(std::span<std::int16_t> pcm) {
  if (missing_ != 0) {
    // The gap ends: fade the real signal in over a quarter period while the concealment, at the
    // level it had reached, fades out (no click where the two waveforms differ).
    const int overlap = std::min({pitch_ / 4, kOverlapMax, static_cast<int>(pcm.size())});
    for (int i = 0; i < overlap; ++i) {
      const float w = static_cast<float>(i + 1) / static_cast<float>(overlap + 1);
      pcm[static_cast<std::size_t>(i)] =
          saturate(w * pcm[static_cast<std::size_t>(i)] + (1.0f - w) * next_concealed());
    }
    missing_ = 0;
  }
  const auto n = static_cast<std::ptrdiff_t>(pcm.size());
  if (n >= kHistory) {
    std::copy(pcm.end() - kHistory, pcm.end(), history_.begin());
    return;
  }
  std::copy(history_.begin() + n, history_.end(), history_.begin());
  std::copy(pcm.begin(), pcm.end(), history_.end() - n);
}

void G711Plc::start_gap() {
  // Pitch: the lag whose average magnitude difference over the last kCorrelationSpan samples is
  // smallest (the shortest lag on a tie, so that a pure tone repeats its own period).
  const std::int16_t* recent = history_.data() + kHistory - kCorrelationSpan;
  long best = std::numeric_limits<long>::max();
  for (int lag = kPitchMin; lag <= kPitchMax; ++lag) {
    long sum = 0;
    for (int i = 0; i < kCorrelationSpan && sum < best; ++i) sum += std::labs(long{recent[i]} - recent[i - lag]);
    if (sum < best) {
      best = sum;
      pitch_ = lag;
    }
  }
  // The last period, its end blended into the samples one period earlier: what follows those is
  // the period's own start, so repeating it loops without a step.
  const int overlap = std::min(pitch_ / 4, kOverlapMax);
  const std::int16_t* last = history_.data() + kHistory - pitch_;
  const std::int16_t* before = last - pitch_;
  for (int i = 0; i < pitch_; ++i) {
    const int into = i - (pitch_ - overlap);  // >= 0 inside the blend
    if (into < 0) {
      period_[static_cast<std::size_t>(i)] = last[i];
    } else {
      const float w = static_cast<float>(into + 1) / static_cast<float>(overlap + 1);
      period_[static_cast<std::size_t>(i)] = (1.0f - w) * last[i] + w * before[i];
    }
  }
  offset_ = 0;
}

float G711Plc::next_concealed() {
  float gain = 1.0f;
  if (missing_ >= kFullLevel) {
    const std::size_t into = missing_ - kFullLevel;
    gain = into >= kFade ? 0.0f : 1.0f - static_cast<float>(into) / static_cast<float>(kFade);
  }
  const float v = period_[static_cast<std::size_t>(offset_)] * gain;
  offset_ = (offset_ + 1) % pitch_;
  if (missing_ < kFullLevel + kFade) ++missing_;  // stays at the end of the fade: silence
  return v;
}

void G711Plc::fill(std::span<std::int16_t> out) {
  if (out.empty()) return;
  if (missing_ == 0) start_gap();
  for (auto& s : out) s = saturate(next_concealed());
}

}  // namespace exphone::media
