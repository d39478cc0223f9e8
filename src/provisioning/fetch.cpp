#include "provisioning/fetch.h"

#include "provisioning/curl_library.h"
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <cctype>
#include <memory>
#include <mutex>

namespace exphone::provisioning {
namespace {

struct Sink {
  std::string body;
  long max = 0;
  bool too_large = false;
  std::string etag, last_modified;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  size_t len = size * n;
  if (s->body.size() + len > static_cast<size_t>(s->max)) {
    s->too_large = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  s->body.append(data, len);
  return len;
}

std::string trim(std::string v) {
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ' || v.back() == '\t')) v.pop_back();
  size_t i = 0;
  while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
  return v.substr(i);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  std::string line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string::npos && line.size() < 1024) {
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = trim(line.substr(colon + 1));
    if (name == "etag") s->etag = value;
    if (name == "last-modified") s->last_modified = value;
  }
  return size * n;
}

// Only ever used after curl_library() succeeded.
const CurlLibrary& api() { return **curl_library(); }

struct CurlFree { void operator()(CURL* c) const { api().easy_cleanup(c); } };
struct SlistFree { void operator()(curl_slist* l) const { api().slist_free_all(l); } };

std::string escape(CURL* c, const std::string& v) {
  char* e = api().easy_escape(c, v.c_str(), static_cast<int>(v.size()));
  std::string out = e ? e : "";
  api().free(e);
  return out;
}

// CURLOPT_SSL_CTX_FUNCTION (OpenSSL backend): verify the server's certificate at the trusted time
// rather than the system clock (a device that booted in 1970 but has NTP time).
CURLcode set_verify_time(CURL*, void* ssl_ctx, void* user) {
  auto t = *static_cast<const std::time_t*>(user);
  X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(static_cast<SSL_CTX*>(ssl_ctx)), t);
  return CURLE_OK;
}

}  // namespace

Result<std::string> expand_url(const std::string& tmpl, const phone::ProvisioningSettings& s) {
  if (auto lib = curl_library(); !lib) return lib.error();
  std::unique_ptr<CURL, CurlFree> c(api().easy_init());
  if (!c) return make_error("prov-url", "curl_easy_init failed");
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    auto end = tmpl.find('}', i);
    if (end == std::string::npos) return make_error("prov-url", "unclosed '{' in provisioning.url");
    std::string name = tmpl.substr(i + 1, end - i - 1);
    std::string v;
    if (name == "mac") {
      for (char ch : s.mac) {
        if (ch == ':' || ch == '-' || ch == '.') continue;
        if (!std::isxdigit(static_cast<unsigned char>(ch))) return make_error("prov-url", "provisioning.mac: not a MAC address");
        v += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      if (v.size() != 12) return make_error("prov-url", "provisioning.mac: not a MAC address (12 hex digits)");
    } else if (name == "serial") {
      v = s.serial;
    } else if (name == "model") {
      v = s.model;
    } else {
      return make_error("prov-url", "unknown placeholder {" + name + "} in provisioning.url (mac, serial, model)");
    }
    if (v.empty()) return make_error("prov-url", "provisioning.url uses {" + name + "} but provisioning." + name + " is not set");
    out += escape(c.get(), v);
    i = end + 1;
  }
  return out;
}

Result<FetchResponse> fetch_bundle(const FetchRequest& r) {
  auto lib = curl_library();
  if (!lib) return lib.error();
  const CurlLibrary& curl = **lib;
  std::unique_ptr<CURL, CurlFree> c(curl.easy_init());
  if (!c) return make_error("prov-io", "curl_easy_init failed");
  CURL* h = c.get();
  Sink sink;
  sink.max = r.max_bytes;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* l = curl.slist_append(headers.get(), line.c_str());
    if (l) {
      (void)headers.release();
      headers.reset(l);
    }
  };
  if (!r.etag.empty()) add_header("If-None-Match: " + r.etag);
  if (!r.last_modified.empty()) add_header("If-Modified-Since: " + r.last_modified);

  curl.easy_setopt(h, CURLOPT_URL, r.url.c_str());
  curl.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl.easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl.easy_setopt(h, CURLOPT_PROXY, "");  // never through an environment proxy
  curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  curl.easy_setopt(h, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  curl.easy_setopt(h, CURLOPT_CAINFO, r.ca_file.c_str());
  curl.easy_setopt(h, CURLOPT_CAPATH, nullptr);
  if (r.verify_time != 0) {
    curl.easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, set_verify_time);
    curl.easy_setopt(h, CURLOPT_SSL_CTX_DATA, &r.verify_time);
  }
  if (!r.client_cert.empty()) {
    curl.easy_setopt(h, CURLOPT_SSLCERT, r.client_cert.c_str());
    curl.easy_setopt(h, CURLOPT_SSLKEY, (r.client_key.empty() ? r.client_cert : r.client_key).c_str());
    if (!r.key_passphrase.empty()) curl.easy_setopt(h, CURLOPT_KEYPASSWD, r.key_passphrase.c_str());
  }
  curl.easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(r.timeout_s));
  curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(r.timeout_s < 10 ? r.timeout_s : 10));
  curl.easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(r.max_bytes));
  curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl.easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl.easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  curl.easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl.easy_setopt(h, CURLOPT_USERAGENT, "exphone-provisioning");
  if (headers) curl.easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl.easy_perform(h);
  std::string detail = errbuf[0] ? errbuf : curl.easy_strerror(rc);
  if (sink.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return make_error("prov-too-large", "bundle larger than provisioning.max_bytes (" + std::to_string(r.max_bytes) + ")");
  switch (rc) {
    case CURLE_OK: break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: return make_error("prov-unreachable", detail);
    case CURLE_OPERATION_TIMEDOUT: return make_error("prov-timeout", detail);
    case CURLE_SSL_CERTPROBLEM: return make_error("prov-client-cert", detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CONNECT_ERROR: return make_error("prov-tls", detail);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return make_error("prov-tls", detail + " (the server may have refused the device certificate)");
    default: return make_error("prov-failed", detail);
  }
  long status = 0;
  curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status == 400 || status == 495 || status == 496)
    return make_error("prov-http", "HTTP " + std::to_string(status) + ": the server refused the device certificate");
  if (status != 200 && status != 304) return make_error("prov-http", "HTTP " + std::to_string(status));
  FetchResponse out;
  out.status = status;
  out.body = std::move(sink.body);
  out.etag = sink.etag;
  out.last_modified = sink.last_modified;
  return out;
}

}  // namespace exphone::provisioning
