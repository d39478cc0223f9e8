// Registrar failover and re-registration backoff, without I/O (unit-testable).
//
// - The ordered registrar list (RFC 3263 section 4.3: on a timeout or transport failure the
//   client tries the next server): the account's registrar, then its backup_registrars. Within
//   one URI net::locate() already orders the targets by SRV priority and weight (RFC 2782).
// - RFC 5626 section 4.5 flow recovery backoff:
//     wait-time = min(max-time, base-time * 2 ^ consecutive-failures)
//   and the actual wait is a random time between 50 % and 100 % of wait-time, so that hundreds
//   of devices that lost their flows at the same moment (a site-wide outage) do not re-register
//   in the same second. base-time is 30 s when every flow failed, 90 s otherwise; max-time 1800 s.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/timer.h"

namespace exphone::ua {

struct RetrySettings {
  std::uint32_t base_all_failed_s = 30;  // RFC 5626 section 4.5 base-time, every flow failed
  std::uint32_t base_some_ok_s = 90;     // base-time while another flow is still up
  std::uint32_t max_s = 1800;            // max-time
};

// The upper bound: min(max-time, base-time * 2^consecutive_failures). consecutive_failures < 0
// counts as 0; large values saturate at max-time (no overflow).
Millis backoff_ceiling(const RetrySettings& s, int consecutive_failures, bool all_flows_failed);

// The wait actually used: ceiling * (0.5 + 0.5 * unit), unit a random number in [0, 1]
// (clamped), so the result lies in [ceiling / 2, ceiling].
Millis backoff_wait(const RetrySettings& s, int consecutive_failures, bool all_flows_failed, double unit);

// Delay before the first REGISTER after start-up: unit * max_jitter (unit clamped to [0, 1]).
Millis startup_delay(Millis max_jitter, double unit);

// A uniformly distributed number in [0, 1) from the system CSPRNG (core/random.h).
double random_unit();

// The failover state machine over the ordered registrar list (index 0 = the primary).
//   start/restart    -> trying index 0
//   failed(reason)   -> trying the next index; false when the list is exhausted (the caller
//                       then waits backoff_wait(..., consecutive_failures(), ...) and restarts)
//   registered()     -> active = the index tried; failures reset; reason kept for the status
//   probe_due()      -> true while registered with a backup: the primary is probed (failback)
//   failing_back()   -> the probe answered: try the primary again, remembering the backup,
//                       whose binding is removed once the primary took it (took_binding()).
class RegistrarFailover {
 public:
  explicit RegistrarFailover(std::size_t count = 1) : count_(count ? count : 1) {}

  std::size_t trying() const { return trying_; }
  std::size_t active() const { return active_; }  // the registrar of the last binding
  bool has_binding() const { return bound_; }
  std::size_t count() const { return count_; }
  int consecutive_failures() const { return failures_; }
  const std::string& reason() const { return reason_; }  // why the active registrar is not the primary
  bool probe_due() const { return bound_ && active_ != 0; }
  // While failing back: the backup whose binding is to be removed after the primary took over.
  bool failing_back() const { return failing_back_; }

  void restart() { trying_ = 0; }
  bool failed(const std::string& reason);
  void round_failed() { ++failures_; }
  void lost(const std::string& reason);  // the binding's flow died or a refresh failed
  void registered();
  void begin_failback();
  // The primary registered while failing back: returns the backup index whose binding is to be
  // removed (and clears the failback state).
  std::size_t took_binding();

 private:
  std::size_t count_;
  std::size_t trying_ = 0;
  std::size_t active_ = 0;
  std::size_t failback_from_ = 0;
  bool bound_ = false;
  bool failing_back_ = false;
  int failures_ = 0;
  std::string reason_;
};

}  // namespace exphone::ua
