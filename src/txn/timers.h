// RFC 3261 section 17 timer values (table 4). T1 is configurable: over links whose RTT exceeds
// 500 ms (satellite) a larger T1 avoids spurious retransmissions (section 17.1.1.1 allows it).
#pragma once

#include "core/timer.h"

namespace exphone::txn {

struct TimerConfig {
  Millis t1{500};   // RTT estimate
  Millis t2{4000};  // maximum retransmit interval for non-INVITE requests and INVITE responses
  Millis t4{5000};  // maximum duration a message remains in the network
  // One client transaction's first retransmission interval (Timers A and E start there): T1 as
  // estimated for its peer (txn/rtt_estimates.h); 0 = t1. The timeouts below stay 64 times the
  // configured t1, so that a dead server is declared dead as soon over a slow link as over a fast
  // one; a larger T1 already spaces the retransmissions within that time.
  Millis first_retransmit{0};

  Millis timer_a() const { return first_retransmit.count() > 0 ? first_retransmit : t1; }  // and E

  Millis timer_b() const { return 64 * t1; }   // INVITE transaction timeout
  Millis timer_f() const { return 64 * t1; }   // non-INVITE transaction timeout
  Millis timer_h() const { return 64 * t1; }   // wait time for ACK receipt
  Millis timer_d(bool reliable) const { return reliable ? Millis{0} : std::max(Millis{32000}, 64 * t1); }
  Millis timer_i(bool reliable) const { return reliable ? Millis{0} : t4; }
  Millis timer_j(bool reliable) const { return reliable ? Millis{0} : 64 * t1; }
  Millis timer_k(bool reliable) const { return reliable ? Millis{0} : t4; }
  Millis timer_l() const { return 64 * t1; }   // RFC 6026: Accepted state, server side
  Millis timer_m() const { return 64 * t1; }   // RFC 6026: Accepted state, client side
};

}  // namespace exphone::txn
