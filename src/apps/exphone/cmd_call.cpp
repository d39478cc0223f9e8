// `exphone call --config FILE TARGET [--duration S] [--json]`: one peer-to-peer call with a test
// tone, then the call report (DESIGN.md) with the padlock.
#include <iostream>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/signaling_stack.h"
#include "phone/call.h"

namespace exphone::cli {

namespace {

struct CallOptions {
  std::string config;
  std::string target;
  double duration_s = 3;
  bool json = false;
};

int run_call(const CallOptions& o) {
  auto config = phone::load_config(o.config);
  if (!config) return report_error(config.error());
  SignalingStack stack;
  if (Status s = stack.init(*config); !s) return report_error(s.error());
  phone::CallSettings settings;
  settings.local_user = config->phone_user;
  settings.media = config->media;
  phone::OutgoingCall call(stack.io, *stack.transport, *stack.txns, settings);
  std::optional<phone::CallReport> report;
  call.start(o.target, std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000)), [&](const phone::CallReport& r) {
    report = r;
    stack.io.stop();
  });
  stack.io.run_for(std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000) + 40000));
  if (!report) return report_error(make_error("timeout", "the call did not finish"));
  if (o.json) {
    print_json(to_json(*report));
  } else {
    std::cout << (report->secure() ? "[LOCKED] secure call: TLS verified + SRTP both ways\n"
                                   : "[OPEN]   NOT a secure call\n");
    std::cout << "answered " << (report->answered ? "yes" : "no") << ", ring " << report->time_to_ring_ms
              << " ms, codec " << report->codec << ", srtp " << (report->srtp ? report->suite : "no") << ", packets "
              << report->stats.packets_sent << " sent / " << report->stats.packets_received << " received\n";
  }
  if (report->error) return report_error(*report->error);
  return report->answered ? kExitOk : kExitFailure;
}

}  // namespace

void add_call_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CallOptions>();
  auto cmd = app.add_subcommand(
      "call",
      "Place one peer-to-peer call (TCP or TLS; sips: = TLS) with a 1 kHz test tone, hang up after --duration, "
      "and print the call report with the padlock (secure = TLS verified and SRTP both ways).");
  cmd->add_option("--config", o->config, "device configuration (TOML)")->required();
  cmd->add_option("target", o->target, "sip:/sips: URI of the peer, e.g. sips:phone@192.0.2.5:5061")->required();
  cmd->add_option("--duration", o->duration_s, "seconds of talk")->capture_default_str();
  cmd->add_flag("--json", o->json, "print the call report as one JSON object");
  cmd->callback([o, &exit_code] { exit_code = run_call(*o); });
}

}  // namespace exphone::cli
