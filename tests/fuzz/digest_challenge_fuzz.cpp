// Fuzzes what a registrar or proxy sends to make the phone authenticate: the WWW-Authenticate /
// Proxy-Authenticate header value (RFC 3261 section 25.1 challenge grammar, RFC 7616 parameters),
// the challenge read from it and the Authorization value computed for it. Nothing may crash; the
// answer must not contain CR, LF or NUL (no header injection from a hostile challenge).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sip/headers.h"
#include "ua/digest.h"

using namespace exphone;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto auth = sip::parse_auth(in);
  if (!auth) return 0;
  for (bool proxy : {false, true}) {
    auto c = ua::parse_challenge(*auth, proxy);
    if (!c) {
      if (c.error().code.empty()) std::abort();
      continue;
    }
    ua::DigestInput di;
    di.method = "REGISTER";
    di.uri = "sip:plant.local";
    di.username = "1001";
    di.password = "secret";
    di.cnonce = "0a1b2c3d";
    std::string v = ua::authorization_value(*c, di);
    if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      std::fprintf(stderr, "digest_challenge fuzz: CR/LF/NUL in the Authorization value\n");
      std::abort();
    }
  }
  return 0;
}
