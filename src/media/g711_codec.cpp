#include "media/g711_codec.h"

#include "media/spandsp_library.h"

#include <algorithm>
#include <climits>
#include <string>

namespace exphone::media {

struct G711Codec::Plc {
  plc_state_t state;
};

G711Codec::G711Codec(G711 law, std::unique_ptr<Plc> plc)
    : law_(law), plc_(std::move(plc)), recent_(PLC_HISTORY_LEN, 0) {}

void G711Codec::remember(std::span<const std::int16_t> pcm) {
  // recent_ always holds the last PLC_HISTORY_LEN samples handed to plc_rx (zeros at first,
  // like the freshly initialised ring).
  if (pcm.size() >= recent_.size()) {
    std::copy(pcm.end() - static_cast<std::ptrdiff_t>(recent_.size()), pcm.end(), recent_.begin());
    return;
  }
  std::move(recent_.begin() + static_cast<std::ptrdiff_t>(pcm.size()), recent_.end(), recent_.begin());
  std::copy(pcm.begin(), pcm.end(), recent_.end() - static_cast<std::ptrdiff_t>(pcm.size()));
}
G711Codec::~G711Codec() = default;  // plc_state_t owns no memory when initialised in place

Result<std::unique_ptr<G711Codec>> G711Codec::create(G711 law) {
  auto plc = std::make_unique<Plc>();
  auto lib = spandsp_library();
  if (!lib) return lib.error();
  if (!(*lib)->plc_init(&plc->state)) return make_error("codec-init-failed", "spandsp plc_init failed");
  return std::unique_ptr<G711Codec>(new G711Codec(law, std::move(plc)));
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
  spandsp().plc_rx(&plc_->state, out.data(), static_cast<int>(out.size()));
  remember(out);
  return Ok{};
}

Status G711Codec::conceal(std::size_t samples, std::vector<std::int16_t>& out) {
  if (samples == 0 || samples > kMaxCodecPayload) {
    return make_error("codec-bad-frame", "cannot conceal " + std::to_string(samples) + " samples");
  }
  if (plc_->state.missing_samples == 0) {
    // A gap starts: plc_fillin will rotate its history ring with an overlapping memcpy (spandsp
    // 0.0.6 normalise_history, undefined behaviour that AddressSanitizer reports) unless the ring
    // is already in order. Re-feeding the last PLC_HISTORY_LEN samples, which the ring holds
    // anyway, leaves it in order with the same content.
    history_copy_ = recent_;
    spandsp().plc_rx(&plc_->state, history_copy_.data(), static_cast<int>(history_copy_.size()));
  }
  out.assign(samples, 0);
  spandsp().plc_fillin(&plc_->state, out.data(), static_cast<int>(samples));
  return Ok{};
}

}  // namespace exphone::media
