// `exphone sip lint` and `exphone sdp lint`: parse one message and explain it.
#include <iostream>
#include <memory>

#include "apps/exphone/commands.h"
#include "apps/exphone/json_report.h"
#include "sip/validate.h"

namespace exphone::cli {

namespace {

struct LintOptions {
  std::string file = "-";
  bool json = false;
};

int sip_lint(const LintOptions& o) {
  sip::Limits limits;
  auto bytes = read_input(o.file, limits.max_message_size);
  if (!bytes) return report_error(bytes.error());
  auto m = sip::Message::parse(std::move(*bytes), limits);
  if (!m) return report_error(m.error());
  sip::Verdict v = sip::validate(*m);
  if (o.json) {
    print_json(to_json(*m, v));
    return kExitOk;
  }
  if (m->is_request())
    std::cout << "request " << m->method() << " " << m->request_uri().raw << "\n";
  else
    std::cout << "response " << m->status() << " " << m->reason() << "\n";
  std::cout << "Call-ID: " << m->call_id() << "\n";
  if (auto c = m->cseq()) std::cout << "CSeq: " << c->number << " " << c->method << "\n";
  if (auto vs = m->vias())
    for (const auto& via : *vs)
      std::cout << "Via: " << via.transport << " " << via.sent_by() << " branch=" << via.branch() << "\n";
  std::cout << m->headers().size() << " headers, body " << m->body().size() << " bytes\n";
  if (v.valid)
    std::cout << "valid: a UAS would process it\n";
  else if (v.response)
    std::cout << "invalid: a UAS answers " << v.response << " (" << v.code << ": " << v.reason << ")\n";
  else
    std::cout << "invalid: dropped (" << v.code << ": " << v.reason << ")\n";
  return kExitOk;
}

int sdp_lint(const LintOptions& o) {
  sdp::Limits limits;
  auto bytes = read_input(o.file, limits.max_size);
  if (!bytes) return report_error(bytes.error());
  auto s = sdp::parse(*bytes, limits);
  if (!s) return report_error(s.error());
  auto errors = sdp::attribute_errors(*s);
  if (o.json) {
    auto j = to_json(*s);
    j["valid"] = errors.empty();
    print_json(j);
    return kExitOk;
  }
  std::cout << "session " << s->name << ", " << s->media().size() << " media section(s)\n";
  for (const auto& md : s->media()) {
    std::cout << "m=" << md.media << " " << md.port << " " << md.proto << " (" << md.formats.size()
              << " formats, " << md.cryptos().size() << " a=crypto)\n";
  }
  for (const auto& e : errors) std::cout << "attribute error: " << e.code << ": " << e.message << "\n";
  std::cout << (errors.empty() ? "valid\n" : "invalid attributes\n");
  return kExitOk;
}

}  // namespace

void add_lint_commands(CLI::App& app, int& exit_code) {
  auto sip = app.add_subcommand("sip", "SIP message tools");
  sip->require_subcommand(1);
  auto sip_opts = std::make_shared<LintOptions>();
  auto lint = sip->add_subcommand(
      "lint",
      "Parse one SIP message as received over UDP and report it; with --json: the parsed fields, the "
      "SDP body, and the UAS verdict (\"valid\", \"response\": the status a phone would answer, 0 if "
      "none). Exit 1 with 'error: <code>: <message>' if the message cannot be parsed.");
  lint->add_option("file", sip_opts->file, "message file, or - for stdin")->capture_default_str();
  lint->add_flag("--json", sip_opts->json, "print one JSON object");
  lint->callback([sip_opts, &exit_code] { exit_code = sip_lint(*sip_opts); });

  auto sdp = app.add_subcommand("sdp", "SDP tools");
  sdp->require_subcommand(1);
  auto sdp_opts = std::make_shared<LintOptions>();
  auto slint = sdp->add_subcommand(
      "lint",
      "Parse one SDP session description and report it; attribute errors (bad a=crypto key, bad "
      "fingerprint) are listed and make \"valid\" false. Exit 1 if it cannot be parsed.");
  slint->add_option("file", sdp_opts->file, "SDP file, or - for stdin")->capture_default_str();
  slint->add_flag("--json", sdp_opts->json, "print one JSON object");
  slint->callback([sdp_opts, &exit_code] { exit_code = sdp_lint(*sdp_opts); });
}

}  // namespace exphone::cli
