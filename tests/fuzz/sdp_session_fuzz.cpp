// Fuzzes the SDP parser, every typed attribute accessor and the serialize/parse round trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "sdp/session.h"

using namespace exphone::sdp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto s = parse(text);
  if (!s) return 0;
  (void)attribute_errors(*s);
  for (const auto& m : s->media()) {
    (void)m.rtpmaps();
    (void)m.fmtps();
    (void)m.ptime();
    (void)m.cryptos();
    (void)m.fingerprint(*s);
    (void)m.setup(*s);
    (void)m.direction(*s);
    (void)m.connection(*s);
    (void)m.rtcp();
    (void)m.candidates();
    (void)m.ice_ufrag(*s);
    (void)m.ice_pwd(*s);
    for (auto pt : m.payload_types()) (void)m.rtpmap(pt);
  }
  std::string wire = serialize(*s);
  auto again = parse(wire);
  if (!again || !(*again == *s)) {
    std::fprintf(stderr, "SDP round trip failed: %s\n", again ? "not equal" : again.error().to_string().c_str());
    std::abort();
  }
  return 0;
}
