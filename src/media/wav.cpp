#include "media/wav.h"

#include <sndfile.h>

#include "core/shared_library.h"

#include <memory>

namespace exphone::media {

namespace {

// libsndfile is loaded by the first WAV read or written (core/shared_library.h): a phone that
// neither records nor plays announcements does not map it, nor FLAC, Vorbis, MPEG and the rest.
struct SndFile {
  decltype(&::sf_open) open;
  decltype(&::sf_close) close;
  decltype(&::sf_strerror) strerror;
  decltype(&::sf_readf_short) readf_short;
  decltype(&::sf_writef_short) writef_short;
};

void bind_sndfile(void* h, SndFile& f, std::string& error) {
  bind_symbol(h, "sf_open", f.open, error);
  bind_symbol(h, "sf_close", f.close, error);
  bind_symbol(h, "sf_strerror", f.strerror, error);
  bind_symbol(h, "sf_readf_short", f.readf_short, error);
  bind_symbol(h, "sf_writef_short", f.writef_short, error);
}

LazyLibrary<SndFile> libsndfile("libsndfile.so.1", "libsndfile1", "wav-library-missing", bind_sndfile);

// Only called once read_wav/write_wav have loaded it.
const SndFile& sndfile() { return **libsndfile.get(); }

struct Closer {
  void operator()(SNDFILE* f) const { sndfile().close(f); }
};
using File = std::unique_ptr<SNDFILE, Closer>;
}  // namespace

Result<WavAudio> read_wav(const std::string& path, std::size_t max_samples) {
  if (auto lib = libsndfile.get(); !lib) return lib.error();
  const SndFile& sf = sndfile();
  SF_INFO info{};
  File f(sf.open(path.c_str(), SFM_READ, &info));
  if (!f) return make_error("wav-open-failed", path + ": " + sf.strerror(nullptr));
  if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV ||
      (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16) {
    return make_error("wav-unsupported-format", path + ": not a 16-bit PCM WAV file");
  }
  if (info.channels != 1) {
    return make_error("wav-not-mono", path + ": " + std::to_string(info.channels) + " channels, need mono");
  }
  if (info.samplerate != 8000 && info.samplerate != 16000) {
    return make_error("wav-bad-rate", path + ": " + std::to_string(info.samplerate) +
                                          " Hz, need 8000 or 16000");
  }
  if (info.frames < 0 || static_cast<std::uint64_t>(info.frames) > max_samples) {
    return make_error("wav-too-long", path + ": more than " + std::to_string(max_samples) + " samples");
  }
  WavAudio audio;
  audio.sample_rate = static_cast<std::uint32_t>(info.samplerate);
  audio.samples.resize(static_cast<std::size_t>(info.frames));
  const sf_count_t got = sf.readf_short(f.get(), audio.samples.data(), info.frames);
  if (got != info.frames) {
    return make_error("wav-read-failed", path + ": read " + std::to_string(got) + " of " +
                                             std::to_string(info.frames) + " samples");
  }
  return audio;
}

Status write_wav(const std::string& path, std::span<const std::int16_t> samples,
                 std::uint32_t sample_rate) {
  if (sample_rate == 0 || sample_rate > 192000) return make_error("wav-bad-rate", "sample rate " + std::to_string(sample_rate));
  if (auto lib = libsndfile.get(); !lib) return lib.error();
  const SndFile& sf = sndfile();
  SF_INFO info{};
  info.samplerate = static_cast<int>(sample_rate);
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  File f(sf.open(path.c_str(), SFM_WRITE, &info));
  if (!f) return make_error("wav-write-failed", path + ": " + sf.strerror(nullptr));
  const auto n = static_cast<sf_count_t>(samples.size());
  if (sf.writef_short(f.get(), samples.data(), n) != n) {
    return make_error("wav-write-failed", path + ": " + sf.strerror(f.get()));
  }
  if (sf.close(f.release()) != 0) return make_error("wav-write-failed", path + ": close failed");
  return Ok{};
}

Result<std::vector<std::int16_t>> resample_8k_16k(std::span<const std::int16_t> in,
                                                  std::uint32_t from, std::uint32_t to) {
  std::vector<std::int16_t> out;
  if (from == to && (from == 8000 || from == 16000)) {
    out.assign(in.begin(), in.end());
  } else if (from == 8000 && to == 16000) {
    out.reserve(in.size() * 2);
    for (std::size_t i = 0; i < in.size(); ++i) {
      const int next = i + 1 < in.size() ? in[i + 1] : in[i];
      out.push_back(in[i]);
      out.push_back(static_cast<std::int16_t>((in[i] + next) / 2));
    }
  } else if (from == 16000 && to == 8000) {
    out.reserve(in.size() / 2);
    for (std::size_t i = 0; i + 1 < in.size(); i += 2) {
      out.push_back(static_cast<std::int16_t>((in[i] + in[i + 1]) / 2));
    }
  } else {
    return make_error("wav-bad-rate", "can only convert between 8000 and 16000 Hz, not " +
                                          std::to_string(from) + " -> " + std::to_string(to));
  }
  return out;
}

}  // namespace exphone::media
