// Reception statistics for one RTP source (RFC 3550 appendix A): sequence number validation and
// the extended highest sequence number (A.1), packets expected and lost (A.3), the interarrival
// jitter (A.8), and the LSR/DLSR of the last sender report (6.4.1). Pure: arrival times are
// passed in, so the tests drive it with synthetic clocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "media/rtcp.h"

namespace exphone::media {

class RtpSourceStats {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // clock_rate: the payload format's RTP clock (jitter is in its units).
  RtpSourceStats(std::uint32_t ssrc, std::uint32_t clock_rate);

  // A.1 update_seq: false when the packet is not (yet) valid -- the source is still on probation
  // (MIN_SEQUENTIAL packets in sequence), or the sequence number jumped by more than MAX_DROPOUT
  // (the next packet in sequence after the jump restarts the counts, as after a peer restart).
  // Jitter (A.8) is updated for valid packets; the arrival time is converted to RTP units.
  bool on_packet(std::uint16_t seq, std::uint32_t rtp_timestamp, TimePoint arrival);

  // A sender report from this source arrived: remember its NTP middle 32 bits for LSR.
  void on_sender_report(std::uint64_t ntp_timestamp, TimePoint arrival);

  // The report block for our next RR/SR about this source (6.4.1); advances the A.3 interval
  // (expected_prior/received_prior), so call it once per report sent.
  RtcpReportBlock make_report_block(TimePoint now);

  std::uint32_t ssrc() const { return ssrc_; }
  bool valid() const { return started_ && probation_ == 0; }
  std::uint32_t extended_highest_seq() const { return cycles_ + max_seq_; }
  std::uint64_t received() const { return received_; }
  std::uint64_t expected() const;
  std::int64_t cumulative_lost() const;  // may be negative with duplicates (A.3)
  double jitter_ticks() const { return jitter_; }
  std::chrono::microseconds jitter() const;
  std::uint8_t last_fraction_lost() const { return last_fraction_; }

 private:
  void init_seq(std::uint16_t seq);

  std::uint32_t ssrc_;
  std::uint32_t clock_rate_;
  std::uint16_t max_seq_ = 0;
  std::uint32_t cycles_ = 0;       // shifted count of wraps (A.1: cycles << 16)
  std::uint32_t base_seq_ = 0;
  std::uint32_t bad_seq_ = 0;
  std::uint32_t probation_ = 0;
  std::uint64_t received_ = 0;
  std::uint64_t expected_prior_ = 0;
  std::uint64_t received_prior_ = 0;
  double jitter_ = 0;              // A.8, in RTP timestamp units
  std::optional<std::int64_t> last_transit_;
  TimePoint epoch_{};              // arrival times count from here (first packet)
  bool started_ = false;
  std::uint32_t lsr_ = 0;
  TimePoint lsr_arrival_{};
  std::uint8_t last_fraction_ = 0;
};

}  // namespace exphone::media
