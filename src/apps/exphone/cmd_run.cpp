// `exphone run --config FILE`: the phone daemon. Registers every account and keeps the
// registrations (refresh, flow recovery, failover), accepts SIP over UDP and, when configured,
// TCP/TLS; rings on incoming calls (answered by `exphone ctl answer`) or answers at once with
// [phone] auto_answer; serves the control socket; with [provisioning], polls for its config and
// restarts itself on a new one (docs/provisioning.md). SIGTERM/SIGINT hang up, unregister, exit 0.
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <utility>

#include "apps/exphone/commands.h"
#include "core/log_tail.h"
#include "apps/exphone/signaling_stack.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/sd_notify.h"
#include "apps/exphone/control_server.h"
#include "apps/exphone/daemon_provisioning.h"
#include "provisioning/provision.h"
#include "phone/phone.h"
#include "web/web_server.h"

namespace exphone::cli {

namespace {

struct RunOptions {
  std::string config;
  double send_tone_hz = 440;
  double expect_tone_hz = 1000;
};

// A pending generation (docs/provisioning.md) that cannot even start is rolled back at once.
bool roll_back_if_pending(const std::string& config_path, const Error& e) {
  if (!provisioning::load_state(config_path).pending) return false;
  auto st = provisioning::rollback(config_path, "cannot start: " + e.code + ": " + e.message);
  if (!st) return false;
  std::cout << "provisioning: rolled-back (" << st->rollback_reason << ")" << std::endl;
  return true;
}

// After delay_ms, and then once no call is active, restart(why).
void restart_when_idle(boost::asio::steady_timer& t, phone::Phone& phone, const std::function<void(const std::string&)>& restart,
                       const std::string& why, int delay_ms) {
  t.expires_after(std::chrono::milliseconds(delay_ms));
  t.async_wait([&t, &phone, &restart, why](const boost::system::error_code& ec) {
    if (ec) return;
    if (phone.calls().empty()) restart(why);
    else restart_when_idle(t, phone, restart, why, 1000);
  });
}

// Returns the exit code; restart: exec again (a provisioned or rolled-back config).
// `web_sessions`: in, the web admin's sessions the previous image handed over; out, on restart,
// the sessions to hand to the next one (a change made on the page does not log its user out).
int run_daemon(const RunOptions& o, bool& restart, std::string& web_sessions) {
  const std::string& config_path = o.config;
  LogTail log_tail({&std::cout, &std::cerr});  // what the web page's log download serves
  auto config = phone::load_config(config_path);
  if (!config) {
    restart = roll_back_if_pending(config_path, config.error());
    return report_error(config.error());
  }
  SignalingStack stack;
  if (Status s = stack.init(*config); !s) {
    restart = roll_back_if_pending(config_path, s.error());
    return report_error(s.error());
  }

  std::unique_ptr<web::WebServer> web_admin;  // [web]: the HTTPS admin page (opened below; outlives phone)
  phone::Phone phone(phone::CallEnv{stack.io, *stack.transport, *stack.txns}, *stack.dns, *config);
  phone::CallSettings settings = phone.call_settings();
  settings.send_tone_hz = o.send_tone_hz;  // the answering side's test tone (exphone call sends 1 kHz)
  settings.expect_tone_hz = o.expect_tone_hz;
  phone.set_call_settings(settings);
  std::unique_ptr<DaemonProvisioning> provisioner;  // [provisioning] (docs/provisioning.md)
  phone.on_registration_change = [&provisioner](const ua::RegistrationClient& c) {
    const auto& s = c.status();
    std::cout << "account " << c.settings().name << ": " << ua::to_string(s.state);
    if (s.registered) std::cout << " via " << s.transport << " to " << s.registrar;
    if (s.error && !s.registered) std::cout << " (" << s.error->code << ": " << s.error->message << ")";
    std::cout << std::endl;
    if (provisioner) provisioner->on_registration_change();
  };
  phone.on_call_state = [](phone::Call& c) {
    std::cout << "call " << c.call_id() << ": " << phone::Call::state_name(c.state()) << std::endl;
  };
  phone.on_call_end = [&web_admin](const phone::CallReport& r) {
    auto j = to_json(r);
    if (web_admin) web_admin->record_call(j);
    std::cout << "call-report " << j.dump() << std::endl;
  };
  stack.on_request = [&phone](const sip::Message& m, const net::FlowPtr& flow) { return phone.on_request(m, flow); };

  std::string ctl_path = config->control_socket.empty() ? default_control_socket() : config->control_socket;
  auto ctl = ControlServer::open(stack.io, phone, ctl_path, stack.trusted_clock);
  if (!ctl) return report_error(ctl.error());
  // Restart: hang up, unregister, and exec this command line again (bounded like SIGTERM).
  std::function<void(const std::string&)> restart_daemon = [&](const std::string& why) {
    std::cout << "exphone: restarting (" << why << ")" << std::endl;
    restart = true;
    phone.shutdown([&] { stack.io.stop(); });
    stack.timers.schedule(Millis{5000}, [&] { stack.io.stop(); });
  };
  if (DaemonProvisioning::wanted(config_path, *config)) {
    provisioner = std::make_unique<DaemonProvisioning>(stack.io, phone, config_path, *config, stack.trusted_clock,
                                                       restart_daemon);
    (*ctl)->set_provisioning_config(config_path);
    (*ctl)->add_async_command("reprovision", [&provisioner](const std::string&, std::function<void(std::string)> reply) {
      provisioner->reprovision(std::move(reply));
    });
  }
  boost::asio::steady_timer web_restart_timer(stack.io);
  if (!config->web.listen.empty()) {
    // the page shows exactly what `exphone ctl status` returns
    auto clock = stack.trusted_clock;
    const std::string* prov = provisioner ? &config_path : nullptr;
    web::AdminHooks admin;
    admin.config_path = config_path;
    admin.log = [&log_tail] { return log_tail.text(); };
    admin.sessions = std::exchange(web_sessions, std::string());
    if (!config->provisioning.url.empty())
      admin.read_only = "This phone's config comes from provisioning ([provisioning] url): change it in its bundle on the "
                        "provisioning server; a change made here would be overwritten.";
    // A saved change: once the answer is on its way and no call is active, restart on it.
    admin.restart = [&](const std::string& why) { restart_when_idle(web_restart_timer, phone, restart_daemon, "web admin: " + why, 300); };
    auto w = web::WebServer::open(stack.io, config->web, config->transport.tls, [&phone, clock, prov] {
      return nlohmann::ordered_json::parse(ControlServer::execute(phone, "status", clock.get(), prov));
    }, std::move(admin));
    if (!w) return report_error(w.error());
    web_admin = std::move(*w);
    std::cout << "web admin on https://" << web_admin->local_address() << std::endl;
  }
  // [clock]: provisioning and registration (the first TLS connections) wait for NTP, at most
  // sync_timeout_s; then the start-up provisioning round, which may restart on a new config.
  stack.sync_clock(*config, [&phone, &provisioner] {
    if (provisioner) provisioner->start([&phone] { phone.start(); });
    else phone.start();
  });
  if (Status s = phone.start_paging(); !s) return report_error(s.error());

  boost::asio::signal_set signals(stack.io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    std::cerr << "exphone: signal " << signo << ", hanging up and unregistering" << std::endl;
    sd::notify_stopping();
    phone.shutdown([&] { stack.io.stop(); });
    stack.timers.schedule(Millis{5000}, [&] { stack.io.stop(); });  // bounded shutdown
  });
  std::cout << "exphone running" << (config->tcp_listen.empty() ? "" : ", SIP over TCP on " + config->tcp_listen)
            << (config->tls_listen.empty() ? "" : ", SIP over TLS on " + config->tls_listen) << ", control socket "
            << ctl_path << std::endl;
  sd::notify_ready("listening, registering " + std::to_string(config->accounts.size()) + " account(s)");
  stack.io.run();
  if (restart && web_admin) web_sessions = web_admin->hand_over_sessions();
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<RunOptions>();
  auto cmd = app.add_subcommand(
      "run",
      "The phone daemon: registers the accounts of the config and keeps them registered, accepts SIP over UDP "
      "and over TCP/TLS when [sip] tcp_listen / tls_listen is set. Calls are taken only from the registrar, "
      "verified mTLS peers or [phone] allow_peers (else 403); they ring until `exphone ctl answer`, or, with [phone] auto_answer, are "
      "answered at once when the caller is allowlisted and arrived over TLS from a verified peer; the phone sends a 440 Hz test tone "
      "(or [phone] announcement, echo, or the audio_device microphone). Prints a call-report line per call; "
      "serves `exphone ctl` on its control socket. With [web] listen, an HTTPS admin page (and /metrics); a change saved there "
      "(or a new provisioned config) makes the daemon restart on it with the same PID once no call is active. "
      "SIGTERM or SIGINT hangs up, unregisters and exits 0.");
  cmd->add_option("--config", o->config, "device configuration (TOML)")->required();
  cmd->add_option("--send-tone", o->send_tone_hz, "test tone this phone sends in its calls (Hz)")->capture_default_str();
  cmd->add_option("--expect-tone", o->expect_tone_hz, "tone whose share of the received audio the call report gives (Hz)")
      ->capture_default_str();
  cmd->callback([o, &exit_code] {
    bool restart = false;
    std::string web_sessions = take_handover();
    exit_code = run_daemon(*o, restart, web_sessions);  // everything it opened is closed when it returns
    if (restart) exit_code = report_error(exec_self(web_sessions));
  });
}

}  // namespace exphone::cli
