// One provisioning round (docs/provisioning.md): fetch the device's bundle, validate it in full,
// apply it atomically; the outcome is kept in C.provisioning.json next to the config (also the
// ETag / Last-Modified validators for the next conditional request) for `ctl status`.
#pragma once

#include <ctime>
#include <string>

#include "core/result.h"
#include "phone/config.h"

namespace exphone::provisioning {

struct ProvisionState {
  std::string state = "never";  // never | applied | unchanged | failed
  std::string url;               // expanded URL of the last attempt
  std::time_t last_attempt = 0, last_success = 0;
  std::string error_code, error_message;
  std::string etag, last_modified;
  std::string generation;        // applied generation (provisioned/g...)
  long http_status = 0;
};

std::string state_path(const std::string& config_path);
ProvisionState load_state(const std::string& config_path);
// JSON object {state, url, last_attempt, last_success, error: {code, message} | null, http_status,
// generation} (times ISO 8601 UTC, null when never).
std::string state_json(const ProvisionState& s);

// Fetch + validate + apply with the [provisioning] settings of the running config. Never changes
// the running config on failure. Returns the new state (also written to state_path).
ProvisionState provision_once(const std::string& config_path, const phone::Config& running);

}  // namespace exphone::provisioning
