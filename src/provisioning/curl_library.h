// libcurl, loaded when provisioning first needs it (dlopen of libcurl.so.4): a phone that never
// provisions does not map libcurl and the libraries it pulls in (GnuTLS, Kerberos, LDAP, SSH,
// RTMP, ...: about 4 MiB of resident memory at start-up, docs/performance.md). The functions are
// libcurl's own, called through this table; the library stays loaded once loaded.
#pragma once

#include <curl/curl.h>

#include "core/result.h"

namespace exphone::provisioning {

struct CurlLibrary {
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  char* (*easy_escape)(CURL*, const char*, int);
  void (*free)(void*);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// The loaded library, curl_global_init done (once, thread-safe). Error prov-curl-missing when
// libcurl.so.4 (Debian: libcurl4) cannot be loaded or lacks a function.
Result<const CurlLibrary*> curl_library();

}  // namespace exphone::provisioning
