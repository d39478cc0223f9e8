// TimerService on the Asio event loop.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>

#include "core/timer.h"

namespace exphone::net {

class AsioTimers final : public TimerService {
 public:
  explicit AsioTimers(boost::asio::io_context& io) : io_(io) {}
  ~AsioTimers() override;
  Id schedule(Millis delay, std::function<void()> fn) override;
  void cancel(Id id) override;
  Clock::time_point now() const override { return Clock::now(); }

 private:
  boost::asio::io_context& io_;
  Id last_ = 0;
  std::map<Id, std::unique_ptr<boost::asio::steady_timer>> timers_;
};

}  // namespace exphone::net
