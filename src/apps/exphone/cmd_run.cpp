// `exphone run --config FILE`: the phone daemon. Today: registers every account and keeps the
// registrations (refresh, flow recovery, failover), accepts SIP over TCP when configured,
// answers OPTIONS and refuses what it cannot serve yet (calls: 480). SIGTERM/SIGINT unregister
// and exit 0.
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "apps/exphone/commands.h"
#include "apps/exphone/signaling_stack.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/sd_notify.h"
#include "phone/call.h"
#include "ua/registration.h"

namespace exphone::cli {

namespace {

int run_daemon(const std::string& config_path) {
  auto config = phone::load_config(config_path);
  if (!config) return report_error(config.error());
  SignalingStack stack;
  if (Status s = stack.init(*config); !s) return report_error(s.error());

  std::unique_ptr<phone::AutoAnswer> answer;
  if (config->auto_answer) {
    phone::CallSettings settings;
    settings.local_user = config->phone_user;
    settings.media = config->media;
    settings.send_tone_hz = 440;
    settings.expect_tone_hz = 1000;
    answer = std::make_unique<phone::AutoAnswer>(stack.io, *stack.txns, settings, config->allow_peers,
                                                 [](const phone::CallReport& r) {
                                                   std::cout << "call-report " << to_json(r).dump() << std::endl;
                                                 });
    stack.on_request = [&answer](const sip::Message& m, const net::FlowPtr& flow) { return answer->on_request(m, flow); };
  }
  std::vector<std::unique_ptr<ua::RegistrationClient>> clients;
  for (const auto& a : config->accounts) {
    auto c = std::make_unique<ua::RegistrationClient>(stack.io, *stack.transport, *stack.txns, *stack.dns, a);
    auto* raw = c.get();
    raw->on_change([raw](const ua::RegistrationClient::Status& s) {
      std::cout << "account " << raw->settings().name << ": " << ua::to_string(s.state);
      if (s.registered) std::cout << " via " << s.transport << " to " << s.registrar;
      if (s.error && !s.registered) std::cout << " (" << s.error->code << ": " << s.error->message << ")";
      std::cout << std::endl;
    });
    clients.push_back(std::move(c));
  }
  for (auto& c : clients) c->start();

  boost::asio::signal_set signals(stack.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    sd::notify_stopping();
    std::size_t waiting = 0;
    for (auto& c : clients)
      if (c->status().registered) ++waiting;
    if (waiting == 0) {
      stack.io.stop();
      return;
    }
    for (auto& c : clients)
      if (c->status().registered)
        c->unregister([&] {
          if (--waiting == 0) stack.io.stop();
        });
    stack.timers.schedule(Millis{5000}, [&] { stack.io.stop(); });  // bounded shutdown
  });
  std::cout << "exphone running" << (config->tcp_listen.empty() ? "" : ", SIP over TCP on " + config->tcp_listen)
            << (config->tls_listen.empty() ? "" : ", SIP over TLS on " + config->tls_listen) << std::endl;
  sd::notify_ready("listening, registering " + std::to_string(config->accounts.size()) + " account(s)");
  stack.io.run();
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto cmd = app.add_subcommand(
      "run",
      "The phone daemon: registers the accounts of the config and keeps them registered, accepts SIP "
      "over TCP/TLS when [sip] tcp_listen / tls_listen is set, answers OPTIONS; with [phone] auto_answer it answers calls from allowed peers (verified mTLS or allow_peers) "
      "with a 440 Hz tone and prints a call-report line per call. SIGTERM or SIGINT unregisters and exits 0.");
  cmd->add_option("--config", *path, "device configuration (TOML)")->required();
  cmd->callback([path, &exit_code] { exit_code = run_daemon(*path); });
}

}  // namespace exphone::cli
