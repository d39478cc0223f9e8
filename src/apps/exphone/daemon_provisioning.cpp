#include "apps/exphone/daemon_provisioning.h"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

namespace exphone::cli {

namespace {

void print_round(const provisioning::ProvisionState& st) {
  std::cout << "provisioning: " << st.state
            << (st.error_code.empty() ? std::string() : " (" + st.error_code + ": " + st.error_message + ")")
            << std::endl;
}

}  // namespace

DaemonProvisioning::DaemonProvisioning(boost::asio::io_context& io, phone::Phone& phone, std::string config_path,
                                       const phone::Config& config, std::shared_ptr<const TrustedClock> clock,
                                       std::function<void(const std::string&)> restart)
    : phone_(phone),
      config_path_(std::move(config_path)),
      rollback_after_s_(config.provisioning.rollback_after_s),
      has_url_(!config.provisioning.url.empty()),
      agent_(io, config_path_, config,
             [clock]() -> std::time_t {
               if (!clock) return 0;
               auto t = clock->verify_time();
               return t ? *t : 0;
             }),
      rollback_timer_(io),
      idle_timer_(io),
      restart_(std::move(restart)) {}

bool DaemonProvisioning::wanted(const std::string& config_path, const phone::Config& config) {
  return !config.provisioning.url.empty() || provisioning::load_state(config_path).pending;
}

void DaemonProvisioning::start(std::function<void()> start_phone) {
  pending_ = provisioning::load_state(config_path_).pending;
  if (pending_ || !has_url_) {
    // This generation is on trial: no new round until it has registered or been rolled back.
    start_phone();
    watch_pending();
    if (has_url_) agent_.start_polling([this](const provisioning::ProvisionState& st) { after_round(st); });
    return;
  }
  agent_.round([this, start_phone](const provisioning::ProvisionState& st) {
    print_round(st);
    if (st.state == "applied") return restart_when_idle("provisioned " + st.generation);
    start_phone();
    agent_.start_polling([this](const provisioning::ProvisionState& s) { after_round(s); });
  });
}

void DaemonProvisioning::after_round(const provisioning::ProvisionState& st) {
  if (st.state != "unchanged") print_round(st);  // a poll that found nothing new says nothing
  if (st.state == "applied") restart_when_idle("provisioned " + st.generation);
}

void DaemonProvisioning::watch_pending() {
  if (!pending_) return;
  if (phone_.accounts().empty()) {  // nothing to prove
    on_registration_change();
    return;
  }
  if (rollback_after_s_ <= 0) return;
  auto st = provisioning::load_state(config_path_);
  std::time_t now = std::time(nullptr);
  std::time_t deadline = st.pending_since + rollback_after_s_;
  // Restarted while on trial: the rest of the time (rounded up: times are whole seconds), but never
  // less than a few seconds to register.
  auto left = std::max<std::time_t>(deadline - now + 1, 5);
  if (deadline - now > rollback_after_s_) left = rollback_after_s_;  // the clock stepped back
  std::cout << "provisioning: " << st.generation << " is on trial: it must register within " << left << " s"
            << std::endl;
  rollback_timer_.expires_after(std::chrono::seconds(left));
  rollback_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || !pending_) return;
    std::string reason = "did not register within " + std::to_string(rollback_after_s_) + " s (" +
                         registration_failures() + ")";
    auto st = provisioning::rollback(config_path_, reason);
    if (!st) {
      std::cout << "provisioning: cannot roll back (" << st.error().code << ": " << st.error().message
                << "); staying on this config" << std::endl;
      return;
    }
    pending_ = false;
    std::cout << "provisioning: rolled-back (" << st->rollback_reason << ")" << std::endl;
    restart_when_idle("rolled back to the last-known-good config");
  });
}

std::string DaemonProvisioning::registration_failures() const {
  std::string out;
  for (const auto& a : phone_.accounts()) {
    const auto& s = a->status();
    if (s.registered) continue;
    if (!out.empty()) out += "; ";
    out += "account " + a->settings().name + ": " + std::string(ua::to_string(s.state));
    if (s.error) out += ", " + s.error->code + ": " + s.error->message;
  }
  return out.empty() ? "registered only now" : out;
}

void DaemonProvisioning::on_registration_change() {
  if (!pending_) return;
  for (const auto& a : phone_.accounts())
    if (!a->status().registered) return;
  pending_ = false;
  rollback_timer_.cancel();
  auto st = provisioning::confirm(config_path_);
  std::cout << "provisioning: " << (st.generation.empty() ? "the config" : st.generation)
            << " registered: confirmed" << std::endl;
}

void DaemonProvisioning::reprovision(std::function<void(std::string)> reply) {
  if (!has_url_) {
    reply(nlohmann::json{{"ok", false},
                         {"error", {{"code", "prov-not-configured"}, {"message", "no [provisioning] url in the running config"}}}}
              .dump() +
          "\n");
    return;
  }
  agent_.round([this, reply](const provisioning::ProvisionState& st) {
    nlohmann::json j = {{"ok", st.state != "failed"}, {"provisioning", nlohmann::json::parse(provisioning::state_json(st))}};
    if (st.state == "failed") j["error"] = {{"code", st.error_code}, {"message", st.error_message}};
    reply(j.dump() + "\n");
    after_round(st);
  });
}

void DaemonProvisioning::restart_when_idle(const std::string& why) {
  if (restarting_) return;
  if (phone_.calls().empty()) {
    restarting_ = true;
    restart_(why);
    return;
  }
  std::cout << "provisioning: restart on the new config once the call(s) end" << std::endl;
  idle_timer_.expires_after(std::chrono::seconds(1));
  idle_timer_.async_wait([this, why](const boost::system::error_code& ec) {
    if (!ec) restart_when_idle(why);
  });
}

}  // namespace exphone::cli
