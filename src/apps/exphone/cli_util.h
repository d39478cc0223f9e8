// Shared conventions of every subcommand (DESIGN.md "Interfaces"): exit 0 on success; on failure
// "error: <code>: <message>" on stderr and a non-zero exit; --json prints one object on stdout.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/result.h"

namespace exphone::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

// Prints "error: code: message" to stderr and returns kExitFailure.
int report_error(const Error& e);

// Reads a whole file ("-" = stdin) as bytes, bounded by max_bytes.
Result<std::string> read_input(const std::string& path, std::size_t max_bytes);

void print_json(const nlohmann::ordered_json& j);

// The process's command line (main keeps it) and its re-execution: every descriptor above stderr
// closed (Asio does not open sockets close-on-exec), then execv(/proc/self/exe, argv). Returns
// only on failure (error exec-failed). `handover` (at most 64 KiB: the web admin's sessions)
// reaches the next image through take_handover(): it travels in an anonymous memory file
// (memfd) at descriptor 3, never on disk or in the environment (which names only the
// descriptor).
void set_command_line(int argc, char** argv);
Error exec_self(const std::string& handover = "");
// What the previous image handed over ("" when it did not); later calls return "".
std::string take_handover();

}  // namespace exphone::cli
