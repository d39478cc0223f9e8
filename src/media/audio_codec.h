// One interface for the audio codecs a call can negotiate, chosen by SDP encoding name
// (RFC 4566 a=rtpmap, RFC 3551 section 6 table 4 for the static ones):
//
//   name   PT   RTP clock  PCM rate  notes
//   PCMU    0     8000       8000    ITU-T G.711 mu-law, RFC 3551 4.5.14; PLC: spandsp (G.711 App. I style)
//   PCMA    8     8000       8000    ITU-T G.711 A-law
//   G722    9     8000      16000    RFC 3551 4.5.2: sampled at 16 kHz, but the RTP clock rate is
//                                    8000 "for historical reasons" -- 20 ms is 320 samples, 160
//                                    octets and a timestamp step of 160. spandsp, 64 kbit/s.
//   opus   dyn   48000      16000    RFC 7587: always rtpmap opus/48000/2, timestamps in 48 kHz
//                                    units whatever the audio bandwidth (20 ms = 960). We encode
//                                    mono and encode/decode at 16 kHz (wideband is what an intercom
//                                    needs; libopus resamples internally). PLC: libopus.
//
// The PCM side of every codec is mono 16-bit at sample_rate(). A codec object holds state (G.722
// ADPCM predictors, Opus, the G.711 concealer) and belongs to one direction of one stream: use one
// instance to encode and another to decode.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace exphone::media {

// The largest payload decode() accepts and encode() produces. An RTP packet in a 1500-byte MTU
// cannot carry more; Opus' own maximum frame is 1275 bytes (RFC 6716 3.2.1).
inline constexpr std::size_t kMaxCodecPayload = 1500;

class AudioCodec {
 public:
  virtual ~AudioCodec() = default;

  virtual std::string_view name() const = 0;           // SDP encoding name, canonical spelling
  virtual std::uint32_t rtp_clock_rate() const = 0;    // a=rtpmap clock rate, RTP timestamp units
  virtual std::uint32_t sample_rate() const = 0;       // PCM rate of encode() input / decode() output
  virtual unsigned rtpmap_channels() const { return 1; }  // opus: 2 (RFC 7587 7), the rest 1
  // RFC 3551 table 4; nullopt for codecs that only have dynamic payload types (opus).
  virtual std::optional<std::uint8_t> static_payload_type() const { return std::nullopt; }
  // Whether frames of this duration can be encoded (opus: 10, 20, 40 or 60 ms; G.711/G.722:
  // 10..120 ms in whole milliseconds).
  virtual bool ptime_supported(std::chrono::milliseconds ptime) const;

  std::size_t samples_per_frame(std::chrono::milliseconds ptime) const {
    return static_cast<std::size_t>(sample_rate()) * static_cast<std::size_t>(ptime.count()) / 1000;
  }
  std::uint32_t timestamp_increment(std::chrono::milliseconds ptime) const {
    return static_cast<std::uint32_t>(rtp_clock_rate() * static_cast<std::uint64_t>(ptime.count()) / 1000);
  }
  // PCM samples <-> RTP timestamp units (G.722: 2 samples per tick, opus at 16 kHz: 1/3).
  std::uint64_t samples_to_ticks(std::uint64_t samples) const {
    return samples * rtp_clock_rate() / sample_rate();
  }
  std::uint64_t ticks_to_samples(std::uint64_t ticks) const {
    return ticks * sample_rate() / rtp_clock_rate();
  }

  // Encodes one frame of samples (a whole frame for a supported ptime) into out, replacing its
  // contents. Errors: codec-bad-frame (frame length the codec cannot encode), codec-encode-failed.
  virtual Status encode(std::span<const std::int16_t> pcm, std::vector<std::uint8_t>& out) = 0;
  // Decodes one RTP payload into out, replacing its contents. Errors: codec-empty-payload,
  // codec-payload-too-large (> kMaxCodecPayload), codec-bad-payload (the codec rejects it).
  virtual Status decode(std::span<const std::uint8_t> payload, std::vector<std::int16_t>& out) = 0;

  // Packet loss concealment: `samples` of synthetic audio for a lost frame, continuing what was
  // decoded before. Codecs without it (has_plc() false) return codec-no-plc and the caller plays
  // silence.
  virtual bool has_plc() const { return false; }
  virtual Status conceal(std::size_t samples, std::vector<std::int16_t>& out);
};

// A new codec for an SDP encoding name (case-insensitive, RFC 4566 6: "encoding names are
// case-insensitive"). The clock rate, when given (non-zero), must match the codec's
// (codec-bad-clock-rate: G722/16000 is a common mistake, RFC 3551 4.5.2). Errors: codec-unknown,
// codec-bad-clock-rate, codec-init-failed.
Result<std::unique_ptr<AudioCodec>> make_audio_codec(std::string_view encoding_name,
                                                     std::uint32_t clock_rate = 0);

// The names make_audio_codec knows, in our order of preference for an offer.
std::span<const std::string_view> supported_audio_codecs();

}  // namespace exphone::media
