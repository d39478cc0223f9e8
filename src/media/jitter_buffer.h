// Adaptive jitter buffer for one audio stream. Packets go in as they arrive (any order); the
// playout clock pulls one frame of PCM every ptime. Encoded payloads are kept and decoded at
// playout, in order, so the codec's state (G.722 predictors, Opus, the concealer's history) sees
// the stream as sent.
//
// The buffer works on the RTP timestamp line: `next` is the timestamp of the next audio to play.
//   - A packet older than `next` (already played or given up) is late: dropped and counted.
//   - A packet already held (same timestamp) is a duplicate: dropped and counted.
//   - When the packet at `next` is missing but a later one is held, the missing audio is lost:
//     concealed by the codec (AudioCodec::conceal) or silence, and the sequence numbers skipped
//     are counted as lost.
//   - When nothing is held at all, that is an underrun: one frame is concealed and `next` does not
//     move, so the playout delay grows by a frame (the buffer adapts upward by itself) -- unless
//     the next packet then shows a timestamp gap (the sender paused: DTMF, silence suppression),
//     which the audio concealed during the underrun covers instead of being concealed twice.
//   - The target delay follows the interarrival jitter (RFC 3550 A.8 estimator): frame + 3 J,
//     clamped to [min_delay, max_delay]. When more than target + 2 frames stayed buffered for a
//     window of 10 pulls, the oldest packet is dropped to bring the delay down; when less than
//     target - 1 frame is, one frame of concealment is played without consuming audio (never in
//     two pulls in a row) to bring it up.
//   - A timestamp jump of more than a second ahead, or ten late packets in a row (the peer
//     restarted its timestamps), resynchronise the buffer to the new stream.
// At most max_packets are held; when full, the oldest is dropped (overflow).
//
// Pure: no clock of its own. Arrival and pull times are arguments, so tests are deterministic.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "media/audio_codec.h"

namespace exphone::media {

struct JitterBufferConfig {
  std::chrono::milliseconds frame{20};          // playout frame (our ptime)
  std::chrono::milliseconds min_delay{20};
  std::chrono::milliseconds max_delay{200};
  std::chrono::milliseconds initial_delay{40};  // buffered before playout starts
  std::size_t max_packets = 64;                 // hard bound on held packets
};

struct JitterBufferStats {
  std::uint64_t pushed = 0;          // accepted into the buffer
  std::uint64_t played = 0;          // packets decoded and played
  std::uint64_t late = 0;            // arrived after their playout time
  std::uint64_t duplicates = 0;
  std::uint64_t lost = 0;            // sequence numbers skipped at playout
  std::uint64_t underruns = 0;       // pulls with nothing buffered
  std::uint64_t concealed_frames = 0;  // pulls that needed concealment or silence
  std::uint64_t dropped_for_delay = 0;  // dropped to shrink the delay
  std::uint64_t stretched = 0;       // frames of concealment inserted to grow the delay
  std::uint64_t overflows = 0;       // dropped because max_packets were held
  std::uint64_t decode_errors = 0;   // payloads the codec rejected (played as concealment)
  std::uint64_t resyncs = 0;
};

class JitterBuffer {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // clock_rate: the RTP clock of the payload format (the codec's rtp_clock_rate()).
  JitterBuffer(JitterBufferConfig config, std::uint32_t clock_rate);

  // Payloads larger than kMaxCodecPayload are refused (false). Returns whether it was kept.
  bool push(std::uint16_t sequence, std::uint32_t timestamp, std::span<const std::uint8_t> payload,
            TimePoint arrival);

  // A packet of another payload type in the same sequence space (RFC 4733 events): its sequence
  // number is not a lost audio packet.
  void note_other_payload(std::uint16_t sequence);

  // Fills `out` with exactly codec.samples_per_frame(frame) samples: decoded audio, concealment,
  // or silence while prefilling.
  void pull(TimePoint now, AudioCodec& codec, std::vector<std::int16_t>& out);

  // The audio decoded from packets during the last pull (no concealment, no silence): the peer's
  // audio in sequence order, whatever the playout did around it.
  std::span<const std::int16_t> last_decoded() const { return decoded_; }

  // Drops everything and starts over with the next packet (new codec, new stream).
  void reset();

  const JitterBufferStats& stats() const { return stats_; }
  std::chrono::milliseconds target_delay() const { return target_; }
  // Audio held (packets not yet played plus decoded samples waiting), on the RTP clock.
  std::chrono::milliseconds buffered() const;
  double jitter_ms() const { return jitter_ticks_ * 1000.0 / clock_rate_; }
  std::size_t size() const { return packets_.size(); }
  bool playing() const { return playing_; }

 private:
  struct Packet {
    std::uint16_t sequence;
    std::vector<std::uint8_t> payload;
  };
  std::int64_t unwrap(std::uint32_t ts);
  void update_jitter(std::int64_t ts, TimePoint arrival);
  void conceal(AudioCodec& codec, std::size_t samples);
  void note_skipped(std::uint16_t sequence);
  std::int64_t ms_to_ticks(std::chrono::milliseconds d) const {
    return static_cast<std::int64_t>(d.count()) * clock_rate_ / 1000;
  }

  JitterBufferConfig config_;
  std::uint32_t clock_rate_;
  std::map<std::int64_t, Packet> packets_;  // by unwrapped timestamp
  std::vector<std::int16_t> pcm_;           // decoded, not yet pulled
  std::vector<std::int16_t> scratch_;
  std::vector<std::int16_t> decoded_;
  bool have_ref_ = false;
  std::uint32_t ref_ts_ = 0;
  std::int64_t ref_ext_ = 0;
  bool playing_ = false;
  TimePoint first_arrival_{};
  std::int64_t next_ = 0;                   // unwrapped timestamp of the next audio to play
  std::optional<std::uint16_t> last_sequence_;  // of the last packet played or skipped
  std::int64_t last_duration_ = 0;          // ticks of the last packet played
  std::optional<std::int64_t> last_transit_;
  TimePoint epoch_{};                       // arrival times count from the first packet
  double jitter_ticks_ = 0;
  std::chrono::milliseconds target_;
  unsigned late_in_a_row_ = 0;
  bool stretched_last_ = false;
  unsigned window_pulls_ = 0;
  std::int64_t underrun_ticks_ = 0;         // concealed while empty, since the last packet played
  std::deque<std::uint16_t> others_;        // recent sequence numbers of other payload types
  std::chrono::milliseconds level_min_ = std::chrono::milliseconds::max();
  JitterBufferStats stats_;
};

}  // namespace exphone::media
