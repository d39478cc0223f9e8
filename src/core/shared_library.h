// A shared library opened at run time (dlopen), for dependencies only some features use: a phone
// that never provisions, decodes a capture or records a WAV does not map those libraries and the
// dozens they pull in (docs/performance.md, footprint). Each user keeps a table of the functions
// it calls, filled once (LazyLibrary) and shared by every thread.
#pragma once

#include <mutex>
#include <string>

#include "core/result.h"

namespace exphone {

// Opens `soname` (e.g. "libpcap.so.0.8") and fills `table` by calling bind(handle, table,
// error); the first missing symbol or the open failure is the error (code `code`, naming the
// Debian `package`). Loaded once; the library stays mapped for the life of the process.
template <class Table>
class LazyLibrary {
 public:
  using Binder = void (*)(void* handle, Table& table, std::string& error);
  LazyLibrary(const char* soname, const char* package, const char* code, Binder bind)
      : soname_(soname), package_(package), code_(code), bind_(bind) {}

  Result<const Table*> get() {
    std::call_once(once_, [this] { load(); });
    if (!error_.empty()) return make_error(code_, error_);
    return &table_;
  }

 private:
  void load();

  const char* soname_;
  const char* package_;
  const char* code_;
  Binder bind_;
  std::once_flag once_;
  Table table_{};
  std::string error_;
};

// dlopen + dlerror, out of line (no <dlfcn.h> in every header user).
void* open_shared_library(const char* soname, std::string& error);
void* shared_library_symbol(void* handle, const char* name);

// Binds fn to `name` in handle; the first missing name becomes the error.
template <class F>
void bind_symbol(void* handle, const char* name, F& fn, std::string& error) {
  fn = reinterpret_cast<F>(shared_library_symbol(handle, name));
  if (fn == nullptr && error.empty()) error = std::string("the library has no ") + name;
}

template <class Table>
void LazyLibrary<Table>::load() {
  std::string why;
  void* h = open_shared_library(soname_, why);
  if (h == nullptr) {
    error_ = std::string("cannot load ") + soname_ + " (Debian package " + package_ + "): " + why;
    return;
  }
  bind_(h, table_, error_);
  if (!error_.empty()) error_ = std::string(soname_) + ": " + error_;
}

}  // namespace exphone
