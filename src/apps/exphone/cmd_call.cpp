// `exphone call --config FILE TARGET [--duration S] [--json] ...`: one call (peer-to-peer or
// through the PBX) with a test tone, then the call report (DESIGN.md) with the padlock.
#include <iostream>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/signaling_stack.h"
#include "phone/phone.h"

namespace exphone::cli {

namespace {

struct CallOptions {
  std::string config;
  std::string target;
  std::string account;
  double duration_s = 3;
  double ring_timeout_s = 30;
  double hold_at_s = -1;
  double hold_for_s = 1;
  std::string play, record, dtmf, audio_device;
  double expect_tone_hz = 440;
  bool json = false;
};

int run_call(const CallOptions& o) {
  auto config = phone::load_config(o.config);
  if (!config) return report_error(config.error());
  SignalingStack stack;
  if (Status s = stack.init(*config); !s) return report_error(s.error());
  phone::Phone phone(phone::CallEnv{stack.io, *stack.transport, *stack.txns}, *stack.dns, *config);
  stack.on_request = [&phone](const sip::Message& m, const net::FlowPtr& flow) { return phone.on_request(m, flow); };
  auto ms = [](double s) { return std::chrono::milliseconds(static_cast<long>(s * 1000)); };

  std::optional<phone::CallReport> report;
  std::optional<Error> failure;
  std::string call_id;
  phone.on_call_end = [&](const phone::CallReport& r) {
    report = r;
    stack.io.stop();
  };
  TimerService::Id ring_timer = 0;
  phone.on_call_state = [&](phone::Call& c) {
    if (c.state() != phone::Call::State::kConfirmed) return;
    if (ring_timer) stack.timers.cancel(ring_timer);
    ring_timer = 0;
    std::string id = c.call_id();
    if (o.hold_at_s >= 0 && o.hold_at_s < o.duration_s) {
      stack.timers.schedule(ms(o.hold_at_s), [&phone, id] { (void)phone.hold(id, true); });
      stack.timers.schedule(ms(o.hold_at_s + o.hold_for_s), [&phone, id] { (void)phone.hold(id, false); });
    }
    stack.timers.schedule(ms(o.duration_s), [&phone, id] { (void)phone.hang_up(id); });
  };
  phone::CallSettings settings = phone.call_settings();
  settings.play_wav = o.play;
  settings.record_wav = o.record;
  settings.dtmf = o.dtmf;
  settings.expect_tone_hz = o.expect_tone_hz;
  if (!o.audio_device.empty()) settings.audio_device = o.audio_device;
  settings.beep = false;
  auto place = [&] {
    auto id = phone.dial(o.target, settings, o.account);
    if (!id) {
      failure = id.error();
      stack.io.stop();
      return;
    }
    call_id = *id;
    // no answer in time: CANCEL (RFC 3261 section 9.1)
    ring_timer = stack.timers.schedule(ms(o.ring_timeout_s), [&] {
      ring_timer = 0;
      (void)phone.hang_up(call_id);
    });
  };
  // Peer-to-peer targets (an IP literal host) need no registration; PBX targets wait for it.
  auto uri = sip::parse_uri(o.target);
  boost::system::error_code ec;
  bool p2p = uri && uri->is_sip_or_sips() && o.account.empty() &&
             (boost::asio::ip::make_address(std::string(uri->host), ec), !ec);
  bool placed = false;
  // [clock]: the first TLS connection (registration or the call itself) waits for NTP, at most
  // sync_timeout_s.
  stack.sync_clock(*config, [&] {
    if (p2p || config->accounts.empty()) {
      place();
    } else {
      phone.on_registration_change = [&](const ua::RegistrationClient& c) {
        if (placed) return;
        if (c.status().registered) {
          placed = true;
          place();
        } else if (c.status().state == ua::RegistrationClient::State::kFailed) {
          placed = true;
          failure = c.status().error.value_or(make_error("registration-failed", "the account did not register"));
          stack.io.stop();
        }
      };
      phone.start();
    }
  }, o.json);
  stack.io.run_for(ms(o.duration_s + o.ring_timeout_s) + std::chrono::seconds(40));
  if (failure) return report_error(*failure);
  if (!report) return report_error(make_error("timeout", "the call did not finish"));
  // unregister (bounded) so the PBX does not keep a stale binding of this one-shot phone
  stack.io.restart();
  bool down = false;
  phone.shutdown([&] {
    down = true;
    stack.io.stop();
  });
  if (!down) stack.io.run_for(std::chrono::seconds(3));
  if (o.json) {
    print_json(to_json(*report));
  } else {
    std::cout << (report->secure() ? "[LOCKED] secure call: TLS verified + SRTP both ways\n"
                                   : "[OPEN]   NOT a secure call\n");
    std::cout << "answered " << (report->answered ? "yes" : "no") << ", ring " << report->time_to_ring_ms
              << " ms, codec " << report->codec << ", srtp " << (report->srtp ? report->suite : "no") << ", packets "
              << report->stats.packets_sent << " sent / " << report->stats.packets_received << " received, ended by "
              << report->ended_by << "\n";
  }
  if (report->error) return report_error(*report->error);
  return report->answered ? kExitOk : kExitFailure;
}

}  // namespace

void add_call_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CallOptions>();
  auto cmd = app.add_subcommand(
      "call",
      "Place one call with a 1 kHz test tone, hang up after --duration, and print the call report with the "
      "padlock (secure = TLS verified and SRTP both ways). TARGET is a sip:/sips: URI with an IP host for a "
      "peer-to-peer call (UDP unless ;transport= says otherwise; sips: = TLS), or a number/URI called through "
      "the PBX over the first registered account (or --account).");
  cmd->add_option("--account", o->account, "call through this account (its name in the config)");
  cmd->add_option("--ring-timeout", o->ring_timeout_s, "seconds to wait for the answer before CANCEL")->capture_default_str();
  cmd->add_option("--hold-at", o->hold_at_s, "put the call on hold (re-INVITE a=sendonly) after this many seconds");
  cmd->add_option("--hold-for", o->hold_for_s, "resume (re-INVITE a=sendrecv) after this many seconds on hold")->capture_default_str();
  cmd->add_option("--config", o->config, "device configuration (TOML)")->required();
  cmd->add_option("target", o->target, "sip:/sips: URI of the peer (e.g. sips:phone@192.0.2.5:5061), or a number/URI for the PBX")->required();
  cmd->add_option("--duration", o->duration_s, "seconds of talk")->capture_default_str();
  cmd->add_option("--play", o->play, "send this WAV (16-bit mono, 8 or 16 kHz, looped) instead of the test tone");
  cmd->add_option("--record", o->record, "write the received audio to this WAV when the call ends");
  cmd->add_option("--expect-tone", o->expect_tone_hz, "tone whose share of the received audio the report gives (Hz)")
      ->capture_default_str();
  cmd->add_option("--audio-device", o->audio_device, "ALSA device for speaker and microphone (e.g. default, plughw:1,0)");
  cmd->add_option("--dtmf", o->dtmf, "send these digits (RFC 4733 telephone-event: 0-9 * # A-D) once the media flows");
  cmd->add_flag("--json", o->json, "print the call report as one JSON object");
  cmd->callback([o, &exit_code] { exit_code = run_call(*o); });
}

}  // namespace exphone::cli
