// /metrics in the Prometheus text exposition format (version 0.0.4), rendered from the same status
// JSON the control socket's `status` returns (apps/exphone/control_server.cpp) plus counters of
// ended calls. Hand-written exposition: prometheus-cpp is not packaged for this build.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace exphone::web {

// Totals over the calls that have ended since the daemon started.
struct CallCounters {
  std::uint64_t calls = 0;
  std::uint64_t secure_calls = 0;
  std::uint64_t srtp_auth_failures = 0;
  std::uint64_t replays_dropped = 0;
  void add(const nlohmann::ordered_json& call_report);
};

struct MetricsInput {
  nlohmann::ordered_json status;             // ControlServer "status" reply
  CallCounters ended;
  std::optional<long> device_cert_days;      // days until the device certificate expires
  std::optional<long> web_cert_days;         // of the web server's certificate
  std::vector<std::pair<std::string, long>> ca_cert_days;  // trusted CAs: (file, days) per certificate
  std::optional<int> audit_errors, audit_warnings;         // `exphone audit` of the running config
};

std::string render_metrics(const MetricsInput& in);

// A Prometheus label value: backslash, double quote and newline escaped.
std::string label_value(const std::string& s);

}  // namespace exphone::web
