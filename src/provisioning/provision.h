// One provisioning round (docs/provisioning.md): fetch the device's bundle, validate it in full,
// apply it atomically; the outcome is kept in C.provisioning.json next to the config (also the
// ETag / Last-Modified validators for the next conditional request) for `ctl status`.
//
// A newly applied generation is *pending* until the phone running it has registered every account
// (confirm); if it cannot within [provisioning] rollback_after_s, C is switched back to C.lkg
// (rollback) and the bundle is remembered as known-bad (its ETag and SHA-256) so the same one is
// never applied again.
#pragma once

#include <ctime>
#include <string>

#include "core/result.h"
#include "phone/config.h"

namespace exphone::provisioning {

struct ProvisionState {
  std::string state = "never";  // never | applied | unchanged | failed | rolled-back
  std::string url;               // expanded URL of the last attempt
  std::time_t last_attempt = 0, last_success = 0;
  std::string error_code, error_message;
  std::string etag, last_modified;
  std::string generation;        // generation C names (provisioned/g...), "" = the factory config
  long http_status = 0;
  // The applied generation has not registered yet (since = when it was applied).
  bool pending = false;
  std::time_t pending_since = 0;
  std::string applied_sha256;    // SHA-256 of the bundle C names
  // The last bundle that was rolled back, and why.
  std::string rejected_sha256, rejected_etag, rollback_reason;
  std::time_t rolled_back_at = 0;
};

std::string state_path(const std::string& config_path);
ProvisionState load_state(const std::string& config_path);
// JSON object {state, url, last_attempt, last_success, error: {code, message} | null, http_status,
// generation, pending: {since} | null, rollback: {at, reason} | null} (times ISO 8601 UTC, null
// when never).
std::string state_json(const ProvisionState& s);

// Fetch + validate + apply with the [provisioning] settings of the running config. Never changes
// the running config on failure. trusted_now: the time certificates are checked at (NTP-derived
// when the system clock cannot be trusted; 0 = the system clock). Returns the new state (also
// written to state_path).
ProvisionState provision_once(const std::string& config_path, const phone::Config& running,
                              std::time_t trusted_now = 0);

// The running config registered: a pending generation becomes the confirmed one.
ProvisionState confirm(const std::string& config_path);

// The pending generation did not work (reason says why): C names C.lkg's config again, the bundle
// is remembered as known-bad. Error prov-rollback when there is no last-known-good or the switch
// failed (nothing changed then).
Result<ProvisionState> rollback(const std::string& config_path, const std::string& reason);

}  // namespace exphone::provisioning
