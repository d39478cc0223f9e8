#include "apps/exphone/control_server.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <sstream>

#include "apps/exphone/json_report.h"
#include "provisioning/provision.h"

namespace exphone::cli {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using json = nlohmann::ordered_json;

std::string default_control_socket() {
  // systemd's RuntimeDirectory= (the unit sets /run/exphone) wins: under PrivateTmp a /tmp path
  // would be invisible to `exphone ctl`
  if (const char* rd = std::getenv("RUNTIME_DIRECTORY"); rd && *rd) return std::string(rd) + "/ctl.sock";
  if (geteuid() == 0) return "/run/exphone/ctl.sock";
  return "/tmp/exphone-" + std::to_string(geteuid()) + "/ctl.sock";
}

namespace {

constexpr std::size_t kMaxLine = 4096;

json error_reply(const Error& e) { return json{{"ok", false}, {"error", to_json(e)}}; }

json account_json(const ua::RegistrationClient& c, const ua::MediaPolicy& media) {
  const auto& s = c.status();
  json j{{"name", c.settings().name},
         {"srtp", std::string(ua::to_string(media.srtp))},  // the policy of calls through it
         {"key_exchange", std::string(ua::to_string(media.key_exchange))},
         {"state", std::string(ua::to_string(s.state))},
         {"registered", s.registered},
         {"transport", s.transport},
         {"registrar", s.registrar},
         {"expires", s.expires}};
  if (s.tls) j["tls"] = to_json(*s.tls);
  if (s.error && !s.registered) j["error"] = to_json(*s.error);
  // docs/resilience.md: which registrar of the ordered list is in use, and why
  j["failover"] = {{"registrar_uri", s.registrar_uri},     {"registrar_index", s.registrar_index},
                   {"on_backup", s.registrar_index != 0},  {"reason", s.failover_reason},
                   {"consecutive_failures", s.consecutive_failures}, {"retry_in_ms", s.retry_in_ms},
                   {"failovers", s.failovers},             {"failbacks", s.failbacks}};
  return j;
}

// When this process (re)started: a restart on a new config (provisioning, the web page) shows.
const std::string kStarted = [] {
  const auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return std::string(buf);
}();

}  // namespace

std::string ControlServer::execute(phone::Phone& phone, const std::string& line, const TrustedClock* clock,
                                   const std::string* provisioning_config) {
  std::istringstream in(line);
  std::string cmd, arg, arg2;
  in >> cmd >> arg >> arg2;
  json reply;
  auto status = [&](Status s) { return s ? json{{"ok", true}} : error_reply(s.error()); };
  if (cmd == "status") {
    reply = {{"ok", true}, {"started", kStarted}, {"pid", static_cast<long>(::getpid())}};
    reply["accounts"] = json::array();
    for (std::size_t i = 0; i < phone.accounts().size(); ++i)
      reply["accounts"].push_back(account_json(*phone.accounts()[i], phone.account_media(i)));
    reply["calls"] = json::array();
    for (const auto& c : phone.calls()) reply["calls"].push_back(to_json(c));
    reply["warnings"] = phone.warnings();
    if (clock != nullptr) reply["clock"] = to_json(*clock);
    if (provisioning_config != nullptr)
      reply["provisioning"] = json::parse(provisioning::state_json(provisioning::load_state(*provisioning_config)));
    if (const auto* h = phone.hotline()) {
      const auto& hs = h->status();
      reply["emergency"] = {{"active", hs.active}, {"call_id", hs.call_id}, {"attempts", hs.attempts},
                            {"cleartext_used", hs.cleartext_used}};
      if (hs.error) reply["emergency"]["error"] = to_json(*hs.error);
    }
    if (const auto* p = phone.paging()) {  // docs/paging.md: "pages" in progress, every "paging_groups"
      reply["pages"] = json::array();
      reply["paging_groups"] = json::array();
      for (const auto& g : p->status()) {
        if (g.active) reply["pages"].push_back(to_json(g));
        reply["paging_groups"].push_back(to_json(g));
      }
      reply["paging_holds_calls"] = p->holding_calls();
    }
  } else if (cmd == "dial") {
    if (arg.empty()) {
      reply = error_reply(make_error("ctl-usage", "dial needs a target"));
    } else {
      auto id = phone.dial(arg, phone.call_settings(), arg2);
      reply = id ? json{{"ok", true}, {"call_id", *id}} : error_reply(id.error());
    }
  } else if (cmd == "answer") {
    reply = status(phone.answer(arg));
  } else if (cmd == "hangup") {
    reply = status(phone.hang_up(arg));
  } else if (cmd == "press") {
    reply = status(phone.press(arg.empty() ? "emergency" : arg));
  } else if (cmd == "dtmf") {
    // dtmf DIGITS [CALL-ID]
    reply = arg.empty() ? error_reply(make_error("ctl-usage", "dtmf needs digits")) : status(phone.send_dtmf(arg2, arg));
  } else if (cmd == "hold" || cmd == "resume") {
    reply = status(phone.hold(arg, cmd == "hold"));
  } else if (cmd == "reprovision") {  // served by the daemon when it provisions (add_async_command)
    reply = error_reply(make_error("prov-not-configured", "no [provisioning] url in the running config"));
  } else {
    reply = error_reply(make_error("ctl-usage", "unknown command '" + cmd + "' (status, dial, answer, hangup, hold, resume, dtmf, press, reprovision)"));
  }
  return reply.dump() + "\n";
}

ControlServer::ControlServer(asio::io_context& io, phone::Phone& phone, std::string path)
    : phone_(phone), path_(std::move(path)), acceptor_(io) {}

ControlServer::~ControlServer() {
  *alive_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  ::unlink(path_.c_str());
}

Result<std::unique_ptr<ControlServer>> ControlServer::open(asio::io_context& io, phone::Phone& phone, const std::string& path,
                                                           std::shared_ptr<const TrustedClock> clock) {
  std::unique_ptr<ControlServer> s(new ControlServer(io, phone, path));
  s->clock_ = std::move(clock);
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::error_code fec;
  if (!dir.empty()) {
    std::filesystem::create_directories(dir, fec);
    ::chmod(dir.c_str(), 0700);
  }
  // a stale socket from a crashed daemon would make bind fail: remove it only if nobody answers
  boost::system::error_code ec;
  {
    local::socket probe(io);
    probe.connect(local::endpoint(path), ec);
    if (!ec) return make_error("ctl-busy", "another exphone already serves " + path);
    ::unlink(path.c_str());
  }
  mode_t old = ::umask(0177);
  s->acceptor_.open(local(), ec);
  if (!ec) s->acceptor_.bind(local::endpoint(path), ec);
  ::umask(old);
  if (!ec) s->acceptor_.listen(8, ec);
  if (ec) return make_error("ctl-failed", "cannot serve the control socket " + path + ": " + ec.message());
  s->accept();
  return s;
}

void ControlServer::accept() {
  std::weak_ptr<bool> alive = alive_;
  acceptor_.async_accept([this, alive](const boost::system::error_code& ec, local::socket sock) {
    if (alive.expired() || ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto conn = std::make_shared<local::socket>(std::move(sock));
      auto buf = std::make_shared<asio::streambuf>(kMaxLine);
      asio::async_read_until(*conn, *buf, '\n', [this, alive, conn, buf](const boost::system::error_code& rec, std::size_t n) {
        if (alive.expired()) return;
        std::string line;
        if (!rec || n > 0) {
          std::istream is(buf.get());
          std::getline(is, line);
        }
        auto send = [conn](std::string text) {
          auto reply = std::make_shared<std::string>(std::move(text));
          asio::async_write(*conn, asio::buffer(*reply), [conn, reply](const boost::system::error_code&, std::size_t) {
            boost::system::error_code ignored;
            conn->close(ignored);
          });
        };
        if (rec && line.empty()) {
          send(json{{"ok", false}, {"error", {{"code", "ctl-usage"}, {"message", "one command line of at most 4096 bytes"}}}}.dump() + "\n");
          return;
        }
        std::istringstream words(line);
        std::string cmd, args;
        words >> cmd;
        std::getline(words, args);
        if (auto it = async_.find(cmd); it != async_.end()) {
          it->second(args, [alive, send](std::string text) {
            if (!alive.expired()) send(std::move(text));
          });
          return;
        }
        send(execute(phone_, line, clock_.get(), provisioning_config_.empty() ? nullptr : &provisioning_config_));
      });
    }
    accept();
  });
}

}  // namespace exphone::cli
