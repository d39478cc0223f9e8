#include "media/g711_codec.h"

#include <string>

namespace exphone::media {

Result<std::unique_ptr<G711Codec>> G711Codec::create(G711 law) {
  return std::unique_ptr<G711Codec>(new G711Codec(law));
}

Status G711Codec::encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) {
  if (pcm.empty() || pcm.size() > kMaxCodecPayload) {
    return make_error("codec-bad-frame", std::string(name()) + ": cannot encode a frame of " +
                                             std::to_string(pcm.size()) + " samples");
  }
  g711_encode(law_, pcm, out);  // one octet per sample
  return Ok{};
}

Status G711Codec::decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) {
  if (payload.empty()) return make_error("codec-empty-payload", std::string(name()) + ": empty payload");
  if (payload.size() > kMaxCodecPayload) {
    return make_error("codec-payload-too-large",
                      std::string(name()) + ": payload of " + std::to_string(payload.size()) + " bytes");
  }
  g711_decode(law_, payload, out);
  // Feed the concealer's history; after a concealed gap it also fades the real signal back in.
  plc_.rx(out);
  return Ok{};
}

Status G711Codec::conceal(std::size_t samples, std::vector<std::int16_t>& out) {
  if (samples == 0 || samples > kMaxCodecPayload) {
    return make_error("codec-bad-frame", "cannot conceal " + std::to_string(samples) + " samples");
  }
  out.assign(samples, 0);
  plc_.fill(out);
  return Ok{};
}

}  // namespace exphone::media
