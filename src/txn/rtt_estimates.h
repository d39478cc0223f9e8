// T1 per peer over UDP. RFC 3261 section 17.1.1.1: "T1 is an estimate of the round-trip time
// (RTT)", 500 ms by default, and "MAY be chosen larger" where the RTT is known to be larger: over
// a satellite hop (RTT 600 ms and more) the default sends every request twice. The transaction
// layer measures the RTT to each peer from the first answer to a request that was sent once
// (Karn's rule: the answer to a retransmitted request could belong to either copy), smooths it as
// RFC 6298 section 2 does for TCP (SRTT, RTTVAR; alpha 1/8, beta 1/4), and gives that peer's new
// transactions T1 = SRTT + 4 RTTVAR, never below the configured T1 and never above T2. An answer
// that needed a retransmission keeps the doubled interval for the next request (RFC 6298 section
// 5.5: the backed-off timer stays until a valid sample), so a long RTT is found even though every
// request with the old T1 was retransmitted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "txn/timers.h"

namespace exphone::txn {

class RttEstimates {
 public:
  explicit RttEstimates(std::size_t max_peers = 256) : max_peers_(max_peers) {}
  // The first answer to a request sent once to `peer`, `rtt` after it left.
  void sample(const std::string& peer, Millis rtt);
  // The first answer to a request to `peer` came only after it was retransmitted, with `t1`.
  void backed_off(const std::string& peer, Millis t1);
  // T1 for a new transaction to `peer`; the configured T1 until the peer has answered.
  Millis t1(const std::string& peer, const TimerConfig& config) const;
  std::size_t size() const { return peers_.size(); }

 private:
  struct Estimate {
    double srtt_ms = 0, rttvar_ms = 0;  // 0, 0: no valid sample yet
    double backoff_ms = 0;              // the backed-off T1 waiting for a valid sample
    std::uint64_t used = 0;
  };
  Estimate& entry(const std::string& peer);
  std::size_t max_peers_;
  std::uint64_t clock_ = 0;
  std::map<std::string, Estimate> peers_;
};

}  // namespace exphone::txn
