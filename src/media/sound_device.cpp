#include "media/sound_device.h"

#include <algorithm>

#ifdef EXPHONE_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

namespace exphone::media {

#ifdef EXPHONE_HAVE_ALSA

namespace {

class AlsaDevice final : public SoundDevice {
 public:
  AlsaDevice(snd_pcm_t* pcm, std::uint32_t rate) : pcm_(pcm) { rate_ = rate; }
  ~AlsaDevice() override { snd_pcm_close(pcm_); }

  bool write(std::span<const std::int16_t> frame) override {
    snd_pcm_sframes_t n = snd_pcm_writei(pcm_, frame.data(), frame.size());
    if (n == -EPIPE || n == -ESTRPIPE) {  // underrun / suspend: recover and try once more
      if (snd_pcm_recover(pcm_, static_cast<int>(n), 1) < 0) return false;
      n = snd_pcm_writei(pcm_, frame.data(), frame.size());
    }
    return n == static_cast<snd_pcm_sframes_t>(frame.size());
  }

  bool read(std::span<std::int16_t> frame) override {
    snd_pcm_sframes_t n = snd_pcm_readi(pcm_, frame.data(), frame.size());
    if (n == -EPIPE || n == -ESTRPIPE) {  // overrun: recover, this frame is silence
      (void)snd_pcm_recover(pcm_, static_cast<int>(n), 1);
      n = 0;
    }
    if (n < 0) n = 0;
    std::fill(frame.begin() + n, frame.end(), std::int16_t{0});
    return n == static_cast<snd_pcm_sframes_t>(frame.size());
  }

 private:
  snd_pcm_t* pcm_;
};

Result<std::unique_ptr<SoundDevice>> open_pcm(const std::string& device, std::uint32_t rate, snd_pcm_stream_t dir) {
  snd_pcm_t* pcm = nullptr;
  int rc = snd_pcm_open(&pcm, device.c_str(), dir, SND_PCM_NONBLOCK);
  if (rc < 0) return make_error("audio-open", "cannot open ALSA device '" + device + "': " + snd_strerror(rc));
  // 16-bit mono, resampled by the plug layer, 100 ms of buffer (latency vs. dropouts)
  rc = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, rate, 1, 100000);
  if (rc < 0) {
    snd_pcm_close(pcm);
    return make_error("audio-config", "ALSA device '" + device + "' refuses 16-bit mono at " + std::to_string(rate) +
                                          " Hz: " + snd_strerror(rc));
  }
  if (dir == SND_PCM_STREAM_CAPTURE) (void)snd_pcm_start(pcm);
  return std::unique_ptr<SoundDevice>(new AlsaDevice(pcm, rate));
}

}  // namespace

bool SoundDevice::available() { return true; }

Result<std::unique_ptr<SoundDevice>> SoundDevice::open_playback(const std::string& device, std::uint32_t rate) {
  return open_pcm(device, rate, SND_PCM_STREAM_PLAYBACK);
}

Result<std::unique_ptr<SoundDevice>> SoundDevice::open_capture(const std::string& device, std::uint32_t rate) {
  return open_pcm(device, rate, SND_PCM_STREAM_CAPTURE);
}

#else

bool SoundDevice::available() { return false; }

Result<std::unique_ptr<SoundDevice>> SoundDevice::open_playback(const std::string& device, std::uint32_t) {
  return make_error("audio-unavailable", "this build has no ALSA support (device '" + device + "')");
}

Result<std::unique_ptr<SoundDevice>> SoundDevice::open_capture(const std::string& device, std::uint32_t) {
  return make_error("audio-unavailable", "this build has no ALSA support (device '" + device + "')");
}

#endif

}  // namespace exphone::media
