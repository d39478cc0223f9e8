#include "core/trusted_clock.h"

#include <array>

#ifndef EXPHONE_BUILD_EPOCH
#error "EXPHONE_BUILD_EPOCH must be defined by the build (src/core/CMakeLists.txt)"
#endif

namespace exphone {

std::time_t build_time() { return static_cast<std::time_t>(EXPHONE_BUILD_EPOCH); }

bool TrustedClock::system_plausible() const {
  return std::chrono::system_clock::to_time_t(system_now()) >= build_time();
}

std::chrono::system_clock::time_point TrustedClock::now() const {
  auto t = system_now();
  if (sync_) t += std::chrono::duration_cast<std::chrono::system_clock::duration>(sync_->offset);
  return t;
}

std::optional<std::time_t> TrustedClock::verify_time() const {
  if (!sync_) return std::nullopt;
  return std::chrono::system_clock::to_time_t(now());
}

std::string TrustedClock::source() const { return sync_ ? "ntp " + sync_->server : "system"; }

std::string format_utc(std::time_t t) {
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return std::to_string(static_cast<long long>(t));
  std::array<char, 32> buf{};
  std::size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf.data(), n);
}

}  // namespace exphone
