// The daemon's recent log, kept in memory for the admin page's "download log" (docs/config.md
// [web]): each stream's buffer is replaced by one that writes through to the original (journal,
// terminal) and appends to one shared tail of the last `capacity` bytes, stdout and stderr
// interleaved as written. Thread-safe (the provisioning worker logs too).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

namespace exphone {

class LogTail {
 public:
  // Starts copying what the streams print; restores their buffers when destroyed.
  LogTail(std::initializer_list<std::ostream*> streams, std::size_t capacity = 64 * 1024);
  ~LogTail();
  LogTail(const LogTail&) = delete;
  LogTail& operator=(const LogTail&) = delete;

  // The kept text, oldest first, starting at a line boundary.
  std::string text() const;

 private:
  class Tee;
  void keep(const char* s, std::size_t n);
  std::vector<std::unique_ptr<Tee>> tees_;
  std::size_t capacity_;
  mutable std::mutex mutex_;
  std::string ring_;
};

}  // namespace exphone
