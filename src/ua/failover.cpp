#include "ua/failover.h"

#include <algorithm>
#include <cstring>

#include "core/random.h"

namespace exphone::ua {

Millis backoff_ceiling(const RetrySettings& s, int consecutive_failures, bool all_flows_failed) {
  // RFC 5626 section 4.5: wait-time = min(max-time, base-time * 2^consecutive-failures)
  std::uint64_t base = all_flows_failed ? s.base_all_failed_s : s.base_some_ok_s;
  std::uint64_t max = s.max_s;
  int n = std::clamp(consecutive_failures, 0, 40);  // 2^40 * any base exceeds every max-time
  std::uint64_t wait = base;
  for (int i = 0; i < n && wait < max; ++i) wait *= 2;
  return Millis{static_cast<std::int64_t>(std::min(wait, max)) * 1000};
}

Millis backoff_wait(const RetrySettings& s, int consecutive_failures, bool all_flows_failed, double unit) {
  // "the actual time to wait is a random number between 50% and 100% of wait-time"
  if (!(unit >= 0.0)) unit = 0.0;  // NaN too
  unit = std::min(unit, 1.0);
  auto ceiling = backoff_ceiling(s, consecutive_failures, all_flows_failed).count();
  return Millis{static_cast<std::int64_t>(static_cast<double>(ceiling) * (0.5 + 0.5 * unit))};
}

Millis startup_delay(Millis max_jitter, double unit) {
  if (!(unit >= 0.0)) unit = 0.0;
  unit = std::min(unit, 1.0);
  if (max_jitter.count() <= 0) return Millis{0};
  return Millis{static_cast<std::int64_t>(static_cast<double>(max_jitter.count()) * unit)};
}

double random_unit() {
  auto b = random_bytes(4);
  std::uint32_t v = 0;
  std::memcpy(&v, b.data(), sizeof v);
  return static_cast<double>(v) / 4294967296.0;
}

bool RegistrarFailover::failed(const std::string& reason) {
  if (!reason.empty()) reason_ = reason;
  failing_back_ = false;
  if (trying_ + 1 < count_) {
    ++trying_;
    return true;
  }
  return false;
}

void RegistrarFailover::lost(const std::string& reason) {
  bound_ = false;
  failing_back_ = false;
  if (!reason.empty()) reason_ = reason;
  trying_ = active_;  // RFC 5626 section 4.5: a new flow to the same registrar first
}

void RegistrarFailover::registered() {
  active_ = trying_;
  bound_ = true;
  failures_ = 0;
  if (active_ == 0) reason_.clear();
}

void RegistrarFailover::begin_failback() {
  if (!probe_due()) return;
  failback_from_ = active_;
  failing_back_ = true;
  trying_ = 0;
}

std::size_t RegistrarFailover::took_binding() {
  failing_back_ = false;
  return failback_from_;
}

}  // namespace exphone::ua
