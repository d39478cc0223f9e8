// WAV files through libsndfile: announcements and test prompts in, call recordings out.
// Reading accepts exactly what a phone plays: RIFF/WAVE, 16-bit linear PCM, mono, 8 or 16 kHz.
// Anything else is a clear error rather than a guess (convert with sox/ffmpeg beforehand).
// resample_8k_16k converts between the two rates we use, crudely but without aliasing surprises
// for speech (linear interpolation up, two-tap average down); it is not a studio resampler.
//
// File access blocks: call these outside the media loop's hot path (at call setup, at hang-up).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::media {

struct WavAudio {
  std::uint32_t sample_rate = 8000;
  std::vector<std::int16_t> samples;  // mono
};

inline constexpr std::size_t kMaxWavSamples = 16000u * 600u;  // ten minutes at 16 kHz

// Errors: wav-open-failed (missing, unreadable or not a sound file; libsndfile's reason),
// wav-unsupported-format (not WAV, or not 16-bit PCM), wav-not-mono, wav-bad-rate (not 8000 or
// 16000), wav-too-long (more than max_samples), wav-read-failed (short read).
Result<WavAudio> read_wav(const std::string& path, std::size_t max_samples = kMaxWavSamples);

// Writes 16-bit mono PCM WAV. Errors: wav-bad-rate (0), wav-write-failed.
Status write_wav(const std::string& path, std::span<const std::int16_t> samples,
                 std::uint32_t sample_rate);

// 8000 <-> 16000 (and the identity); other pairs give wav-bad-rate.
Result<std::vector<std::int16_t>> resample_8k_16k(std::span<const std::int16_t> in,
                                                  std::uint32_t from, std::uint32_t to);

}  // namespace exphone::media
