#include "media/jitter_buffer.h"

#include <algorithm>
#include <cmath>

namespace exphone::media {

namespace {
constexpr unsigned kLateBeforeResync = 10;
constexpr unsigned kShrinkWindow = 10;
constexpr std::size_t kOthersRemembered = 64;  // pulls (200 ms at 20 ms frames)
}

JitterBuffer::JitterBuffer(JitterBufferConfig config, std::uint32_t clock_rate)
    : config_(config), clock_rate_(clock_rate == 0 ? 8000 : clock_rate), target_(config.initial_delay) {
  config_.max_packets = std::max<std::size_t>(config_.max_packets, 2);
  config_.max_delay = std::max(config_.max_delay, config_.min_delay);
  target_ = std::clamp(config_.initial_delay, config_.min_delay, config_.max_delay);
}

void JitterBuffer::reset() {
  packets_.clear();
  pcm_.clear();
  have_ref_ = false;
  playing_ = false;
  last_sequence_.reset();
  last_duration_ = 0;
  last_transit_.reset();
  jitter_ticks_ = 0;
  late_in_a_row_ = 0;
  stretched_last_ = false;
  window_pulls_ = 0;
  level_min_ = std::chrono::milliseconds::max();
  underrun_ticks_ = 0;
  others_.clear();
  target_ = std::clamp(config_.initial_delay, config_.min_delay, config_.max_delay);
}

std::int64_t JitterBuffer::unwrap(std::uint32_t ts) {
  if (!have_ref_) {
    have_ref_ = true;
    ref_ts_ = ts;
    ref_ext_ = 0;
    return 0;
  }
  // RTP timestamps wrap at 2^32: the nearest unwrapped value to the newest one seen.
  const std::int64_t ext = ref_ext_ + static_cast<std::int32_t>(ts - ref_ts_);
  if (ext > ref_ext_) {
    ref_ext_ = ext;
    ref_ts_ = ts;
  }
  return ext;
}

void JitterBuffer::update_jitter(std::int64_t ts, TimePoint arrival) {
  // RFC 3550 A.8: D = difference of transit times, J += (|D| - J) / 16, in timestamp units.
  if (!last_transit_) epoch_ = arrival;
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(arrival - epoch_).count();
  const std::int64_t transit = us * static_cast<std::int64_t>(clock_rate_) / 1000000 - ts;
  if (last_transit_) {
    const double d = std::abs(static_cast<double>(transit - *last_transit_));
    jitter_ticks_ += (d - jitter_ticks_) / 16.0;
  }
  last_transit_ = transit;
  const auto wanted = config_.frame + std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(3 * jitter_ms())));
  target_ = std::clamp(wanted, config_.min_delay, config_.max_delay);
}

bool JitterBuffer::push(std::uint16_t sequence, std::uint32_t timestamp,
                        std::span<const std::uint8_t> payload, TimePoint arrival) {
  if (payload.empty() || payload.size() > kMaxCodecPayload) return false;
  std::int64_t ts = unwrap(timestamp);
  if (playing_) {
    const bool jump = ts - next_ > clock_rate_ + ms_to_ticks(config_.max_delay);
    if (ts < next_ && ++late_in_a_row_ < kLateBeforeResync && !jump) {
      ++stats_.late;
      update_jitter(ts, arrival);  // late packets are the jitter the target must cover
      return false;
    }
    if (ts < next_ || jump) {  // the peer's timeline moved: start over from this packet
      ++stats_.resyncs;
      reset();
      ts = unwrap(timestamp);
    }
  }
  late_in_a_row_ = 0;
  update_jitter(ts, arrival);
  if (packets_.empty() && !playing_) first_arrival_ = arrival;
  if (packets_.count(ts)) {
    ++stats_.duplicates;
    return false;
  }
  if (packets_.size() >= config_.max_packets) {
    ++stats_.overflows;  // counted as lost too when playout skips its sequence number
    packets_.erase(packets_.begin());
  }
  packets_.emplace(ts, Packet{sequence, {payload.begin(), payload.end()}});
  ++stats_.pushed;
  return true;
}

void JitterBuffer::note_other_payload(std::uint16_t sequence) {
  others_.push_back(sequence);
  if (others_.size() > kOthersRemembered) others_.pop_front();
}

std::chrono::milliseconds JitterBuffer::buffered() const {
  if (packets_.empty()) return std::chrono::milliseconds(0);
  const std::int64_t duration = last_duration_ > 0 ? last_duration_ : ms_to_ticks(config_.frame);
  const std::int64_t from = playing_ ? next_ : packets_.begin()->first;
  const std::int64_t ticks = packets_.rbegin()->first + duration - from;
  return std::chrono::milliseconds(std::max<std::int64_t>(0, ticks) * 1000 / clock_rate_);
}

void JitterBuffer::note_skipped(std::uint16_t sequence) { last_sequence_ = sequence; }

void JitterBuffer::conceal(AudioCodec& codec, std::size_t samples) {
  if (codec.has_plc() && codec.conceal(samples, scratch_) && scratch_.size() == samples) {
    pcm_.insert(pcm_.end(), scratch_.begin(), scratch_.end());
  } else {
    pcm_.insert(pcm_.end(), samples, 0);  // silence
  }
}

