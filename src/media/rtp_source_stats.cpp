#include "media/rtp_source_stats.h"

#include <algorithm>
#include <cmath>

namespace exphone::media {
namespace {
// RFC 3550 A.1 constants.
constexpr std::uint32_t kMaxDropout = 3000;
constexpr std::uint32_t kMaxMisorder = 100;
constexpr std::uint32_t kMinSequential = 2;
constexpr std::uint32_t kSeqMod = 1u << 16;
}  // namespace

RtpSourceStats::RtpSourceStats(std::uint32_t ssrc, std::uint32_t clock_rate)
    : ssrc_(ssrc), clock_rate_(clock_rate == 0 ? 8000 : clock_rate), probation_(kMinSequential) {}

void RtpSourceStats::init_seq(std::uint16_t seq) {
  base_seq_ = seq;
  max_seq_ = seq;
  bad_seq_ = kSeqMod + 1;  // so seq == bad_seq is false
  cycles_ = 0;
  received_ = 0;
  received_prior_ = 0;
  expected_prior_ = 0;
}

bool RtpSourceStats::on_packet(std::uint16_t seq, std::uint32_t rtp_timestamp, TimePoint arrival) {
  if (!started_) {
    // A.1: a new source starts on probation; max_seq is one before its first packet.
    init_seq(seq);
    max_seq_ = static_cast<std::uint16_t>(seq - 1);
    probation_ = kMinSequential;
    started_ = true;
    epoch_ = arrival;
  }
  const std::uint16_t udelta = static_cast<std::uint16_t>(seq - max_seq_);
  if (probation_ > 0) {
    // Valid once MIN_SEQUENTIAL packets arrived in sequence; the counts start with the last one.
    if (seq == static_cast<std::uint16_t>(max_seq_ + 1)) {
      --probation_;
      max_seq_ = seq;
      if (probation_ != 0) return false;
      init_seq(seq);
    } else {
      probation_ = kMinSequential - 1;
      max_seq_ = seq;
      return false;
    }
  } else if (udelta < kMaxDropout) {
    if (seq < max_seq_) cycles_ += kSeqMod;  // in order, with permissible gap; wrapped
    max_seq_ = seq;
  } else if (udelta <= kSeqMod - kMaxMisorder) {
    // A very large jump. If two sequential packets arrive, accept the latter as a restart
    // (the peer restarted without changing SSRC).
    if (seq == bad_seq_) {
      init_seq(seq);
    } else {
      bad_seq_ = (static_cast<std::uint32_t>(seq) + 1) & (kSeqMod - 1);
      return false;
    }
  }
  // else: duplicate or reordered packet; counted (A.3: duplicates can make the loss negative)
  ++received_;

  // A.8: transit = arrival (RTP units) - RTP timestamp; J += (|D| - J) / 16.
  const auto since = std::chrono::duration_cast<std::chrono::microseconds>(arrival - epoch_).count();
  const std::int64_t arrival_ticks = since * static_cast<std::int64_t>(clock_rate_) / 1000000;
  const std::int64_t transit = arrival_ticks - static_cast<std::int64_t>(rtp_timestamp);
  if (last_transit_) {
    // RTP timestamps wrap at 2^32: compare modulo 2^32 as a signed 32-bit difference.
    const auto d = static_cast<std::int32_t>(static_cast<std::uint32_t>(transit - *last_transit_));
    jitter_ += (std::abs(static_cast<double>(d)) - jitter_) / 16.0;
  }
  last_transit_ = transit;
  return true;
}

void RtpSourceStats::on_sender_report(std::uint64_t ntp, TimePoint arrival) {
  lsr_ = ntp_middle32(ntp);
  lsr_arrival_ = arrival;
}

std::uint64_t RtpSourceStats::expected() const {
  if (received_ == 0) return 0;
  return static_cast<std::uint64_t>(extended_highest_seq()) - base_seq_ + 1;
}

std::int64_t RtpSourceStats::cumulative_lost() const {
  return static_cast<std::int64_t>(expected()) - static_cast<std::int64_t>(received_);
}

std::chrono::microseconds RtpSourceStats::jitter() const {
  return std::chrono::microseconds(static_cast<std::int64_t>(jitter_ * 1e6 / clock_rate_));
}

RtcpReportBlock RtpSourceStats::make_report_block(TimePoint now) {
  RtcpReportBlock b;
  b.ssrc = ssrc_;
  // A.3: fraction lost over the interval since the previous report.
  const std::uint64_t expected_now = expected();
  const std::int64_t expected_interval = static_cast<std::int64_t>(expected_now - expected_prior_);
  const std::int64_t received_interval = static_cast<std::int64_t>(received_ - received_prior_);
  expected_prior_ = expected_now;
  received_prior_ = received_;
  const std::int64_t lost_interval = expected_interval - received_interval;
  last_fraction_ = (expected_interval == 0 || lost_interval <= 0)
                       ? 0
                       : static_cast<std::uint8_t>(std::min<std::int64_t>((lost_interval << 8) / expected_interval, 255));
  b.fraction_lost = last_fraction_;
  b.cumulative_lost = static_cast<std::int32_t>(std::clamp<std::int64_t>(cumulative_lost(), -0x800000, 0x7fffff));
  b.extended_highest_seq = extended_highest_seq();
  b.jitter = static_cast<std::uint32_t>(jitter_);
  if (lsr_ != 0) {
    b.lsr = lsr_;
    const auto delay = std::chrono::duration_cast<std::chrono::microseconds>(now - lsr_arrival_).count();
    b.dlsr = delay <= 0 ? 0 : static_cast<std::uint32_t>(std::min<std::int64_t>((delay << 16) / 1000000, 0xffffffff));
  }
  return b;
}

}  // namespace exphone::media
