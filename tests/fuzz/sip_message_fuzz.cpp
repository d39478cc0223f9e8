// Fuzzes the SIP message parser, every typed accessor, validation, and the round trip
// parse(serialize(parse(x))) == parse(x), which must hold for every message that parses.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sip/message.h"
#include "sip/validate.h"

using namespace exphone::sip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto m = Message::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!m) return 0;
  (void)validate(*m);
  (void)m->vias();
  (void)m->top_via();
  (void)m->from();
  (void)m->to();
  (void)m->cseq();
  (void)m->contacts();
  (void)m->routes(HeaderId::kRoute);
  (void)m->routes(HeaderId::kRecordRoute);
  (void)m->content_type();
  (void)m->option_tags(HeaderId::kSupported);
  (void)m->max_forwards();
  (void)m->expires();
  for (const auto& h : m->headers()) {
    if (h.id == HeaderId::kWWWAuthenticate || h.id == HeaderId::kProxyAuthenticate ||
        h.id == HeaderId::kAuthorization || h.id == HeaderId::kProxyAuthorization)
      (void)parse_auth(h.value);
  }
  if (m->is_request() && !m->defect() && !uri_equal(m->request_uri(), m->request_uri())) {
    std::fprintf(stderr, "URI not equal to itself: %.*s\n", static_cast<int>(m->request_uri().raw.size()),
                 m->request_uri().raw.data());
    std::abort();
  }
  std::string wire = serialize(*m);
  auto again = Message::parse(wire);
  if (!again || !equivalent(*m, *again)) {
    std::fprintf(stderr, "round trip failed: %s\n", again ? "not equivalent" : again.error().to_string().c_str());
    std::abort();
  }
  return 0;
}
