// `exphone config check --config FILE [--json]`: load the device config with the same loader
// `exphone run` uses (syntax, unknown keys, types, ranges, URIs; errors with FILE:LINE) and
// report what it would do. Files the config names (CA, certificate, key) that do not exist are
// warnings, not errors: a freshly installed example config names files the integrator has yet
// to copy onto the device, and `run` reports the exact TLS failure when they are still missing.
#include <filesystem>
#include <iostream>
#include <system_error>

#include "apps/exphone/commands.h"
#include "phone/config.h"
#include "ua/registration.h"

namespace exphone::cli {

namespace {

struct ConfigCheckOptions {
  std::string config;
  bool json = false;
};

// "tls.ca_files: /etc/exphone/ca.pem does not exist" for every named file that is not a
// readable regular file.
std::vector<std::string> missing_files(const phone::Config& c) {
  std::vector<std::pair<std::string, std::string>> named;
  for (const auto& f : c.transport.tls.ca_files) named.emplace_back("tls.ca_files", f);
  if (!c.transport.tls.client_cert.empty()) named.emplace_back("tls.client_cert", c.transport.tls.client_cert);
  if (!c.transport.tls.client_key.empty()) named.emplace_back("tls.client_key", c.transport.tls.client_key);
  std::vector<std::string> out;
  for (const auto& [key, path] : named) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) out.push_back(key + ": " + path + " does not exist");
  }
  return out;
}

int run_check(const ConfigCheckOptions& o) {
  auto config = phone::load_config(o.config);
  if (!config) {
    if (o.json) print_json({{"valid", false}, {"error", {{"code", config.error().code}, {"message", config.error().message}}}});
    return report_error(config.error());
  }
  std::vector<std::string> warnings = missing_files(*config);
  if (config->accounts.empty()) warnings.push_back("no [[account]]: exphone run registers nothing");
  if (!config->transport.tls.keylog_file.empty())
    warnings.push_back("tls.keylog_file is set: TLS secrets are written to " + config->transport.tls.keylog_file);
  if (config->instance_id_source == "random")
    warnings.push_back("no machine id (/etc/machine-id): the RFC 5626 instance id changes on every start; "
                       "set [phone] instance_id");
  if (!config->tls_listen.empty() && config->transport.tls.client_cert.empty())
    warnings.push_back("sip.tls_listen needs the device certificate (tls.client_cert, tls.client_key)");

  nlohmann::ordered_json j;
  j["valid"] = true;
  j["source"] = config->source;
  j["accounts"] = nlohmann::ordered_json::array();
  for (const auto& a : config->accounts) {
    auto reg = ua::registrar_address(a);  // validated by the loader
    j["accounts"].push_back({{"name", a.name},
                             {"aor", "sip:" + a.user + "@" + a.domain},
                             {"registrar", reg ? reg->request_uri : a.registrar},
                             {"transport", reg ? std::string(net::to_string(reg->protocol)) : ""}});
  }
  j["outbound"] = config->outbound;
  j["instance_id"] = config->instance_id;
  j["instance_id_source"] = config->instance_id_source;
  j["tcp_listen"] = config->tcp_listen;
  j["tls_listen"] = config->tls_listen;
  j["warnings"] = warnings;
  if (o.json) {
    print_json(j);
  } else {
    std::cout << o.config << ": valid, " << config->accounts.size() << " account(s)\n";
    for (const auto& a : j["accounts"])
      std::cout << "  account " << a["name"].get<std::string>() << ": " << a["aor"].get<std::string>() << " via "
                << a["transport"].get<std::string>() << " to " << a["registrar"].get<std::string>() << "\n";
    if (config->outbound)
      std::cout << "  RFC 5626 instance id " << config->instance_id << " (" << config->instance_id_source << ")\n";
    for (const auto& w : warnings) std::cout << "warning: " << w << "\n";
  }
  return kExitOk;
}

}  // namespace

void add_config_command(CLI::App& app, int& exit_code) {
  auto config = app.add_subcommand("config", "Device configuration tools");
  config->require_subcommand(1);
  auto o = std::make_shared<ConfigCheckOptions>();
  auto check = config->add_subcommand(
      "check",
      "Load the config exactly as `exphone run` does and report the accounts and listeners. Exit 0 when it "
      "loads; errors name FILE:LINE (code config). Named certificate/key files that do not exist are warnings.");
  check->add_option("--config", o->config, "device configuration (TOML)")->required();
  check->add_flag("--json", o->json, "print one JSON object");
  check->callback([o, &exit_code] { exit_code = run_check(*o); });
}

}  // namespace exphone::cli
