#include "media/sound_device.h"

#include <algorithm>

#ifdef EXPHONE_HAVE_ALSA
#include <alsa/asoundlib.h>

#include "core/shared_library.h"
#endif

namespace exphone::media {

#ifdef EXPHONE_HAVE_ALSA

namespace {

// libasound is opened by the first call with a sound card (core/shared_library.h): a headless
// phone, the usual daemon, does not map it. Its own functions, typed from its header.
struct Alsa {
  decltype(&::snd_pcm_open) snd_pcm_open;
  decltype(&::snd_pcm_set_params) snd_pcm_set_params;
  decltype(&::snd_pcm_start) snd_pcm_start;
  decltype(&::snd_pcm_writei) snd_pcm_writei;
  decltype(&::snd_pcm_readi) snd_pcm_readi;
  decltype(&::snd_pcm_recover) snd_pcm_recover;
  decltype(&::snd_pcm_close) snd_pcm_close;
  decltype(&::snd_strerror) snd_strerror;
};

void bind(void* h, Alsa& a, std::string& error) {
  bind_symbol(h, "snd_pcm_open", a.snd_pcm_open, error);
  bind_symbol(h, "snd_pcm_set_params", a.snd_pcm_set_params, error);
  bind_symbol(h, "snd_pcm_start", a.snd_pcm_start, error);
  bind_symbol(h, "snd_pcm_writei", a.snd_pcm_writei, error);
  bind_symbol(h, "snd_pcm_readi", a.snd_pcm_readi, error);
  bind_symbol(h, "snd_pcm_recover", a.snd_pcm_recover, error);
  bind_symbol(h, "snd_pcm_close", a.snd_pcm_close, error);
  bind_symbol(h, "snd_strerror", a.snd_strerror, error);
}

LazyLibrary<Alsa> library("libasound.so.2", "libasound2", "audio-library-missing", bind);

class AlsaDevice final : public SoundDevice {
 public:
  AlsaDevice(const Alsa& alsa, snd_pcm_t* pcm, std::uint32_t rate) : a_(alsa), pcm_(pcm) { rate_ = rate; }
  ~AlsaDevice() override { a_.snd_pcm_close(pcm_); }

  bool write(std::span<const std::int16_t> frame) override {
    snd_pcm_sframes_t n = a_.snd_pcm_writei(pcm_, frame.data(), frame.size());
    if (n == -EPIPE || n == -ESTRPIPE) {  // underrun / suspend: recover and try once more
      if (a_.snd_pcm_recover(pcm_, static_cast<int>(n), 1) < 0) return false;
      n = a_.snd_pcm_writei(pcm_, frame.data(), frame.size());
    }
    return n == static_cast<snd_pcm_sframes_t>(frame.size());
  }

  bool read(std::span<std::int16_t> frame) override {
    snd_pcm_sframes_t n = a_.snd_pcm_readi(pcm_, frame.data(), frame.size());
    if (n == -EPIPE || n == -ESTRPIPE) {  // overrun: recover, this frame is silence
      (void)a_.snd_pcm_recover(pcm_, static_cast<int>(n), 1);
      n = 0;
    }
    if (n < 0) n = 0;
    std::fill(frame.begin() + n, frame.end(), std::int16_t{0});
    return n == static_cast<snd_pcm_sframes_t>(frame.size());
  }

 private:
  const Alsa& a_;
  snd_pcm_t* pcm_;
};

Result<std::unique_ptr<SoundDevice>> open_pcm(const std::string& device, std::uint32_t rate, snd_pcm_stream_t dir) {
  auto lib = library.get();
  if (!lib) return lib.error();
  const Alsa& a = **lib;
  snd_pcm_t* pcm = nullptr;
  int rc = a.snd_pcm_open(&pcm, device.c_str(), dir, SND_PCM_NONBLOCK);
  if (rc < 0) return make_error("audio-open", "cannot open ALSA device '" + device + "': " + a.snd_strerror(rc));
  // 16-bit mono, resampled by the plug layer, 100 ms of buffer (latency vs. dropouts)
  rc = a.snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED, 1, rate, 1, 100000);
  if (rc < 0) {
    a.snd_pcm_close(pcm);
    return make_error("audio-config", "ALSA device '" + device + "' refuses 16-bit mono at " + std::to_string(rate) +
                                          " Hz: " + a.snd_strerror(rc));
  }
  if (dir == SND_PCM_STREAM_CAPTURE) (void)a.snd_pcm_start(pcm);
  return std::unique_ptr<SoundDevice>(new AlsaDevice(a, pcm, rate));
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
