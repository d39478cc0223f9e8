// Provisioning in a running phone (docs/provisioning.md): rounds run on a worker thread (libcurl
// blocks) one at a time and report on the event loop; polling every [provisioning] interval_s with
// +-10 % jitter so a fleet of phones powered on together does not poll in step.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "phone/config.h"
#include "provisioning/provision.h"

namespace exphone::provisioning {

class Agent {
 public:
  using Done = std::function<void(const ProvisionState&)>;
  // trusted_now (event-loop thread): the certificate-check time for a round, 0 = system clock.
  Agent(boost::asio::io_context& io, std::string config_path, phone::Config running,
        std::function<std::time_t()> trusted_now);
  ~Agent();  // waits for a round in progress (bounded by timeout_s)
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // A round now; done runs on the event loop. While one runs, done waits for its result.
  void round(Done done);
  // A round every interval_s (none when 0); each result goes to on_result.
  void start_polling(Done on_result);
  bool busy() const { return running_; }

 private:
  void arm_poll();

  boost::asio::io_context& io_;
  std::string config_path_;
  phone::Config running_config_;
  std::function<std::time_t()> trusted_now_;
  boost::asio::steady_timer poll_timer_;
  Done on_poll_;
  std::thread worker_;
  bool running_ = false;
  std::vector<Done> waiting_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::provisioning
