// The emergency hotline (issue "Intercom and emergency duties"): a button press — `exphone ctl
// press emergency`, or a configured input such as a GPIO value file going to "1" — dials the
// emergency targets in order until one answers. An emergency call preempts every other call.
//
// Fallback when a target fails ([emergency] fallback):
//   "next-target" (default) walk the list; "none" stop after the first target;
//   "cleartext" after every target failed, try each sips:/TLS target once more as sip: over UDP —
//   logged every time, and flagged by `exphone audit`: it trades secrecy for reaching someone.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/timer.h"

namespace exphone::phone {

class Phone;

struct EmergencyConfig {
  std::vector<std::string> targets;  // dialed in order (PBX numbers/URIs or peer-to-peer URIs)
  std::string fallback = "next-target";
  std::chrono::milliseconds ring_timeout{20000};  // per target, then CANCEL and the next one
  std::string input_file;            // e.g. /sys/class/gpio/gpio17/value; "" = ctl only
  std::chrono::milliseconds poll_interval{100};
};

struct HotlineStatus {
  bool active = false;          // walking the targets or in the emergency call
  std::string call_id;          // the current emergency call
  std::size_t target_index = 0;
  std::vector<std::string> attempts;  // "target: outcome" per attempt, in order
  bool cleartext_used = false;
  std::optional<Error> error;   // every target failed
};

class Hotline {
 public:
  Hotline(Phone& phone, TimerService& timers, EmergencyConfig config);
  ~Hotline();

  // The button. Ignored while an emergency call is already being placed or up.
  Status press();
  // Called by the phone core when a call ends (the emergency call or an attempt).
  void call_ended(const std::string& call_id, bool answered, const std::string& outcome);
  void call_answered(const std::string& call_id);

  const HotlineStatus& status() const { return status_; }
  bool is_emergency(const std::string& call_id) const { return status_.active && call_id == status_.call_id; }
  const EmergencyConfig& config() const { return config_; }

 private:
  void next();
  void poll_input();
  std::string cleartext_variant(const std::string& target) const;

  Phone& phone_;
  TimerService& timers_;
  EmergencyConfig config_;
  HotlineStatus status_;
  std::vector<std::string> plan_;  // the targets to try, cleartext variants appended if allowed
  TimerService::Id ring_timer_ = 0;
  TimerService::Id poll_timer_ = 0;
  bool input_was_on_ = false;
};

}  // namespace exphone::phone
