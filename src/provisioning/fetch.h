// HTTPS fetch of a provisioning bundle with libcurl: the server verified against the provisioning
// CA (peer and host name), the device authenticated by its client certificate, TLS 1.2 or newer,
// https only, no redirects, no proxies, bounded size and time, conditional (If-None-Match /
// If-Modified-Since) so an unchanged bundle costs one 304.
#pragma once

#include <ctime>
#include <string>

#include "core/result.h"
#include "phone/config.h"

namespace exphone::provisioning {

struct FetchRequest {
  std::string url;
  std::string ca_file, client_cert, client_key, key_passphrase;
  std::string etag, last_modified;  // validators of the bundle we have
  int timeout_s = 30;
  long max_bytes = 1L << 20;
  std::time_t verify_time = 0;  // certificate check time (NTP-derived, X509_VERIFY_PARAM_set_time); 0 = system clock
};

struct FetchResponse {
  long status = 0;  // 200 or 304
  std::string body, etag, last_modified;
};

// {mac} (12 lower-case hex digits, from any usual spelling), {serial}, {model}, URL-escaped.
// Error prov-url (unknown placeholder, empty value, bad MAC).
Result<std::string> expand_url(const std::string& tmpl, const phone::ProvisioningSettings& s);

// Errors: prov-unreachable (resolve/connect), prov-timeout, prov-tls (server not verified,
// handshake refused), prov-client-cert (our certificate/key unusable), prov-http (status other
// than 200/304, e.g. 400 when the server refused the device certificate, 404), prov-too-large.
Result<FetchResponse> fetch_bundle(const FetchRequest& r);

}  // namespace exphone::provisioning
