// What `exphone run` does with [provisioning] (docs/provisioning.md):
//   - at start-up, after the clock (NTP answers before the first TLS connection), one round; a
//     newly applied bundle restarts the daemon on it before anything registers;
//   - a generation still pending (applied, not yet registered) is confirmed once every account
//     registers, or rolled back to C.lkg after rollback_after_s, and the daemon restarts on it;
//   - every interval_s, and on `exphone ctl reprovision`, a round; a new bundle restarts the daemon
//     once no call is active (a config update never cuts a call).
// "Restart" is the caller's: hang up, unregister, and exec the same command line again, so the new
// config is loaded whole by the same loader as at boot.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "core/trusted_clock.h"
#include "phone/config.h"
#include "phone/phone.h"
#include "provisioning/agent.h"

namespace exphone::cli {

class DaemonProvisioning {
 public:
  DaemonProvisioning(boost::asio::io_context& io, phone::Phone& phone, std::string config_path,
                     const phone::Config& config, std::shared_ptr<const TrustedClock> clock,
                     std::function<void(const std::string& why)> restart);

  // Provisioning configured, or a generation pending from an earlier round.
  static bool wanted(const std::string& config_path, const phone::Config& config);

  // After the clock: the start-up round, then start_phone() unless the daemon restarts instead.
  void start(std::function<void()> start_phone);
  // An account's registration changed: confirms a pending generation once all are registered.
  void on_registration_change();
  // `ctl reprovision`: a round now; reply gets the ctl JSON line.
  void reprovision(std::function<void(std::string)> reply);

 private:
  void after_round(const provisioning::ProvisionState& st);
  void watch_pending();
  void restart_when_idle(const std::string& why);
  std::string registration_failures() const;

  phone::Phone& phone_;
  std::string config_path_;
  int rollback_after_s_;
  bool has_url_;
  provisioning::Agent agent_;
  boost::asio::steady_timer rollback_timer_, idle_timer_;
  std::function<void(const std::string&)> restart_;
  bool pending_ = false, restarting_ = false;
};

}  // namespace exphone::cli
