// exphone: one binary, subcommands (DESIGN.md "Interfaces others rely on").
#include <CLI/CLI.hpp>
#include <iostream>

#include "apps/exphone/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"exphone - secure SIP phone core and integrator tools"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", std::string("exphone ") + EXPHONE_VERSION);
  app.fallthrough(false);
  exphone::cli::set_command_line(argc, argv);  // `run` re-executes itself on a provisioned config

  int exit_code = 0;
  exphone::cli::add_lint_commands(app, exit_code);
  exphone::cli::add_register_command(app, exit_code);
  exphone::cli::add_run_command(app, exit_code);
  exphone::cli::add_call_command(app, exit_code);
  exphone::cli::add_demo_command(app, exit_code);
  exphone::cli::add_config_command(app, exit_code);
  exphone::cli::add_pki_command(app, exit_code);
  exphone::cli::add_advise_command(app, exit_code);
  exphone::cli::add_audit_command(app, exit_code);
  exphone::cli::add_ctl_command(app, exit_code);
  exphone::cli::add_check_server_command(app, exit_code);
  exphone::cli::add_diag_command(app, exit_code);
  exphone::cli::add_page_command(app, exit_code);
  exphone::cli::add_web_command(app, exit_code);
  exphone::cli::add_provision_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : exphone::cli::kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  return exit_code;
}
