// `exphone diag CAPTURE [--srtp-keys FILE] [--tls-keylog FILE] [--out DIR] [--html FILE] [--json]` (issue 6):
// per call verdicts from a capture, SRTP decryption into WAVs (src/tools/diag). Exit 0 when the
// capture was analysed, whatever the findings; 1 with "error: diag-...: ..." when it could not be.
#include <iostream>

#include "apps/exphone/commands.h"
#include "tools/diag/diag.h"
#include "tools/diag/html_report.h"
#include "tools/diag/report.h"

namespace exphone::cli {

namespace {

struct DiagOptions {
  std::string capture;
  std::string srtp_keys, tls_keylog, out, html;
  bool json = false;
};

int run_diag(const DiagOptions& o) {
  diag::Options d;
  if (!o.srtp_keys.empty()) d.srtp_keys = o.srtp_keys;
  if (!o.tls_keylog.empty()) d.tls_keylog = o.tls_keylog;
  if (!o.out.empty()) d.out_dir = o.out;
  auto r = diag::analyze(o.capture, d);
  if (!r) return report_error(r.error());
  if (!o.html.empty())
    if (auto w = diag::write_html(*r, o.html); !w) return report_error(w.error());
  if (o.json) print_json(diag::to_json(*r));
  else std::cout << diag::to_text(*r);
  return kExitOk;
}

}  // namespace

void add_diag_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<DiagOptions>();
  auto c = app.add_subcommand("diag", "Verdicts from a capture (pcap/pcapng): signaling and media encrypted or not, "
                                      "keys exposed, one-way audio; SRTP decryption into WAVs with the phone's key log");
  c->add_option("capture", o->capture, "capture file (pcap or pcapng)")->required();
  c->add_option("--srtp-keys", o->srtp_keys, "SRTP key log ([diagnostics] srtp_keylog_file, docs/diagnostics.md)");
  c->add_option("--tls-keylog", o->tls_keylog, "TLS key log (NSS format): printed as the tshark command that decrypts the SIP");
  c->add_option("--out", o->out, "directory for one WAV per media direction");
  c->add_option("--html", o->html, "write a self-contained HTML report (verdicts, SIP ladder, media timeline)");
  c->add_flag("--json", o->json, "print one JSON object");
  c->callback([o, &exit_code] { exit_code = run_diag(*o); });
}

}  // namespace exphone::cli
