#include "apps/exphone/cli_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <unistd.h>
#include <vector>

namespace exphone::cli {

int report_error(const Error& e) {
  std::cerr << "error: " << e.code << ": " << e.message;
  if (e.offset != kNoOffset) std::cerr << " (at byte " << e.offset << ")";
  std::cerr << "\n";
  return kExitFailure;
}

Result<std::string> read_input(const std::string& path, std::size_t max_bytes) {
  FILE* f = path == "-" ? stdin : std::fopen(path.c_str(), "rb");
  if (!f) return make_error("io-open", path + ": " + std::strerror(errno));
  std::string data;
  char buf[8192];
  std::size_t n = 0;
  bool too_big = false;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    if (data.size() + n > max_bytes) {
      too_big = true;
      break;
    }
    data.append(buf, n);
  }
  bool err = std::ferror(f) != 0;
  if (f != stdin) std::fclose(f);
  if (too_big) return make_error("input-too-large", path + ": larger than " + std::to_string(max_bytes) + " bytes");
  if (err) return make_error("io-read", path + ": read error");
  return data;
}

void print_json(const nlohmann::ordered_json& j) {
  // error_handler replace: input bytes that are not UTF-8 must not abort the report
  std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

namespace {
std::vector<std::string>& command_line() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void set_command_line(int argc, char** argv) {
  command_line().assign(argv, argv + argc);
}

Error exec_self() {
  std::vector<char*> argv;
  for (auto& a : command_line()) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::close_range(3, ~0U, 0);
  ::execv("/proc/self/exe", argv.data());
  return make_error("exec-failed", std::string("cannot restart exphone: ") + std::strerror(errno));
}

}  // namespace exphone::cli
