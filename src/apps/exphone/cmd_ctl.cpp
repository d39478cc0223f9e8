// `exphone ctl [--socket PATH] COMMAND [ARGS] [--json]`: drives a running `exphone run` through
// its control socket (apps/exphone/control_server.h).
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <iostream>

#include "apps/exphone/commands.h"
#include "apps/exphone/control_server.h"
#include "apps/exphone/json_report.h"

namespace exphone::cli {

namespace {

struct CtlOptions {
  std::string socket;
  std::vector<std::string> words;
  bool json = false;
};

void print_human(const nlohmann::ordered_json& j) {
  if (j.contains("accounts"))
    for (const auto& a : j["accounts"])
      std::cout << "account " << a.value("name", "") << ": " << a.value("state", "")
                << (a.value("registered", false) ? " via " + a.value("transport", "") + " to " + a.value("registrar", "") : "")
                << (a.contains("failover") && a["failover"].value("on_backup", false)
                        ? " (backup " + a["failover"].value("registrar_uri", "") + ": " + a["failover"].value("reason", "") + ")"
                        : "")
                << "\n";
  if (j.contains("calls")) {
    if (j["calls"].empty()) std::cout << "no calls\n";
    for (const auto& c : j["calls"])
      std::cout << (c.value("secure", false) ? "[LOCKED] " : "[OPEN]   ") << c.value("direction", "") << " call "
                << c.value("call_id", "") << " " << c.value("peer", "") << ": " << c.value("state", "") << "\n";
  }
  if (j.contains("paging_groups"))  // docs/paging.md
    for (const auto& g : j["paging_groups"])
      std::cout << "paging " << g.value("group", "") << " (" << g.value("priority", "") << ", "
                << (g.value("secure", false) ? "SRTP" : "PLAIN RTP") << "): "
                << (g.value("playing", false) ? "PLAYING" : g.value("active", false) ? "interrupted" : "idle") << ", "
                << g.value("pages", 0) << " pages, " << g.value("auth_failures", 0) << " auth failures, "
                << g.value("replays", 0) << " replays\n";
  if (j.contains("clock") && j["clock"].value("ntp_configured", false)) {  // docs/config.md [clock]
    const auto& c = j["clock"];
    std::cout << "clock " << c.value("state", "") << " (" << c.value("source", "");
    if (c["offset_ms"].is_number()) std::cout << ", offset " << c["offset_ms"].get<long long>() << " ms";
    std::cout << ")\n";
  }
  if (j.contains("provisioning") && j["provisioning"].is_object()) {  // docs/provisioning.md
    const auto& p = j["provisioning"];
    std::cout << "provisioning " << p.value("state", "");
    if (p["error"].is_object()) std::cout << " (" << p["error"].value("code", "") << ": " << p["error"].value("message", "") << ")";
    if (p["pending"].is_object()) std::cout << ", on trial since " << p["pending"].value("since", "");
    std::cout << "\n";
  }
  if (j.contains("call_id")) std::cout << "call " << j["call_id"].get<std::string>() << "\n";
  if (!j.contains("accounts") && !j.contains("call_id") && !j.contains("provisioning") && j.value("ok", false)) std::cout << "ok\n";
}

int run_ctl(const CtlOptions& o) {
  std::string line;
  for (const auto& w : o.words) line += (line.empty() ? "" : " ") + w;
  namespace asio = boost::asio;
  asio::io_context io;
  asio::local::stream_protocol::socket sock(io);
  boost::system::error_code ec;
  std::string path = o.socket.empty() ? default_control_socket() : o.socket;
  sock.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) return report_error(make_error("ctl-unreachable", "no exphone is serving " + path + ": " + ec.message()));
  line += "\n";
  asio::write(sock, asio::buffer(line), ec);
  std::string reply;
  asio::read(sock, asio::dynamic_buffer(reply, 1 << 20), ec);  // until the server closes
  auto j = nlohmann::ordered_json::parse(reply, nullptr, false);
  if (j.is_discarded()) return report_error(make_error("ctl-bad-reply", "the daemon's reply is not JSON"));
  if (o.json) print_json(j);
  else if (j.value("ok", false)) print_human(j);
  if (!j.value("ok", false)) {
    const auto& e = j["error"];
    return report_error(make_error(e.value("code", "ctl-failed"), e.value("message", "")));
  }
  return kExitOk;
}

}  // namespace

void add_ctl_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CtlOptions>();
  auto cmd = app.add_subcommand("ctl",
                                "Drive a running `exphone run`: status | dial TARGET [ACCOUNT] | answer [CALL-ID] | "
                                "hangup [CALL-ID] | hold [CALL-ID] | resume [CALL-ID] | dtmf DIGITS [CALL-ID] | press emergency | reprovision (fetch the provisioning bundle now, when [provisioning] url is set). `status --json` lists each "
                                "account's registration and each call as a call report.");
  cmd->add_option("--socket", o->socket, "control socket (default: /run/exphone/ctl.sock as root, else /tmp/exphone-UID/ctl.sock)");
  cmd->add_flag("--json", o->json, "print the daemon's JSON reply");
  cmd->add_option("command", o->words, "command and its arguments")->required();
  cmd->callback([o, &exit_code] { exit_code = run_ctl(*o); });
}

}  // namespace exphone::cli
