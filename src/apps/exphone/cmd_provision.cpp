// `exphone provision --config C [--json]`: one provisioning round (docs/provisioning.md) with the
// [provisioning] settings of C: fetch the device's bundle over HTTPS (mTLS), validate it in full,
// apply it atomically (C.lkg keeps the last known good config). Exit 0 when the bundle was
// applied or is unchanged (304); otherwise error: <code>: <message> and the running config stays.
#include <iostream>

#include "apps/exphone/commands.h"
#include "phone/config.h"
#include "provisioning/provision.h"

namespace exphone::cli {

namespace {

struct ProvisionOptions {
  std::string config;
  bool json = false;
};

int run_provision(const ProvisionOptions& o) {
  auto config = phone::load_config(o.config);
  if (!config) return report_error(config.error());
  auto st = provisioning::provision_once(o.config, *config);
  if (o.json) print_json(nlohmann::ordered_json::parse(provisioning::state_json(st)));
  if (st.state == "failed") return report_error(make_error(st.error_code, st.error_message));
  if (!o.json)
    std::cout << "provisioning: " << st.state << " (" << st.url << ")"
              << (st.state == "applied" ? ", now " + st.generation : std::string()) << "\n";
  return kExitOk;
}

}  // namespace

void add_provision_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<ProvisionOptions>();
  auto cmd = app.add_subcommand(
      "provision",
      "Fetch this device's config bundle from [provisioning] url (HTTPS, client certificate), validate it and "
      "apply it atomically. Exit 0 when applied or unchanged (304); on failure the config is left as it was.");
  cmd->add_option("--config", o->config, "device configuration (TOML) with a [provisioning] section")->required();
  cmd->add_flag("--json", o->json, "print one JSON object {state, url, last_attempt, last_success, error, ...}");
  cmd->callback([o, &exit_code] { exit_code = run_provision(*o); });
}

}  // namespace exphone::cli
