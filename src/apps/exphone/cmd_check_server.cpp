// `exphone check-server URI [--ca FILE...] [--client-cert C --client-key K] [--json]`: connects to
// a SIP server over TLS as the phone would and explains it (docs/tools.md, check-server).
#include <openssl/ssl.h>

#include <iostream>
#include <memory>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "net/tls/tls_inspect.h"
#include "tools/check_server/checker.h"
#include "tools/check_server/report_json.h"

namespace exphone::cli {

namespace {

namespace cs = tools::check_server;
using Json = nlohmann::ordered_json;

struct CheckServerOptions {
  std::string uri;
  std::vector<std::string> ca_files;
  std::string client_cert, client_key;
  bool json = false;
  int timeout_s = 10;
  bool no_legacy_probe = false;
};


void print_human(const cs::CheckReport& r) {
  std::cout << "server       " << r.uri << " -> " << r.address << " (TLS, certificate must name '" << r.server_name
            << "')\n";
  if (!r.tls_version.empty()) std::cout << "tls          " << r.tls_version << " " << r.cipher << "\n";
  if (r.chain.empty()) {
    std::cout << "chain        (no certificate received)\n";
  } else {
    std::cout << "chain        " << r.chain.size() << " certificate" << (r.chain.size() == 1 ? "" : "s")
              << " as sent by the server\n";
  }
  for (std::size_t i = 0; i < r.chain.size(); ++i) {
    const auto& c = r.chain[i];
    std::cout << "  [" << i << "] " << c.subject << "  (" << cs::chain_role(r.chain, i) << ")\n"
              << "      issuer     " << c.issuer << "\n"
              << "      valid      " << net::tls::format_utc(c.not_before) << " .. "
              << net::tls::format_utc(c.not_after) << "\n";
    if (!c.san.empty()) {
      std::cout << "      names     ";
      for (const auto& s : c.san) std::cout << " " << s;
      std::cout << "\n";
    }
    std::cout << "      key        " << c.key_type << " " << c.key_bits << " bits"
              << (c.key_group.empty() ? "" : " (" + c.key_group + ")") << ", signature " << c.signature_algorithm
              << "\n"
              << "      sha256     " << c.sha256_fingerprint << "\n";
  }
  if (r.verified)
    std::cout << "verdict      OK: the chain verifies and the certificate names '" << r.server_name << "'\n";
  else if (r.verdict)
    std::cout << "verdict      FAIL " << r.verdict->code << ": " << r.verdict->message << "\n";
  std::cout << "local clock  " << net::tls::format_utc(r.local_clock) << "\n";

  std::cout << "client cert  ";
  if (!r.client_cert.requested)
    std::cout << "not requested by the server";
  else if (!r.client_cert.sent)
    std::cout << "requested by the server; none sent"
              << (r.client_cert.accepted == std::optional<bool>(false) ? " -> refused (mutual TLS required)"
                  : r.client_cert.accepted ? " -> accepted without one (optional)"
                                           : "");
  else
    std::cout << "requested; ours sent"
              << (r.client_cert.accepted == std::optional<bool>(false) ? " -> REFUSED"
                  : r.client_cert.accepted ? " -> accepted"
                                           : "");
  std::cout << "\n";
  for (const auto& p : r.legacy)
    std::cout << "legacy       " << p.version << ": "
              << (!p.accepted ? "unknown (" + p.detail + ")" : *p.accepted ? "ACCEPTED" : "refused") << "\n";
  std::cout << "options      ";
  if (r.options.answered)
    std::cout << r.options.status << " " << r.options.reason << " in " << r.options.time_ms << " ms"
              << (r.options.server.empty() ? "" : " (" + r.options.server + ")")
              << (r.options.unverified ? " -- over an UNVERIFIED connection" : "");
  else if (r.options.error)
    std::cout << "no response: " << r.options.error->code << ": " << r.options.error->message;
  else
    std::cout << "not sent";
  std::cout << "\n";
  for (const auto& w : r.warnings) std::cout << "warning      " << w.code << ": " << w.message << "\n";
}

int run_check_server(const CheckServerOptions& o) {
  if (o.timeout_s <= 0 || o.timeout_s > 300)
    return report_error(make_error("usage", "--timeout must be 1..300 seconds"));
  cs::CheckOptions co;
  co.uri = o.uri;
  co.ca_files = o.ca_files;
  co.client_cert = o.client_cert;
  co.client_key = o.client_key;
  co.timeout = Millis(o.timeout_s * 1000L);
  co.probe_legacy = !o.no_legacy_probe;
  auto r = cs::check_server(co);
  if (!r) return report_error(r.error());
  if (o.json)
    print_json(cs::report_json(*r));
  else
    print_human(*r);
  if (auto e = r->error()) return report_error(*e);
  return kExitOk;
}

}  // namespace

void add_check_server_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CheckServerOptions>();
  auto cmd = app.add_subcommand(
      "check-server",
      "Connect to a SIP server over TLS (sips:host[:port] or sip:host;transport=tls) as the phone would and "
      "explain it: TLS version and cipher, the chain as sent, the verdict against the trust store (the "
      "phone's tls-* codes with the fix), TLS 1.0/1.1 still accepted, mutual TLS, and an OPTIONS round trip. "
      "Exit 0 only when the certificate verifies and OPTIONS is answered.");
  cmd->add_option("uri", o->uri, "server URI, e.g. sips:pbx.example.com:5061")->required();
  cmd->add_option("--ca", o->ca_files, "trust store: CA certificate file(s), PEM or DER (default: the system store)");
  cmd->add_option("--client-cert", o->client_cert, "client certificate for mutual TLS (PEM, may carry the chain)");
  cmd->add_option("--client-key", o->client_key, "its private key (PEM; default: in the --client-cert file)");
  cmd->add_flag("--json", o->json, "print one JSON object (docs/tools.md)");
  cmd->add_option("--timeout", o->timeout_s, "seconds per step (connect, OPTIONS, each probe)")->capture_default_str();
  cmd->add_flag("--no-legacy-probe", o->no_legacy_probe, "skip the TLS 1.0/1.1 probes");
  cmd->callback([o, &exit_code] { exit_code = run_check_server(*o); });
}

}  // namespace exphone::cli
