#include "provisioning/agent.h"

#include <boost/asio/post.hpp>
#include <chrono>

#include "ua/failover.h"  // random_unit: the CSPRNG in [0, 1)

namespace exphone::provisioning {

Agent::Agent(boost::asio::io_context& io, std::string config_path, phone::Config running,
             std::function<std::time_t()> trusted_now)
    : io_(io),
      config_path_(std::move(config_path)),
      running_config_(std::move(running)),
      trusted_now_(std::move(trusted_now)),
      poll_timer_(io) {}

Agent::~Agent() {
  *alive_ = false;
  poll_timer_.cancel();
  if (worker_.joinable()) worker_.join();
}

void Agent::round(Done done) {
  if (done) waiting_.push_back(std::move(done));
  if (running_) return;
  running_ = true;
  if (worker_.joinable()) worker_.join();  // the previous round's thread has posted and ended
  std::time_t now = trusted_now_ ? trusted_now_() : 0;
  std::weak_ptr<bool> alive = alive_;
  worker_ = std::thread([this, alive, now] {
    ProvisionState st = provision_once(config_path_, running_config_, now);
    boost::asio::post(io_, [this, alive, st] {
      if (alive.expired()) return;
      running_ = false;
      auto waiting = std::move(waiting_);
      waiting_.clear();
      for (auto& d : waiting) d(st);
    });
  });
}

void Agent::start_polling(Done on_result) {
  on_poll_ = std::move(on_result);
  arm_poll();
}

void Agent::arm_poll() {
  int interval = running_config_.provisioning.interval_s;
  if (interval <= 0) return;
  // +-10 %: 500 phones rebooted by one power cut spread their polls (and the server's load).
  auto ms = static_cast<std::int64_t>(interval) * 1000;
  auto jitter = static_cast<std::int64_t>((ua::random_unit() * 0.2 - 0.1) * static_cast<double>(ms));
  poll_timer_.expires_after(std::chrono::milliseconds(ms + jitter));
  std::weak_ptr<bool> alive = alive_;
  poll_timer_.async_wait([this, alive](const boost::system::error_code& ec) {
    if (ec || alive.expired()) return;
    round([this](const ProvisionState& st) {
      if (on_poll_) on_poll_(st);
      arm_poll();
    });
  });
}

}  // namespace exphone::provisioning
