#include "core/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace exphone {

namespace {

Error io_error(const std::string& code, const std::string& what, const std::string& path) {
  return make_error(code, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Status fsync_dir(const std::string& dir, const std::string& code) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error(code, "open folder", dir);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return io_error(code, "fsync folder", dir);
  return Ok{};
}

Status write_new_file(const std::string& path, std::string_view data, unsigned mode, const std::string& code) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return io_error(code, "create", path);
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto e = io_error(code, "write", path);
      ::close(fd);
      return e;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto e = io_error(code, "fsync", path);
    ::close(fd);
    return e;
  }
  if (::close(fd) != 0) return io_error(code, "close", path);
  return Ok{};
}

std::string unique_suffix() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::to_string(ns) + "-" + std::to_string(::getpid());
}

Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode, const std::string& code) {
  std::filesystem::path p(path);
  std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  std::string tmp = path + ".tmp-" + unique_suffix();
  if (auto s = write_new_file(tmp, data, mode, code); !s) {
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto e = io_error(code, "rename to", path);
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_dir(dir, code);
}

}  // namespace exphone
