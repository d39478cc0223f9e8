// `exphone web hash-password`: the value of [web] password_hash (docs/config.md [web]). The
// password is read from stdin (one line; not echoed on a terminal), never from the command line
// (which other users see in ps).
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "apps/exphone/commands.h"
#include "web/auth.h"

namespace exphone::cli {

namespace {

struct HashOptions {
  int log2_n = 15;
  bool json = false;
};

Result<std::string> read_password() {
  const bool tty = ::isatty(STDIN_FILENO) != 0;
  termios old{};
  if (tty) {
    std::cerr << "admin password: " << std::flush;
    if (::tcgetattr(STDIN_FILENO, &old) == 0) {
      termios quiet = old;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  std::string line;
  bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << std::endl;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!ok || line.empty()) return make_error("web-password", "no password on stdin");
  if (line.size() < 8) return make_error("web-password", "the admin password must have at least 8 characters");
  if (line.size() > 1024) return make_error("web-password", "the admin password must have at most 1024 characters");
  return line;
}

}  // namespace

void add_web_command(CLI::App& app, int& exit_code) {
  auto web = app.add_subcommand("web", "The HTTPS admin page of `exphone run` ([web] in docs/config.md)");
  web->require_subcommand(1);
  auto o = std::make_shared<HashOptions>();
  auto hash = web->add_subcommand(
      "hash-password",
      "Reads the admin password from stdin and prints the [web] password_hash line (OpenSSL scrypt, random salt)");
  hash->add_option("--ln", o->log2_n, "scrypt cost: N = 2^ln")->check(CLI::Range(14, 20))->capture_default_str();
  hash->add_flag("--json", o->json, "print {\"password_hash\": ...}");
  hash->callback([o, &exit_code] {
    auto pw = read_password();
    if (!pw) {
      exit_code = report_error(pw.error());
      return;
    }
    auto h = web::hash_password(*pw, o->log2_n);
    if (!h) {
      exit_code = report_error(h.error());
      return;
    }
    if (o->json) print_json({{"password_hash", *h}});
    else std::cout << "password_hash = \"" << *h << "\"" << std::endl;
    exit_code = kExitOk;
  });
}

}  // namespace exphone::cli
