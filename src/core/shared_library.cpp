#include "core/shared_library.h"

#include <dlfcn.h>

namespace exphone {

void* open_shared_library(const char* soname, std::string& error) {
  void* h = ::dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = ::dlerror();
    error = e != nullptr ? e : "unknown error";
  }
  return h;
}

void* shared_library_symbol(void* handle, const char* name) { return ::dlsym(handle, name); }

}  // namespace exphone
