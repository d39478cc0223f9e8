#include "provisioning/curl_library.h"

#include "core/shared_library.h"

namespace exphone::provisioning {

namespace {

void bind(void* h, CurlLibrary& c, std::string& error) {
  CURLcode (*global_init)(long) = nullptr;
  bind_symbol(h, "curl_global_init", global_init, error);
  bind_symbol(h, "curl_easy_init", c.easy_init, error);
  bind_symbol(h, "curl_easy_cleanup", c.easy_cleanup, error);
  bind_symbol(h, "curl_easy_setopt", c.easy_setopt, error);
  bind_symbol(h, "curl_easy_perform", c.easy_perform, error);
  bind_symbol(h, "curl_easy_getinfo", c.easy_getinfo, error);
  bind_symbol(h, "curl_easy_strerror", c.easy_strerror, error);
  bind_symbol(h, "curl_easy_escape", c.easy_escape, error);
  bind_symbol(h, "curl_free", c.free, error);
  bind_symbol(h, "curl_slist_append", c.slist_append, error);
  bind_symbol(h, "curl_slist_free_all", c.slist_free_all, error);
  if (error.empty() && global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) error = "curl_global_init failed";
}

LazyLibrary<CurlLibrary> library("libcurl.so.4", "libcurl4", "prov-curl-missing", bind);

}  // namespace

Result<const CurlLibrary*> curl_library() { return library.get(); }

}  // namespace exphone::provisioning
