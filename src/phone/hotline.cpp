#include "phone/hotline.h"

#include <fstream>
#include <iostream>

#include "phone/phone.h"
#include "sip/uri.h"

namespace exphone::phone {

Hotline::Hotline(Phone& phone, TimerService& timers, EmergencyConfig config)
    : phone_(phone), timers_(timers), config_(std::move(config)) {
  if (!config_.input_file.empty()) {
    // the state at start is not a press: only a transition to "1" is
    std::ifstream in(config_.input_file);
    std::string v;
    input_was_on_ = in && std::getline(in, v) && !v.empty() && v[0] == '1';
    poll_timer_ = timers_.schedule(config_.poll_interval, [this] { poll_input(); });
  }
}

Hotline::~Hotline() {
  if (ring_timer_) timers_.cancel(ring_timer_);
  if (poll_timer_) timers_.cancel(poll_timer_);
}

void Hotline::poll_input() {
  poll_timer_ = 0;
  std::ifstream in(config_.input_file);
  std::string v;
  bool on = in && std::getline(in, v) && !v.empty() && v[0] == '1';
  if (on && !input_was_on_) {
    std::cerr << "emergency input " << config_.input_file << " pressed\n";
    (void)press();
  }
  input_was_on_ = on;
  poll_timer_ = timers_.schedule(config_.poll_interval, [this] { poll_input(); });
}

std::string Hotline::cleartext_variant(const std::string& target) const {
  auto uri = sip::parse_uri(target);
  if (!uri || uri->scheme != sip::Scheme::kSips) return "";
  // sips:user@host[:port][;params] -> sip:user@host[:port];transport=udp (RFC 3261 19.1: same
  // user, host and port; the URI parameters belonged to the TLS hop)
  std::string_view rest = std::string_view(target).substr(5);  // after "sips:"
  return "sip:" + std::string(rest.substr(0, rest.find(';'))) + ";transport=udp";
}

Status Hotline::press() {
  if (status_.active) return make_error("emergency-busy", "an emergency call is already being placed");
  if (config_.targets.empty()) return make_error("emergency-no-target", "no [emergency] targets are configured");
  status_ = HotlineStatus{};
  status_.active = true;
  plan_ = config_.targets;
  if (config_.fallback == "none") plan_.resize(1);
  if (config_.fallback == "cleartext")
    for (const auto& t : config_.targets)
      if (auto c = cleartext_variant(t); !c.empty()) plan_.push_back(c);
  // an emergency call preempts every other call
  (void)phone_.hang_up();
  std::cerr << "EMERGENCY: calling " << plan_.front() << "\n";
  status_.target_index = 0;
  next();
  return Ok{};
}

void Hotline::next() {
  while (status_.target_index < plan_.size()) {
    const std::string& target = plan_[status_.target_index];
    bool cleartext = status_.target_index >= config_.targets.size();
    if (cleartext) {
      status_.cleartext_used = true;
      std::cerr << "WARNING: emergency fallback to CLEARTEXT: calling " << target
                << " over UDP without TLS — the call can be overheard ([emergency] fallback = \"cleartext\")\n";
    }
    auto id = phone_.dial(target, phone_.call_settings());
    if (id) {
      status_.call_id = *id;
      ring_timer_ = timers_.schedule(config_.ring_timeout, [this, call = *id] {
        ring_timer_ = 0;
        if (status_.call_id == call) (void)phone_.hang_up(call);  // CANCEL; call_ended moves on
      });
      return;
    }
    status_.attempts.push_back(target + ": " + id.error().code);
    ++status_.target_index;
  }
  status_.active = false;
  status_.error = make_error("emergency-failed", "no emergency target answered (" + std::to_string(plan_.size()) + " tried)");
  std::cerr << "EMERGENCY: " << status_.error->message << "\n";
}

void Hotline::call_answered(const std::string& call_id) {
  if (!status_.active || call_id != status_.call_id) return;
  if (ring_timer_) timers_.cancel(ring_timer_);
  ring_timer_ = 0;
  status_.attempts.push_back(plan_[status_.target_index] + ": answered");
  std::cerr << "EMERGENCY: " << plan_[status_.target_index] << " answered\n";
}

void Hotline::call_ended(const std::string& call_id, bool answered, const std::string& outcome) {
  if (!status_.active || call_id != status_.call_id) return;
  if (ring_timer_) timers_.cancel(ring_timer_);
  ring_timer_ = 0;
  status_.call_id.clear();
  if (answered) {  // the emergency call took place and is over
    status_.active = false;
    return;
  }
  status_.attempts.push_back(plan_[status_.target_index] + ": " + outcome);
  ++status_.target_index;
  next();
}

}  // namespace exphone::phone
