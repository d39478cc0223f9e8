// One UDP flow (src -> dst) of a capture as media: RFC 7983 demux per datagram, RTP statistics
// (RFC 3550 A.3 loss, A.8 jitter), payload entropy, and the RTP packets kept (bounded) for SRTP
// decryption and decoding into a WAV.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "tools/diag/diag.h"

namespace exphone::diag {

// Packets kept over all flows, for decryption and audio (a ten-minute G.711 call is ~6 MB a way).
inline constexpr std::size_t kMaxStoredMediaBytes = 256u * 1024 * 1024;

class MediaAccumulator {
 public:
  MediaAccumulator(Endpoint src, Endpoint dst) : src_(std::move(src)), dst_(std::move(dst)) {}
  void add(double time, std::span<const std::uint8_t> d, std::size_t& stored_bytes);
  // Kind from the demux majority ("rtp" still to be refined into rtp/srtp by the caller), stats.
  StreamReport summary() const;
  // Tries each key on the first packets, keeps the one that authenticates, decrypts them all.
  void decrypt(const std::vector<const SrtpKeyLine*>& keys, StreamReport& s);
  // Decodes the (decrypted) RTP payloads with media::make_audio_codec and writes a WAV.
  using Resolve = std::function<std::pair<std::string, std::uint32_t>(int pt)>;
  void write_audio(const Resolve& resolve, const std::string& path, StreamReport& s);

 private:
  struct Ssrc {
    std::uint32_t ssrc = 0;
    std::uint32_t base_ext = 0, max_ext = 0, cycles = 0;
    std::uint16_t max_seq = 0;
    std::uint64_t received = 0;
    double jitter = 0, last_transit = 0;
    bool have_transit = false;
  };
  struct Stored {
    double time;
    std::vector<std::uint8_t> bytes;
    bool ok = true;  // after decryption: authenticated
  };
  Endpoint src_, dst_;
  std::uint64_t packets_ = 0, bytes_ = 0, rtp_ = 0, rtcp_ = 0, stun_ = 0, dtls_ = 0, other_ = 0;
  double first_ = 0, last_ = 0;
  std::vector<Ssrc> ssrcs_;
  std::vector<int> pts_;
  std::array<std::uint64_t, 256> hist_{};
  std::uint64_t hist_total_ = 0;
  std::vector<Stored> stored_;
  std::vector<ActivityRun> activity_;
  bool decrypted_ = false;
};

// Per-call one-way audio diagnosis and the findings of the verdict table.
void diagnose(Report& r);

}  // namespace exphone::diag
