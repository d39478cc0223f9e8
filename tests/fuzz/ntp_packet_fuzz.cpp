// Fuzzes the NTP packet parser (RFC 5905 section 7.3), the serialize/parse round trip, the SNTP
// reply checks (RFC 4330 section 5) with the packet's own Originate as "our" transmit timestamp
// (so the checks past the anti-spoofing test are reached) and the server address syntax.
// Nothing may crash or overflow; parsed headers must round-trip bit-exactly.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "clock/ntp_packet.h"
#include "clock/sntp_config.h"

using namespace exphone::clock;

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "ntp_packet fuzz invariant broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  auto p = parse_ntp_packet(in);
  if (!p) {
    if (size >= kNtpHeaderSize || p.error().code != "ntp-malformed") fail("wrong parse failure");
  } else {
    auto wire = serialize(*p);
    if (!std::equal(wire.begin(), wire.end(), data)) fail("round trip changed the header");
    // T1 = the reply's own Originate as local time, T4 a little later (first input byte in ms).
    auto t1 = from_ntp(p->originate);
    auto t4 = t1 + std::chrono::milliseconds(data[0]);
    auto r = check_reply(*p, p->originate, t1, t4);
    if (r) {
      if (r->delay.count() < 0) fail("negative delay accepted");
      if (p->stratum == 0 || p->stratum > 15 || p->leap == kLeapAlarm || p->mode != kModeServer) fail("bad reply accepted");
    } else if (r.error().code == "ntp-spoofed") {
      fail("own originate reported as spoofed");
    }
    NtpTimestamp other{p->originate.seconds ^ 1u, p->originate.fraction};
    auto s = check_reply(*p, other, t1, t4);
    if (s) fail("wrong originate accepted");
    (void)kiss_code(*p);
  }
  (void)parse_server(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
