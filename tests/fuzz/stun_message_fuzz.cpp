// Fuzzes the STUN parser (RFC 8489), the MESSAGE-INTEGRITY / FINGERPRINT checks and the ICE-lite
// responder (RFC 8445 7.3) that reads what arrives on a media socket. Nothing may crash; what the
// agent answers must itself parse and carry a valid FINGERPRINT; a success answer must be signed
// with our password.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "media/ice_lite.h"
#include "media/stun.h"

using namespace exphone::media;

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "stun_message fuzz invariant broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> in(data, size);
  auto m = parse_stun(in);
  if (m) {
    (void)check_message_integrity(*m, "fuzz-password-0123456789");
    (void)check_fingerprint(*m);
    (void)xor_mapped_address(*m);
    (void)m->unknown_required();
    (void)m->priority();
    if (m->attributes.size() > kMaxStunAttributes) fail("attribute limit");
  } else if (m.error().code.empty()) {
    fail("error without a code");
  }
  static IceLiteAgent agent(IceCredentials{"fuzz", "fuzz-password-0123456789"});
  const boost::asio::ip::udp::endpoint from(boost::asio::ip::make_address("127.0.0.1"), 5004);
  auto o = agent.on_stun(in, from);
  if (!o.response.empty()) {
    auto r = parse_stun(o.response);
    if (!r) fail("our answer does not parse");
    if (!check_fingerprint(*r)) fail("our answer's FINGERPRINT is wrong");
    if (r->type == kStunBindingSuccess && !check_message_integrity(*r, "fuzz-password-0123456789"))
      fail("success answer not signed");
  }
  if (o.valid && !m) fail("accepted a message that does not parse");
  return 0;
}
