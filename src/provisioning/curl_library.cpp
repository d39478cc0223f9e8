#include "provisioning/curl_library.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace exphone::provisioning {

namespace {

struct Loaded {
  CurlLibrary lib{};
  std::string error;
};

// The first missing function is the error.
template <class F>
void bind(void* handle, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(::dlsym(handle, name));
  if (out == nullptr && error.empty()) error = std::string("libcurl.so.4 has no ") + name;
}

Loaded load() {
  Loaded l;
  void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = ::dlerror();
    l.error = std::string("cannot load libcurl.so.4 (package libcurl4): ") + (e ? e : "unknown error");
    return l;
  }
  CURLcode (*global_init)(long) = nullptr;
  CurlLibrary& c = l.lib;
  bind(h, "curl_global_init", global_init, l.error);
  bind(h, "curl_easy_init", c.easy_init, l.error);
  bind(h, "curl_easy_cleanup", c.easy_cleanup, l.error);
  bind(h, "curl_easy_setopt", c.easy_setopt, l.error);
  bind(h, "curl_easy_perform", c.easy_perform, l.error);
  bind(h, "curl_easy_getinfo", c.easy_getinfo, l.error);
  bind(h, "curl_easy_strerror", c.easy_strerror, l.error);
  bind(h, "curl_easy_escape", c.easy_escape, l.error);
  bind(h, "curl_free", c.free, l.error);
  bind(h, "curl_slist_append", c.slist_append, l.error);
  bind(h, "curl_slist_free_all", c.slist_free_all, l.error);
  bool ok = l.error.empty();
  if (ok && global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) l.error = "curl_global_init failed";
  return l;  // the handle stays open for the life of the process
}

}  // namespace

Result<const CurlLibrary*> curl_library() {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = load(); });
  if (!loaded.error.empty()) return make_error("prov-curl-missing", loaded.error);
  return &loaded.lib;
}

}  // namespace exphone::provisioning
