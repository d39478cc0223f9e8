// G.711 (PCMU, PCMA) behind AudioCodec: the tables of g711.h, and packet loss concealment by
// pitch waveform substitution (g711_plc.h, in the manner of ITU-T G.711 Appendix I).
#pragma once

#include <memory>

#include "media/audio_codec.h"
#include "media/g711.h"
#include "media/g711_plc.h"

namespace exphone::media {

class G711Codec final : public AudioCodec {
 public:
  static Result<std::unique_ptr<G711Codec>> create(G711 law);

  std::string_view name() const override { return law_ == G711::kUlaw ? "PCMU" : "PCMA"; }
  std::uint32_t rtp_clock_rate() const override { return 8000; }
  std::uint32_t sample_rate() const override { return 8000; }
  std::optional<std::uint8_t> static_payload_type() const override {
    return law_ == G711::kUlaw ? 0 : 8;  // RFC 3551 table 4
  }
  Status encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) override;
  Status decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) override;
  bool has_plc() const override { return true; }
  Status conceal(std::size_t samples, std::vector<std::int16_t>& out) override;

 private:
  explicit G711Codec(G711 law) : law_(law) {}

  G711 law_;
  G711Plc plc_;
};

}  // namespace exphone::media
