#include "media/g722_codec.h"

#include "media/spandsp_library.h"

#include <string>

namespace exphone::media {

namespace {
constexpr int kBitRate = 64000;  // the rate every SIP peer means by "G722/8000" (mode 1)
}  // namespace

void G722Codec::Deleter::operator()(g722_encode_state_s* s) const { spandsp().g722_encode_free(s); }
void G722Codec::Deleter::operator()(g722_decode_state_s* s) const { spandsp().g722_decode_free(s); }

Result<std::unique_ptr<G722Codec>> G722Codec::create() {
  auto lib = spandsp_library();
  if (!lib) return lib.error();
  // options 0: linear audio at 16 kHz (not G722_SAMPLE_RATE_8000), unpacked 8-bit codewords.
  std::unique_ptr<g722_encode_state_s, Deleter> enc((*lib)->g722_encode_init(nullptr, kBitRate, 0));
  std::unique_ptr<g722_decode_state_s, Deleter> dec((*lib)->g722_decode_init(nullptr, kBitRate, 0));
  if (!enc || !dec) return make_error("codec-init-failed", "spandsp g722 init failed");
  return std::unique_ptr<G722Codec>(new G722Codec(enc.release(), dec.release()));
}

Status G722Codec::encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) {
  if (pcm.empty() || pcm.size() % 2 != 0 || pcm.size() / 2 > kMaxCodecPayload) {
    return make_error("codec-bad-frame", "G722: cannot encode a frame of " +
                                             std::to_string(pcm.size()) +
                                             " samples (needs an even count)");
  }
  out.resize(pcm.size() / 2);
  const int n = spandsp().g722_encode(enc_.get(), out.data(), pcm.data(), static_cast<int>(pcm.size()));
  if (n < 0 || static_cast<std::size_t>(n) > out.size()) {
    return make_error("codec-encode-failed", "G722: spandsp returned " + std::to_string(n));
  }
  out.resize(static_cast<std::size_t>(n));
  return Ok{};
}

Status G722Codec::decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) {
  if (payload.empty()) return make_error("codec-empty-payload", "G722: empty payload");
  if (payload.size() > kMaxCodecPayload) {
    return make_error("codec-payload-too-large",
                      "G722: payload of " + std::to_string(payload.size()) + " bytes");
  }
  // Every octet is a valid pair of sub-band codewords; two samples come out of each.
  out.resize(payload.size() * 2);
  const int n = spandsp().g722_decode(dec_.get(), out.data(), payload.data(), static_cast<int>(payload.size()));
  if (n < 0 || static_cast<std::size_t>(n) > out.size()) {
    return make_error("codec-bad-payload", "G722: spandsp returned " + std::to_string(n));
  }
  out.resize(static_cast<std::size_t>(n));
  return Ok{};
}

}  // namespace exphone::media
