// `exphone register --config FILE [--json]`: register every account once, report, unregister.
#include <iostream>
#include <memory>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/signaling_stack.h"
#include "ua/registration.h"

namespace exphone::cli {

namespace {

struct RegisterOptions {
  std::string config;
  bool json = false;
  bool keep = false;
  int timeout_s = 45;
  int hold_s = 0;
};

// `unfinished` is the error reported for an account still registering when the run ended.
nlohmann::ordered_json status_json(const ua::RegistrationClient& c, const Error& unfinished, long run_ms) {
  const auto& s = c.status();
  nlohmann::ordered_json j;
  j["account"] = c.settings().name;
  j["registered"] = s.registered || s.registrations > 0;
  j["state"] = std::string(ua::to_string(s.state));
  j["transport"] = s.transport;
  j["registrar"] = s.registrar;
  j["expires"] = s.expires;
  bool pending = s.registrations == 0 && !s.error;
  j["elapsed_ms"] = pending ? run_ms : s.elapsed_ms;
  j["registrations"] = s.registrations;
  j["outbound"] = s.outbound;  // the registrar applied RFC 5626 outbound (Require: outbound)
  if (c.settings().outbound) j["instance_id"] = c.settings().outbound->instance_id;
  if (s.last_status) j["last_status"] = s.last_status;
  if (s.tls) j["tls"] = to_json(*s.tls);
  if (s.error && s.registrations == 0) j["error"] = to_json(*s.error);
  if (pending) j["error"] = to_json(unfinished);
  return j;
}

int run_register(const RegisterOptions& o) {
  auto config = phone::load_config(o.config);
  if (!config) return report_error(config.error());
  if (config->accounts.empty()) return report_error(make_error("config", o.config + ": no [[account]] to register"));

  SignalingStack stack;
  if (Status s = stack.init(*config); !s) return report_error(s.error());

  std::vector<std::unique_ptr<ua::RegistrationClient>> clients;
  std::size_t pending = config->accounts.size();
  auto settled = [](const ua::RegistrationClient::Status& s) {
    return s.registrations > 0 || s.state == ua::RegistrationClient::State::kFailed;
  };
  for (const auto& a : config->accounts) {
    auto c = std::make_unique<ua::RegistrationClient>(stack.io, *stack.transport, *stack.txns, *stack.dns, a);
    auto* raw = c.get();
    auto done = std::make_shared<bool>(false);
    raw->on_change([&, done, settled](const ua::RegistrationClient::Status& s) {
      if (!*done && settled(s)) {
        *done = true;
        if (--pending == 0) stack.io.stop();
      }
    });
    clients.push_back(std::move(c));
  }
  auto t0 = Clock::now();
  // [clock]: the first TLS connection waits for NTP, at most sync_timeout_s.
  stack.sync_clock(*config, [&clients] {
    for (auto& c : clients) c->start();
  }, o.json);
  stack.io.run_for(std::chrono::seconds(o.timeout_s));
  long run_ms = static_cast<long>(std::chrono::duration_cast<Millis>(Clock::now() - t0).count());

  // --hold: stay registered for a while (refreshing, re-opening dead flows) before leaving.
  if (o.hold_s > 0) {
    stack.io.restart();
    if (!o.json) std::cout << "holding registrations for " << o.hold_s << " s\n" << std::flush;
    stack.io.run_for(std::chrono::seconds(o.hold_s));
  }

  // Clean shutdown: remove the bindings again unless asked to keep them (section 10.2.2).
  if (!o.keep) {
    stack.io.restart();
    std::size_t waiting = 0;
    for (auto& c : clients)
      if (c->status().registered) ++waiting;
    if (waiting) {
      for (auto& c : clients)
        if (c->status().registered)
          c->unregister([&] {
            if (--waiting == 0) stack.io.stop();
          });
      stack.io.run_for(std::chrono::seconds(10));
    }
  }

  bool all = true;
  const Error* first_error = nullptr;
  Error timeout = make_error("timeout", "registration did not finish within " + std::to_string(o.timeout_s) + " s");
  nlohmann::ordered_json report;
  report["accounts"] = nlohmann::ordered_json::array();
  for (auto& c : clients) {
    const auto& s = c->status();
    bool ok = s.registrations > 0;
    all = all && ok;
    if (!ok && !first_error && s.error) first_error = &*s.error;
    report["accounts"].push_back(status_json(*c, timeout, run_ms));
  }
  report["registered"] = all;
  if (!all && !first_error) first_error = &timeout;
  if (!all) report["error"] = to_json(*first_error);

  if (o.json) {
    print_json(report);
  } else {
    for (auto& c : clients) {
      const auto& s = c->status();
      if (s.registrations > 0) {
        std::cout << "registered   " << c->settings().name << " via " << s.transport << " to " << s.registrar
                  << " (expires " << s.expires << " s, " << s.elapsed_ms << " ms)";
        if (s.tls)
          std::cout << ", " << s.tls->version << " " << s.tls->cipher << (s.tls->verified ? ", certificate verified" : ", NOT VERIFIED")
                    << " (" << s.tls->peer_subject << ")";
        std::cout << "\n";
      } else {
        std::cout << "FAILED       " << c->settings().name << ": "
                  << (s.error ? s.error->code + ": " + s.error->message : "timeout") << "\n";
      }
    }
  }
  if (!all) {
    report_error(*first_error);
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void add_register_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RegisterOptions>();
  auto cmd = app.add_subcommand(
      "register",
      "Register every [[account]] of the config once (UDP, TCP or TLS, digest auth), print the result, then "
      "unregister. Exit 0 when all registered. Error codes: auth-failed, timeout, dns-failed, tls-*, "
      "transport-failed, registrar-rejected, config.");
  cmd->add_option("--config", o->config, "device configuration (TOML)")->required();
  cmd->add_flag("--json", o->json, "print one JSON object");
  cmd->add_flag("--keep", o->keep, "leave the bindings in place (no unregister on exit)");
  cmd->add_option("--timeout", o->timeout_s, "give up after this many seconds")->capture_default_str();
  cmd->add_option("--hold", o->hold_s,
                  "after registering, stay registered this many seconds (refresh, re-open dead flows)");
  cmd->callback([o, &exit_code] { exit_code = run_register(*o); });
}

}  // namespace exphone::cli
