// WAV in and out through libsndfile, and the clear errors for files a phone cannot play.
#include "media/wav.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "media/tone.h"

using namespace exphone;
using namespace exphone::media;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("exphone-wav-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
};

// Writes a file with libsndfile directly, for formats write_wav refuses to produce.
void write_raw(const std::string& path, int format, int rate, int channels, int frames) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  std::vector<short> data(static_cast<std::size_t>(frames * channels), 100);
  sf_writef_short(f, data.data(), frames);
  sf_close(f);
}

std::string code_of(const std::string& path) {
  auto r = read_wav(path);
  return r ? std::string("ok") : r.error().code;
}

}  // namespace

TEST(Wav, WritesAndReadsBack) {
  TempDir dir;
  for (std::uint32_t rate : {8000u, 16000u}) {
    std::vector<std::int16_t> tone(rate);  // one second
    ToneGenerator(1000, rate).fill(tone);
    const auto path = dir.file(rate == 8000 ? "8k.wav" : "16k.wav");
    ASSERT_TRUE(write_wav(path, tone, rate));
    auto back = read_wav(path);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->sample_rate, rate);
    EXPECT_EQ(back->samples, tone);  // 16-bit PCM is lossless
    EXPECT_GT(tone_energy_ratio(back->samples, 1000, rate), 0.9);
  }
}

TEST(Wav, RefusesWhatAPhoneCannotPlay) {
  TempDir dir;
  EXPECT_EQ(code_of(dir.file("missing.wav")), "wav-open-failed");
  {
    std::ofstream junk(dir.file("junk.wav"), std::ios::binary);
    junk << "RIFF\x10\x00\x00\x00WAVEfmt garbage that is not a header";
  }
  EXPECT_EQ(code_of(dir.file("junk.wav")), "wav-open-failed");
  write_raw(dir.file("stereo.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, 800);
  EXPECT_EQ(code_of(dir.file("stereo.wav")), "wav-not-mono");
  write_raw(dir.file("cd.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 800);
  EXPECT_EQ(code_of(dir.file("cd.wav")), "wav-bad-rate");
  write_raw(dir.file("float.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, 800);
  EXPECT_EQ(code_of(dir.file("float.wav")), "wav-unsupported-format");
  write_raw(dir.file("ulaw.wav"), SF_FORMAT_WAV | SF_FORMAT_ULAW, 8000, 1, 800);
  EXPECT_EQ(code_of(dir.file("ulaw.wav")), "wav-unsupported-format");
  write_raw(dir.file("aiff.aiff"), SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 1, 800);
  EXPECT_EQ(code_of(dir.file("aiff.aiff")), "wav-unsupported-format");
  write_raw(dir.file("long.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000);
  auto r = read_wav(dir.file("long.wav"), 7999);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "wav-too-long");

  // A header promising more samples than the file holds: libsndfile reports the frames that are
  // there or we report a short read; either way no garbage beyond the data.
  write_raw(dir.file("cut.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000);
  fs::resize_file(dir.file("cut.wav"), 44 + 1000);
  auto cut = read_wav(dir.file("cut.wav"));
  if (cut) {
    EXPECT_LE(cut->samples.size(), 500u);
  } else {
    EXPECT_EQ(cut.error().code, "wav-read-failed");
  }

  std::vector<std::int16_t> s(10);
  auto w = write_wav((dir.path / "no/such/dir/x.wav").string(), s, 8000);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, "wav-write-failed");
  EXPECT_FALSE(write_wav(dir.file("zero.wav"), s, 0));
}

TEST(Wav, ResamplesBetweenNarrowAndWideband) {
  std::vector<std::int16_t> tone8(8000);
  ToneGenerator(1000, 8000).fill(tone8);
  auto up = resample_8k_16k(tone8, 8000, 16000);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->size(), 16000u);
  EXPECT_GT(tone_energy_ratio(*up, 1000, 16000), 0.9);
  auto down = resample_8k_16k(*up, 16000, 8000);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->size(), 8000u);
  EXPECT_GT(tone_energy_ratio(*down, 1000, 8000), 0.9);
  auto same = resample_8k_16k(tone8, 8000, 8000);
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, tone8);
  auto bad = resample_8k_16k(tone8, 8000, 44100);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "wav-bad-rate");
}
