// `exphone audit CONFIG [--network N] [--json]`: findings for a device config (src/tools/audit):
// id, severity, line, risk, fix. Exit 1 with "error: audit-failed: ..." when any finding is an
// error; warnings and infos alone exit 0.
#include <iostream>

#include "apps/exphone/commands.h"
#include "tools/audit/audit.h"

namespace exphone::cli {

namespace {

struct AuditOptions {
  std::string config;
  std::string network;
  bool json = false;
  bool assume_ntp = false;
  long warn_days = 30;
};

int run_audit(const AuditOptions& o) {
  audit::Options ao;
  if (!o.network.empty()) {
    auto n = advise::parse_network(o.network);
    if (!n) return report_error(make_error("audit-usage", "--network must be cloud, vpn, shared-lan or airgapped-vlan"));
    ao.network = *n;
  }
  ao.assume_ntp = o.assume_ntp;
  ao.warn_days = o.warn_days;
  auto r = audit::audit_file(o.config, ao);
  if (!r) return report_error(r.error());
  if (o.json) {
    nlohmann::ordered_json j;
    j["config"] = r->source;
    j["network"] = r->network ? nlohmann::ordered_json(std::string(advise::to_string(*r->network))) : nlohmann::ordered_json();
    j["errors"] = r->errors;
    j["warnings"] = r->warnings;
    j["infos"] = r->infos;
    j["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : r->findings)
      j["findings"].push_back({{"id", f.id},
                               {"severity", std::string(audit::to_string(f.severity))},
                               {"line", f.line},
                               {"key", f.key},
                               {"risk", f.risk},
                               {"fix", f.fix}});
    print_json(j);
  } else {
    for (const auto& f : r->findings) {
      std::cout << r->source;
      if (f.line > 0) std::cout << ":" << f.line;
      std::cout << ": " << audit::to_string(f.severity) << ": " << f.id << (f.key.empty() ? "" : " (" + f.key + ")") << "\n"
                << "    risk: " << f.risk << "\n    fix:  " << f.fix << "\n";
    }
    std::cout << r->source << ": " << r->errors << " errors, " << r->warnings << " warnings, " << r->infos << " notes\n";
  }
  if (r->errors > 0)
    return report_error(make_error("audit-failed", r->source + ": " + std::to_string(r->errors) + " error finding(s)"));
  return kExitOk;
}

}  // namespace

void add_audit_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<AuditOptions>();
  auto c = app.add_subcommand("audit", "Lint a device config against the security rules; findings with line, risk and fix. "
                                       "Exit 1 when any finding is an error");
  c->add_option("config", o->config, "device configuration (TOML)")->required();
  c->add_option("--network", o->network, "cloud | vpn | shared-lan | airgapped-vlan: how strict SRTP/TLS findings are");
  c->add_flag("--json", o->json, "print one JSON object");
  c->add_flag("--assume-ntp", o->assume_ntp, "the device syncs its clock (skip this host's NTP check)");
  c->add_option("--warn-days", o->warn_days, "certificates expiring sooner are warnings (default 30)");
  c->callback([o, &exit_code] { exit_code = run_audit(*o); });
}

}  // namespace exphone::cli
