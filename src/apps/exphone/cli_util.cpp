#include "apps/exphone/cli_util.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string_view>
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

namespace {
constexpr const char* kHandoverEnv = "EXPHONE_HANDOVER_FD";
constexpr std::size_t kMaxHandover = 64 * 1024;
constexpr int kHandoverFd = 3;
}  // namespace

Error exec_self(const std::string& handover) {
  std::vector<char*> argv;
  for (auto& a : command_line()) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::unsetenv(kHandoverEnv);
  int keep = -1;
  if (!handover.empty() && handover.size() <= kMaxHandover) {
    int fd = ::memfd_create("exphone-handover", 0);  // not close-on-exec: the next image reads it
    if (fd >= 0 && ::write(fd, handover.data(), handover.size()) == static_cast<ssize_t>(handover.size()) &&
        ::lseek(fd, 0, SEEK_SET) == 0 && (fd == kHandoverFd || ::dup2(fd, kHandoverFd) == kHandoverFd)) {
      if (fd != kHandoverFd) ::close(fd);
      keep = kHandoverFd;
      ::setenv(kHandoverEnv, "3", 1);
    } else if (fd >= 0) {
      ::close(fd);  // the restart goes on without it: the sessions log in again
    }
  }
  ::close_range(keep == kHandoverFd ? kHandoverFd + 1 : 3, ~0U, 0);
  ::execv("/proc/self/exe", argv.data());
  return make_error("exec-failed", std::string("cannot restart exphone: ") + std::strerror(errno));
}

std::string take_handover() {
  const char* v = std::getenv(kHandoverEnv);
  if (v == nullptr || std::string_view(v) != "3") return "";
  ::unsetenv(kHandoverEnv);
  std::string out;
  struct stat st {};
  // only what exec_self left: an anonymous memory file (memfd) at descriptor 3
  if (::fstat(kHandoverFd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0 &&
      static_cast<std::size_t>(st.st_size) <= kMaxHandover) {
    out.resize(static_cast<std::size_t>(st.st_size));
    ssize_t n = ::pread(kHandoverFd, out.data(), out.size(), 0);
    out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  }
  ::close(kHandoverFd);
  return out;
}

}  // namespace exphone::cli
