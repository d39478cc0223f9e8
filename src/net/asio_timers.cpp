#include "net/asio_timers.h"

namespace exphone::net {

AsioTimers::~AsioTimers() {
  for (auto& [id, t] : timers_) t->cancel();
}

TimerService::Id AsioTimers::schedule(Millis delay, std::function<void()> fn) {
  Id id = ++last_;
  auto timer = std::make_unique<boost::asio::steady_timer>(io_, delay);
  timer->async_wait([this, id, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: the entry is already gone (and `this` may be too)
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    auto keep = std::move(it->second);  // keep the timer object alive while fn runs
    timers_.erase(it);
    fn();
  });
  timers_.emplace(id, std::move(timer));
  return id;
}

void AsioTimers::cancel(Id id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  it->second->cancel();
  timers_.erase(it);
}

}  // namespace exphone::net
