// The ALSA backend without hardware: ALSA's "null" PCM plugin accepts playback and gives capture
// frames, which exercises open, format setup and the non-blocking read/write; a device that does
// not exist gives a clean error, never a crash.
#include "media/sound_device.h"

#include <gtest/gtest.h>

#include <vector>

using exphone::media::SoundDevice;

TEST(SoundDevice, MissingDeviceIsACleanError) {
  auto p = SoundDevice::open_playback("hw:97,0", 8000);
  ASSERT_FALSE(p);
  EXPECT_TRUE(p.error().code == "audio-open" || p.error().code == "audio-unavailable") << p.error().code;
  auto c = SoundDevice::open_capture("no-such-device-exphone", 16000);
  ASSERT_FALSE(c);
  EXPECT_TRUE(c.error().code == "audio-open" || c.error().code == "audio-unavailable") << c.error().code;
}

TEST(SoundDevice, NullDevicePlaysAndCaptures) {
  if (!SoundDevice::available()) GTEST_SKIP() << "built without ALSA";
  auto p = SoundDevice::open_playback("null", 16000);
  ASSERT_TRUE(p) << p.error().message;
  EXPECT_EQ((*p)->sample_rate(), 16000u);
  std::vector<std::int16_t> frame(320, 1000);
  int accepted = 0;
  for (int i = 0; i < 5; ++i) accepted += (*p)->write(frame) ? 1 : 0;
  EXPECT_GE(accepted, 1);  // the null sink swallows audio without blocking
  auto c = SoundDevice::open_capture("null", 8000);
  ASSERT_TRUE(c) << c.error().message;
  std::vector<std::int16_t> in(160, 123);
  for (int i = 0; i < 5; ++i) (void)(*c)->read(in);  // non-blocking: returns at once, never waits
  EXPECT_EQ(in.size(), 160u);
}
