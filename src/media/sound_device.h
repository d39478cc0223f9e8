// A sound card for the phone's speaker and microphone: ALSA playback and capture (the optional
// backend for real hardware, built when the ALSA headers are present — EXPHONE_HAVE_ALSA).
// Both ends are non-blocking and driven by the RTP stream's 20 ms clock: playback writes one
// frame per tick and drops it if the card's buffer is full; capture reads one frame per tick
// and gives silence when the card has not delivered it yet. A slow card costs audio, never
// the event loop.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/result.h"

namespace exphone::media {

class SoundDevice {
 public:
  // Opens `device` ("default", "plughw:1,0", "null", ...) for 16-bit mono at `sample_rate`
  // (through ALSA's plug layer, so any card rate works). Errors: "audio-unavailable" (built
  // without ALSA), "audio-open" (no such device / busy), "audio-config".
  static Result<std::unique_ptr<SoundDevice>> open_playback(const std::string& device, std::uint32_t sample_rate);
  static Result<std::unique_ptr<SoundDevice>> open_capture(const std::string& device, std::uint32_t sample_rate);
  static bool available();  // true when built with ALSA

  virtual ~SoundDevice() = default;
  // Playback: queues one frame; false when it had to be dropped (buffer full or device error).
  virtual bool write(std::span<const std::int16_t> frame) = 0;
  // Capture: fills `frame` with what the card captured, or silence; false when it was silence.
  virtual bool read(std::span<std::int16_t> frame) = 0;
  std::uint32_t sample_rate() const { return rate_; }

 protected:
  std::uint32_t rate_ = 0;
};

}  // namespace exphone::media
