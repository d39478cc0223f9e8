#pragma once

#include <CLI/CLI.hpp>

#include "apps/exphone/cli_util.h"

namespace exphone::cli {

// `sip lint`, `sdp lint`. Each callback stores its exit status in exit_code.
void add_lint_commands(CLI::App& app, int& exit_code);
// `register`
void add_register_command(CLI::App& app, int& exit_code);
// `run`
void add_run_command(CLI::App& app, int& exit_code);
// `call`
void add_call_command(CLI::App& app, int& exit_code);
// `demo`
void add_demo_command(CLI::App& app, int& exit_code);
// `config check`
void add_config_command(CLI::App& app, int& exit_code);
// `pki init|server|device|fleet|list`
void add_pki_command(CLI::App& app, int& exit_code);
// `advise`
void add_advise_command(CLI::App& app, int& exit_code);
// `audit`
void add_audit_command(CLI::App& app, int& exit_code);

// `ctl`
void add_ctl_command(CLI::App& app, int& exit_code);
// `check-server`
void add_check_server_command(CLI::App& app, int& exit_code);
// `diag`
void add_diag_command(CLI::App& app, int& exit_code);
// `page`, `page keygen`
void add_page_command(CLI::App& app, int& exit_code);
// `web hash-password`
void add_web_command(CLI::App& app, int& exit_code);
// `provision`
void add_provision_command(CLI::App& app, int& exit_code);

}  // namespace exphone::cli
