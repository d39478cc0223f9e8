// Fuzzes what an admin's browser uploads to the phone (web/multipart.h, web/admin.h): the
// multipart/form-data body with its boundary, and the certificate offered as a trusted CA (PEM or
// DER). Nothing may crash or leak; a refusal always has a code; an accepted CA is always a CA.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "net/tls/tls_inspect.h"
#include "web/admin.h"
#include "web/multipart.h"

using namespace exphone;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // first line: the Content-Type header value; the rest: the body
  const std::size_t nl = in.find('\n');
  std::string_view ctype = in.substr(0, nl == std::string_view::npos ? in.size() : nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  if (auto b = web::multipart_boundary(ctype)) {
    auto parts = web::parse_multipart(body, *b);
    if (parts) {
      if (parts->size() > web::kMaxParts) std::abort();
      std::size_t total = 0;
      for (const auto& p : *parts) total += p.data.size();
      if (total > body.size()) std::abort();
    } else if (parts.error().code != "web-bad-form") {
      std::abort();
    }
  }
  auto ca = web::parse_ca_upload(in);
  if (ca) {
    for (const auto& c : *ca)
      if (!net::tls::describe_certificate(c.get()).is_ca) {
        std::fprintf(stderr, "web_upload fuzz: a certificate that is not a CA was accepted\n");
        std::abort();
      }
  } else if (ca.error().code != "web-not-ca" && ca.error().code != "web-not-certificate") {
    std::abort();
  }
  return 0;
}
