#include "media/opus_codec.h"

#include <opus.h>

#include <string>

#include "core/shared_library.h"

namespace exphone::media {

namespace {

// libopus is opened by the first Opus call (core/shared_library.h): a phone that is idle or on
// G.711/G.722 does not map it. Its own functions, typed from its header.
struct Opus {
  decltype(&::opus_encoder_create) opus_encoder_create;
  decltype(&::opus_encoder_destroy) opus_encoder_destroy;
  decltype(&::opus_encode) opus_encode;
  decltype(&::opus_decoder_create) opus_decoder_create;
  decltype(&::opus_decoder_destroy) opus_decoder_destroy;
  decltype(&::opus_decode) opus_decode;
  decltype(&::opus_strerror) opus_strerror;
};

void bind(void* h, Opus& o, std::string& error) {
  bind_symbol(h, "opus_encoder_create", o.opus_encoder_create, error);
  bind_symbol(h, "opus_encoder_destroy", o.opus_encoder_destroy, error);
  bind_symbol(h, "opus_encode", o.opus_encode, error);
  bind_symbol(h, "opus_decoder_create", o.opus_decoder_create, error);
  bind_symbol(h, "opus_decoder_destroy", o.opus_decoder_destroy, error);
  bind_symbol(h, "opus_decode", o.opus_decode, error);
  bind_symbol(h, "opus_strerror", o.opus_strerror, error);
}

LazyLibrary<Opus> library("libopus.so.0", "libopus0", "codec-library-missing", bind);

// After create() succeeded.
const Opus& opus() { return **library.get(); }

// RFC 6716 2.1.4: 120 ms is the longest packet an Opus decoder must handle.
constexpr int kMaxDecodeSamples = static_cast<int>(OpusCodec::kSampleRate) * 120 / 1000;
constexpr std::size_t kPlcQuantum = OpusCodec::kSampleRate / 400;  // 2.5 ms

bool valid_frame(std::size_t samples) {
  // RFC 6716 2.1.4 frame sizes 2.5, 5, 10, 20, 40, 60 ms.
  for (std::size_t tenth_ms : {25u, 50u, 100u, 200u, 400u, 600u}) {
    if (samples == OpusCodec::kSampleRate * tenth_ms / 10000) return true;
  }
  return false;
}

}  // namespace

void OpusCodec::Deleter::operator()(OpusEncoder* e) const { opus().opus_encoder_destroy(e); }
void OpusCodec::Deleter::operator()(OpusDecoder* d) const { opus().opus_decoder_destroy(d); }

Result<std::unique_ptr<OpusCodec>> OpusCodec::create() {
  auto lib = library.get();
  if (!lib) return lib.error();
  int err = OPUS_OK;
  std::unique_ptr<OpusEncoder, Deleter> enc(
      opus().opus_encoder_create(static_cast<opus_int32>(kSampleRate), 1, OPUS_APPLICATION_VOIP, &err));
  if (!enc || err != OPUS_OK) {
    return make_error("codec-init-failed", std::string("opus encoder: ") + opus().opus_strerror(err));
  }
  std::unique_ptr<OpusDecoder, Deleter> dec(
      opus().opus_decoder_create(static_cast<opus_int32>(kSampleRate), 1, &err));
  if (!dec || err != OPUS_OK) {
    return make_error("codec-init-failed", std::string("opus decoder: ") + opus().opus_strerror(err));
  }
  return std::unique_ptr<OpusCodec>(new OpusCodec(enc.release(), dec.release()));
}

bool OpusCodec::ptime_supported(std::chrono::milliseconds ptime) const {
  const auto ms = ptime.count();
  return ms == 10 || ms == 20 || ms == 40 || ms == 60;
}

Status OpusCodec::encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) {
  if (!valid_frame(pcm.size())) {
    return make_error("codec-bad-frame", "opus: " + std::to_string(pcm.size()) +
                                             " samples at 16 kHz is not an Opus frame size");
  }
  out.resize(kMaxCodecPayload);
  const opus_int32 n = opus().opus_encode(enc_.get(), pcm.data(), static_cast<int>(pcm.size()), out.data(),
                                   static_cast<opus_int32>(out.size()));
  if (n < 0) return make_error("codec-encode-failed", std::string("opus: ") + opus().opus_strerror(n));
  out.resize(static_cast<std::size_t>(n));
  return Ok{};
}

Status OpusCodec::decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) {
  // RFC 7587 4.2 allows no empty payload; opus_decode would take a null/empty one as a loss.
  if (payload.empty()) return make_error("codec-empty-payload", "opus: empty payload");
  if (payload.size() > kMaxCodecPayload) {
    return make_error("codec-payload-too-large",
                      "opus: payload of " + std::to_string(payload.size()) + " bytes");
  }
  out.resize(static_cast<std::size_t>(kMaxDecodeSamples));
  const int n = opus().opus_decode(dec_.get(), payload.data(), static_cast<opus_int32>(payload.size()),
                            out.data(), kMaxDecodeSamples, 0);
  if (n < 0) {
    out.clear();
    return make_error("codec-bad-payload", std::string("opus: ") + opus().opus_strerror(n));
  }
  out.resize(static_cast<std::size_t>(n));
  return Ok{};
}

Status OpusCodec::conceal(std::size_t samples, std::vector<std::int16_t>& out) {
  if (samples == 0 || samples % kPlcQuantum != 0 ||
      samples > static_cast<std::size_t>(kMaxDecodeSamples)) {
    return make_error("codec-bad-frame", "opus: cannot conceal " + std::to_string(samples) +
                                             " samples (a multiple of 2.5 ms up to 120 ms)");
  }
  out.resize(samples);
  const int n = opus().opus_decode(dec_.get(), nullptr, 0, out.data(), static_cast<int>(samples), 0);
  if (n < 0) {
    out.clear();
    return make_error("codec-bad-payload", std::string("opus PLC: ") + opus().opus_strerror(n));
  }
  out.resize(static_cast<std::size_t>(n));
  return Ok{};
}

}  // namespace exphone::media
