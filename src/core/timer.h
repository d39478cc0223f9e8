// The clock and timers the protocol layers run on. The phone uses the Asio implementation
// (net/asio_timers.h); tests use ManualTimers to move time by hand, so timer behaviour
// (RFC 3261 T1/T2/T4 doubling, Timer B/F expiry) is tested without waiting.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>

namespace exphone {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

class TimerService {
 public:
  using Id = std::uint64_t;
  virtual ~TimerService() = default;
  // Runs fn once after delay on the event loop. A cancelled timer never runs.
  virtual Id schedule(Millis delay, std::function<void()> fn) = 0;
  virtual void cancel(Id id) = 0;
  virtual Clock::time_point now() const = 0;
};

// Virtual time for tests: advance() runs due timers in order.
class ManualTimers final : public TimerService {
 public:
  Id schedule(Millis delay, std::function<void()> fn) override {
    Id id = ++last_;
    timers_.emplace(std::make_pair(now_ + delay, id), std::move(fn));
    return id;
  }
  void cancel(Id id) override {
    for (auto it = timers_.begin(); it != timers_.end(); ++it)
      if (it->first.second == id) {
        timers_.erase(it);
        return;
      }
  }
  Clock::time_point now() const override { return now_; }
  // Moves time forward by d, firing every timer that falls due, in time order.
  void advance(Millis d) {
    Clock::time_point end = now_ + d;
    while (!timers_.empty() && timers_.begin()->first.first <= end) {
      auto it = timers_.begin();
      now_ = it->first.first;
      auto fn = std::move(it->second);
      timers_.erase(it);
      fn();
    }
    now_ = end;
  }
  std::size_t pending() const { return timers_.size(); }

 private:
  Clock::time_point now_{};
  Id last_ = 0;
  std::map<std::pair<Clock::time_point, Id>, std::function<void()>> timers_;
};

}  // namespace exphone
