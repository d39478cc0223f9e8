// `exphone advise --network N --pbx P [--emergency] [--rtt-ms MS] [--json|--toml]`: the security
// settings a deployment needs, each rule in one line (src/tools/advise), and with --toml a config
// fragment that the device loader and `exphone audit` accept.
#include <iostream>

#include "apps/exphone/commands.h"
#include "tools/advise/advise.h"

namespace exphone::cli {

namespace {

struct AdviseOptions {
  std::string network, pbx;
  bool emergency = false;
  int rtt_ms = -1;
  bool json = false, toml = false;
  advise::Input in;
};

std::string join(const std::vector<std::string_view>& v) {
  std::string s;
  for (auto x : v) s += (s.empty() ? "" : ", ") + std::string(x);
  return s;
}

int run_advise(AdviseOptions& o) {
  auto net = advise::parse_network(o.network);
  if (!net) return report_error(make_error("advise-usage", "--network must be one of: " + join(advise::network_names())));
  auto pbx = advise::parse_pbx(o.pbx);
  if (!pbx) return report_error(make_error("advise-usage", "--pbx must be one of: " + join(advise::pbx_names())));
  if (o.json && o.toml) return report_error(make_error("advise-usage", "--json and --toml exclude each other"));
  o.in.network = *net;
  o.in.pbx = *pbx;
  o.in.emergency = o.emergency;
  if (o.rtt_ms >= 0) o.in.rtt_ms = o.rtt_ms;
  advise::Advice a = advise::advise(o.in);
  if (o.toml) {
    std::cout << advise::toml_fragment(o.in, a);
    return kExitOk;
  }
  if (o.json) {
    nlohmann::ordered_json j;
    j["network"] = std::string(advise::to_string(*net));
    j["pbx"] = std::string(advise::to_string(*pbx));
    j["emergency"] = o.emergency;
    j["tls_srtp"] = std::string(advise::to_string(a.tls_srtp));
    j["key_exchange"] = a.key_exchange;
    j["supported"] = a.supported;
    j["settings"] = {{"transport", a.transport},
                     {"registrar", a.registrar},
                     {"srtp", a.srtp},
                     {"min_tls", a.min_tls},
                     {"verify_server", true},
                     {"keepalive_interval_s", a.keepalive_interval_s}};
    if (a.t1_ms) j["settings"]["t1_ms"] = a.t1_ms;
    j["rules"] = nlohmann::ordered_json::array();
    for (const auto& r : a.rules) j["rules"].push_back({{"id", r.id}, {"text", r.text}});
    j["checklist"] = a.checklist;
    nlohmann::ordered_json t{{"invite_challenged", a.ttr.invite_challenged},
                             {"kept_alive_rtts", a.ttr.kept_alive_rtts},
                             {"cold_tls13_rtts", a.ttr.cold_tls13_rtts},
                             {"cold_tls12_rtts", a.ttr.cold_tls12_rtts}};
    if (o.in.rtt_ms) {
      t["rtt_ms"] = *o.in.rtt_ms;
      t["kept_alive_ms"] = a.ttr.kept_alive_ms;
      t["cold_tls13_ms"] = a.ttr.cold_tls13_ms;
      t["cold_tls12_ms"] = a.ttr.cold_tls12_ms;
      t["extra_cold_tls13_ms"] = a.ttr.cold_tls13_ms - a.ttr.kept_alive_ms;
      t["extra_cold_tls12_ms"] = a.ttr.cold_tls12_ms - a.ttr.kept_alive_ms;
    }
    j["time_to_ring"] = t;
    print_json(j);
    return kExitOk;
  }
  std::cout << "TLS + SRTP: " << advise::to_string(a.tls_srtp) << "; key exchange: " << a.key_exchange
            << (a.supported ? "" : "  (NOT supported by exphone yet)") << "\n\nRules:\n";
  for (const auto& r : a.rules) std::cout << "  - " << r.text << "\n";
  std::cout << "\nCertificate checklist:\n";
  for (const auto& c : a.checklist) std::cout << "  [ ] " << c << "\n";
  std::cout << "\nTime to ring (round trips): kept-alive " << a.ttr.kept_alive_rtts << ", cold TLS 1.3 " << a.ttr.cold_tls13_rtts
            << ", cold TLS 1.2 " << a.ttr.cold_tls12_rtts << (o.in.rtt_ms ? "" : "  (give --rtt-ms for milliseconds)") << "\n"
            << "\nConfig fragment: exphone advise --network " << o.network << " --pbx " << o.pbx
            << (o.emergency ? " --emergency" : "") << " --toml\n";
  return kExitOk;
}

}  // namespace

void add_advise_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<AdviseOptions>();
  auto c = app.add_subcommand("advise", "Security settings for a network and PBX, each rule explained; --toml prints a config fragment");
  c->add_option("--network", o->network, "cloud | vpn | shared-lan | airgapped-vlan")->required();
  c->add_option("--pbx", o->pbx, "asterisk-chan-sip | asterisk-pjsip | 3cx | avaya-aura | kamailio | webrtc | generic")->required();
  c->add_flag("--emergency", o->emergency, "emergency / intercom phone: fast failure detection, warm connection, backup server");
  c->add_option("--rtt-ms", o->rtt_ms, "round-trip time to the PBX: estimates the time to ring, cold vs kept-alive TLS")
      ->check(CLI::Range(0, 60000));
  c->add_flag("--json", o->json, "print one JSON object");
  c->add_flag("--toml", o->toml, "print a device config fragment ([[account]], [tls], [sip], [phone])");
  c->add_option("--domain", o->in.domain, "SIP domain / PBX address for the fragment (default pbx.plant.local)");
  c->add_option("--user", o->in.user, "extension for the fragment (default 1001)");
  c->add_option("--ca", o->in.ca_file, "CA file for tls.ca_files (default plant-root-ca.pem)");
  c->add_option("--client-cert", o->in.client_cert, "device certificate for mutual TLS");
  c->add_option("--client-key", o->in.client_key, "device key for mutual TLS");
  c->callback([o, &exit_code] { exit_code = run_advise(*o); });
}

}  // namespace exphone::cli
