#include "media/audio_codec.h"

#include <array>
#include <string>

#include "core/text.h"
#include "media/g711_codec.h"
#include "media/g722_codec.h"
#include "media/opus_codec.h"

namespace exphone::media {

bool AudioCodec::ptime_supported(std::chrono::milliseconds ptime) const {
  // RFC 3551 4.5: sample-based codecs can use any packet duration; bound it to what a phone sends.
  return ptime.count() >= 10 && ptime.count() <= 120;
}

Status AudioCodec::conceal(std::size_t, std::vector<std::int16_t>& out) {
  out.clear();
  return make_error("codec-no-plc", std::string(name()) + " has no packet loss concealment");
}

namespace {

constexpr std::array<std::string_view, 4> kNames = {"opus", "G722", "PCMU", "PCMA"};

template <class T>
Result<std::unique_ptr<AudioCodec>> up(Result<std::unique_ptr<T>> r) {
  if (!r) return r.error();
  return std::unique_ptr<AudioCodec>(std::move(*r));
}

}  // namespace

std::span<const std::string_view> supported_audio_codecs() { return kNames; }

Result<std::unique_ptr<AudioCodec>> make_audio_codec(std::string_view name, std::uint32_t clock_rate) {
  Result<std::unique_ptr<AudioCodec>> codec = make_error("codec-unknown", "");
  if (text::iequals(name, "PCMU")) {
    codec = up(G711Codec::create(G711::kUlaw));
  } else if (text::iequals(name, "PCMA")) {
    codec = up(G711Codec::create(G711::kAlaw));
  } else if (text::iequals(name, "G722")) {
    codec = up(G722Codec::create());
  } else if (text::iequals(name, "opus")) {
    codec = up(OpusCodec::create());
  } else {
    return make_error("codec-unknown", "no audio codec named '" + std::string(name) + "'");
  }
  if (codec && clock_rate != 0 && clock_rate != (*codec)->rtp_clock_rate()) {
    return make_error("codec-bad-clock-rate",
                      std::string((*codec)->name()) + " has RTP clock rate " +
                          std::to_string((*codec)->rtp_clock_rate()) + ", not " +
                          std::to_string(clock_rate));
  }
  return codec;
}

}  // namespace exphone::media