void JitterBuffer::pull(TimePoint now, AudioCodec& codec, std::vector<std::int16_t>& out) {
  const std::size_t n = std::max<std::size_t>(codec.samples_per_frame(config_.frame), 1);
  decoded_.clear();
  if (!playing_) {
    if (packets_.empty() || now - first_arrival_ < std::max(config_.initial_delay, target_)) {
      out.assign(n, 0);  // prefilling
      return;
    }
    playing_ = true;
    next_ = packets_.begin()->first;
  }

  // Too much audio held for the current jitter during a whole window of pulls (the minimum level,
  // so neither a reordering hole nor a burst counts): drop the oldest packet to shorten the delay.
  const auto level = buffered();
  level_min_ = std::min(level_min_, level);
  if (++window_pulls_ >= kShrinkWindow) {
    if (packets_.size() > 1 && level_min_ > target_ + 2 * config_.frame) {
      auto it = packets_.begin();
      note_skipped(it->second.sequence);
      packets_.erase(it);
      next_ = packets_.begin()->first;
      ++stats_.dropped_for_delay;
    }
    window_pulls_ = 0;
    level_min_ = std::chrono::milliseconds::max();
  }

  decoded_.clear();
  bool concealed = false;
  // Too little held for the current jitter: play one frame of concealment without consuming
  // (the delay grows by a frame), never twice in a row so real audio keeps flowing.
  if (!packets_.empty() && pcm_.size() < n && !stretched_last_ &&
      level + config_.frame < target_) {
    conceal(codec, n - pcm_.size());
    concealed = true;
    ++stats_.stretched;
    stretched_last_ = true;
  } else {
    stretched_last_ = false;
  }
  while (pcm_.size() < n) {
    const std::size_t need = n - pcm_.size();
    if (packets_.empty()) {
      ++stats_.underruns;  // nothing held: conceal, keep `next` (the delay grows by a frame)
      conceal(codec, need);
      concealed = true;
      underrun_ticks_ += static_cast<std::int64_t>(codec.samples_to_ticks(need));
      break;
    }
    auto it = packets_.begin();
    if (it->first < next_) {  // overlaps audio already played (a packet of odd duration)
      ++stats_.late;
      note_skipped(it->second.sequence);
      packets_.erase(it);
      continue;
    }
    if (it->first > next_ && underrun_ticks_ > 0) {
      // The stream paused (a DTMF event, silence suppression, a hiccup) and the audio already
      // concealed while nothing was held covers (part of) the gap: skip it, do not play it twice.
      const std::int64_t skip = std::min(it->first - next_, underrun_ticks_);
      next_ += skip;
      underrun_ticks_ -= skip;
      continue;
    }
    if (it->first > next_) {  // missing audio before the next held packet: lost
      const std::size_t gap = static_cast<std::size_t>(codec.ticks_to_samples(static_cast<std::uint64_t>(it->first - next_)));
      const std::size_t take = std::min(gap, need);
      if (take == 0) {
        next_ = it->first;  // less than a sample of rounding between the two clocks
        continue;
      }
      conceal(codec, take);
      concealed = true;
      next_ += static_cast<std::int64_t>(codec.samples_to_ticks(take));
      continue;
    }
    // The packet at `next`: decode and play.
    const Packet& p = it->second;
    if (last_sequence_) {
      const auto d = static_cast<std::uint16_t>(p.sequence - *last_sequence_);
      if (d >= 1 && d < 0x8000) {
        // Sequence numbers in between used by other payloads (telephone-events) are not lost.
        std::uint64_t others = 0;
        for (std::uint16_t o : others_) {
          const auto od = static_cast<std::uint16_t>(o - *last_sequence_);
          if (od >= 1 && od < d) ++others;
        }
        stats_.lost += std::max<std::uint64_t>(d - 1u, others) - others;
      }
    }
    underrun_ticks_ = 0;
    last_sequence_ = p.sequence;
    if (codec.decode(p.payload, scratch_) && !scratch_.empty()) {
      pcm_.insert(pcm_.end(), scratch_.begin(), scratch_.end());
      decoded_.insert(decoded_.end(), scratch_.begin(), scratch_.end());
      last_duration_ = static_cast<std::int64_t>(codec.samples_to_ticks(scratch_.size()));
      ++stats_.played;
    } else {
      ++stats_.decode_errors;  // play the packet's expected duration as concealment
      const std::int64_t dur = last_duration_ > 0 ? last_duration_ : ms_to_ticks(config_.frame);
      conceal(codec, static_cast<std::size_t>(codec.ticks_to_samples(static_cast<std::uint64_t>(dur))));
      concealed = true;
      last_duration_ = dur;
    }
    next_ = it->first + std::max<std::int64_t>(last_duration_, 1);
    packets_.erase(it);
  }
  if (concealed) ++stats_.concealed_frames;
  out.assign(pcm_.begin(), pcm_.begin() + static_cast<std::ptrdiff_t>(n));
  pcm_.erase(pcm_.begin(), pcm_.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace exphone::media
