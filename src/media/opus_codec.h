// Opus (RFC 6716) behind AudioCodec, with libopus. RTP payload format RFC 7587: the rtpmap is
// always opus/48000/2 and timestamps count 48 kHz ticks (7.1.1, 4.1), whatever the encoder's
// internal bandwidth; one Opus packet per RTP payload. We send mono (sprop-stereo=0 is the
// default) and run the encoder and the decoder at 16 kHz: libopus resamples, a stereo stream from
// the peer is downmixed by the decoder. Frames of 10, 20, 40 or 60 ms. Concealment is libopus'
// PLC (opus_decode with no data).
#pragma once

#include <memory>

#include "media/audio_codec.h"

struct OpusEncoder;
struct OpusDecoder;

namespace exphone::media {

class OpusCodec final : public AudioCodec {
 public:
  static constexpr std::uint32_t kSampleRate = 16000;

  static Result<std::unique_ptr<OpusCodec>> create();

  std::string_view name() const override { return "opus"; }
  std::uint32_t rtp_clock_rate() const override { return 48000; }  // RFC 7587 4.1
  std::uint32_t sample_rate() const override { return kSampleRate; }
  unsigned rtpmap_channels() const override { return 2; }  // RFC 7587 7: "MUST be 2"
  bool ptime_supported(std::chrono::milliseconds ptime) const override;
  Status encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) override;
  Status decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) override;
  bool has_plc() const override { return true; }
  // samples must be a multiple of 2.5 ms (40 at 16 kHz), at most 120 ms.
  Status conceal(std::size_t samples, std::vector<std::int16_t>& out) override;

 private:
  struct Deleter {
    void operator()(OpusEncoder* e) const;
    void operator()(OpusDecoder* d) const;
  };
  OpusCodec(OpusEncoder* enc, OpusDecoder* dec) : enc_(enc), dec_(dec) {}

  std::unique_ptr<OpusEncoder, Deleter> enc_;
  std::unique_ptr<OpusDecoder, Deleter> dec_;
};

}  // namespace exphone::media
