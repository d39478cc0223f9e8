// `exphone demo`: a secure call on loopback, no PBX. Makes a throwaway CA and two device
// certificates, starts two phones (the callee auto-answers on a TLS listener that requires a
// client certificate), calls peer-to-peer over mutual TLS with SRTP mandatory, plays a tone each
// way, checks each side heard the other's tone, prints both call reports with the padlock, and
// exits 0 only if all of that held.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "apps/exphone/signaling_stack.h"
#include "phone/phone.h"
#include "tools/pki/issuer.h"

namespace exphone::cli {

namespace {

struct DemoOptions {
  double duration_s = 2;
  bool json = false;
};

Result<std::string> make_pki(const std::string& dir) {
  auto ca = pki::make_root_ca("exphone demo root CA (throwaway)", 1);
  if (!ca) return ca.error();
  pki::LeafSpec callee{"exphone demo callee", {}, {"127.0.0.1"}, {}, true, true, 1};
  pki::LeafSpec caller{"exphone demo caller", {}, {"127.0.0.1"}, {}, true, true, 1};
  auto a = pki::make_leaf(callee, *ca);
  if (!a) return a.error();
  auto b = pki::make_leaf(caller, *ca);
  if (!b) return b.error();
  for (auto [item, name] : {std::pair{&*ca, "ca"}, {&*a, "callee"}, {&*b, "caller"}})
    if (Status s = pki::write_pem(*item, dir + "/" + name + ".crt", dir + "/" + name + ".key"); !s) return s.error();
  return dir;
}

phone::Config phone_config(const std::string& dir, const std::string& who) {
  phone::Config c;
  c.transport.tls.ca_files = {dir + "/ca.crt"};
  c.transport.tls.client_cert = dir + "/" + who + ".crt";
  c.transport.tls.client_key = dir + "/" + who + ".key";
  c.transport.tls.min_version = "1.3";
  c.media.srtp = ua::SrtpPolicy::kMandatory;
  c.phone_user = who;
  return c;
}

void print_human(const char* who, const phone::CallReport& r, double expected_hz) {
  std::cout << who << ": " << (r.secure() ? "[LOCKED] secure" : "[OPEN]   NOT secure") << " — "
            << (r.tls ? r.tls->version + " " + r.tls->cipher + (r.tls->verified ? " verified" : " unverified") : "no TLS")
            << ", SRTP " << (r.srtp ? r.suite : "off") << ", " << r.stats.packets_sent << " packets sent, "
            << r.stats.packets_received << " received, " << r.stats.srtp_auth_failures << " auth failures; heard the "
            << expected_hz << " Hz tone: " << (r.heard_tone_ratio > 0.5 ? "yes" : "NO") << " ("
            << static_cast<int>(r.heard_tone_ratio * 100) << " % of the energy)\n";
}

int run_demo(const DemoOptions& o) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "exphone-demo-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return report_error(make_error("demo-failed", "cannot create a temp dir"));
  std::string dir = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};
  if (auto p = make_pki(dir); !p) return report_error(p.error());

  // The callee: its own event loop on its own thread, nothing shared with the caller.
  phone::Config callee_cfg = phone_config(dir, "callee");
  callee_cfg.auto_answer = true;
  callee_cfg.auto_answer_from = {"caller"};  // and it arrives over mutual TLS: authenticated
  SignalingStack callee;
  if (Status s = callee.init(callee_cfg); !s) return report_error(s.error());
  auto ep = callee.transport->listen_tls("127.0.0.1", 0, /*require_client_cert=*/true);
  if (!ep) return report_error(ep.error());
  phone::Phone callee_phone(phone::CallEnv{callee.io, *callee.transport, *callee.txns}, *callee.dns, callee_cfg);
  phone::CallSettings callee_settings = callee_phone.call_settings();
  callee_settings.send_tone_hz = 440;
  callee_settings.expect_tone_hz = 1000;
  callee_phone.set_call_settings(callee_settings);
  std::optional<phone::CallReport> callee_report;
  callee_phone.on_call_end = [&](const phone::CallReport& r) {
    callee_report = r;
    callee.io.stop();
  };
  callee.on_request = [&callee_phone](const sip::Message& m, const net::FlowPtr& f) { return callee_phone.on_request(m, f); };
  std::thread callee_thread([&] { callee.io.run_for(std::chrono::seconds(60)); });

  phone::Config caller_cfg = phone_config(dir, "caller");
  SignalingStack caller;
  Status init = caller.init(caller_cfg);
  std::optional<phone::CallReport> caller_report;
  std::optional<phone::Phone> caller_phone;
  if (init) {
    caller_phone.emplace(phone::CallEnv{caller.io, *caller.transport, *caller.txns}, *caller.dns, caller_cfg);
    caller.on_request = [&caller_phone](const sip::Message& m, const net::FlowPtr& f) { return caller_phone->on_request(m, f); };
    caller_phone->on_call_end = [&](const phone::CallReport& r) {
      caller_report = r;
      caller.io.stop();
    };
    caller_phone->on_call_state = [&](phone::Call& c) {
      if (c.state() != phone::Call::State::kConfirmed) return;
      std::string id = c.call_id();
      caller.timers.schedule(std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000)),
                             [&caller_phone, id] { (void)caller_phone->hang_up(id); });
    };
    auto id = caller_phone->dial("sips:callee@127.0.0.1:" + std::to_string(ep->port), caller_phone->call_settings());
    if (!id) init = id.error();
    else caller.io.run_for(std::chrono::milliseconds(static_cast<long>(o.duration_s * 1000) + 30000));
  }
  // give the callee a moment to see the BYE, then stop it
  for (int i = 0; i < 50 && !callee_report; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  callee.io.stop();
  callee_thread.join();
  if (!init) return report_error(init.error());

  bool ok = caller_report && callee_report && caller_report->answered && caller_report->secure() &&
            callee_report->secure() && caller_report->heard_tone_ratio > 0.5 && callee_report->heard_tone_ratio > 0.5;
  if (o.json) {
    nlohmann::ordered_json j;
    j["caller"] = caller_report ? to_json(*caller_report) : nlohmann::ordered_json(nullptr);
    j["callee"] = callee_report ? to_json(*callee_report) : nlohmann::ordered_json(nullptr);
    j["ok"] = ok;
    print_json(j);
  } else {
    std::cout << "exphone demo: two phones on loopback, a peer-to-peer call over mutual TLS with SRTP mandatory\n";
    if (caller_report) print_human("caller", *caller_report, 440);
    if (callee_report) print_human("callee", *callee_report, 1000);
    std::cout << (ok ? "demo: OK — the call was secure both ways and each side heard the other's tone\n"
                     : "demo: FAILED\n");
  }
  if (!ok) {
    if (caller_report && caller_report->error) return report_error(*caller_report->error);
    return report_error(make_error("demo-failed", "the secure call did not complete as expected"));
  }
  return kExitOk;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DemoOptions>();
  auto cmd = app.add_subcommand(
      "demo",
      "A secure call on loopback without a PBX: throwaway CA and device certificates, two phones, mutual TLS "
      "1.3 + SRTP (SDES), a tone each way detected in the recordings, both call reports. Exit 0 only if "
      "everything held.");
  cmd->add_option("--duration", o->duration_s, "seconds of talk")->capture_default_str();
  cmd->add_flag("--json", o->json, "print both call reports as one JSON object");
  cmd->callback([o, &exit_code] { exit_code = run_demo(*o); });
}

}  // namespace exphone::cli
