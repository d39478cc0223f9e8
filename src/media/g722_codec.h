// G.722 (ITU-T G.722, 64 kbit/s sub-band ADPCM) behind AudioCodec, with spandsp's bit-exact
// implementation. RFC 3551 4.5.2: 16 kHz audio, RTP clock rate 8000, one octet per two samples,
// so an octet is one timestamp tick. No concealment: a lost frame is silence.
#pragma once

#include <memory>

#include "media/audio_codec.h"

struct g722_encode_state_s;
struct g722_decode_state_s;

namespace exphone::media {

class G722Codec final : public AudioCodec {
 public:
  static Result<std::unique_ptr<G722Codec>> create();

  std::string_view name() const override { return "G722"; }
  std::uint32_t rtp_clock_rate() const override { return 8000; }
  std::uint32_t sample_rate() const override { return 16000; }
  std::optional<std::uint8_t> static_payload_type() const override { return 9; }
  // Two samples per octet: the frame must have an even number of samples.
  Status encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) override;
  Status decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) override;

 private:
  struct Deleter {
    void operator()(g722_encode_state_s* s) const;
    void operator()(g722_decode_state_s* s) const;
  };
  G722Codec(g722_encode_state_s* enc, g722_decode_state_s* dec) : enc_(enc), dec_(dec) {}

  std::unique_ptr<g722_encode_state_s, Deleter> enc_;
  std::unique_ptr<g722_decode_state_s, Deleter> dec_;
};

}  // namespace exphone::media
