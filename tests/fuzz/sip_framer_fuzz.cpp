// Fuzzes the stream framer: the input is cut into chunks (sizes taken from the first bytes) and
// fed like TCP segments; every framed message must then be within the limits.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sip/framer.h"
#include "sip/message.h"

using namespace exphone::sip;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  Limits limits;
  limits.max_message_size = 4096;  // small, so the fuzzer reaches the limit paths
  StreamFramer framer(data[0] & 1, limits);
  std::size_t chunk = 1 + (data[1] % 64);
  std::size_t pos = 2;
  std::string msg;
  while (pos < size) {
    std::size_t n = std::min(chunk, size - pos);
    if (!framer.feed(std::string_view(reinterpret_cast<const char*>(data + pos), n))) return 0;
    pos += n;
    for (;;) {
      auto ev = framer.next(&msg);
      if (!ev) return 0;
      if (*ev == StreamFramer::Event::kNeedMore) break;
      if (*ev == StreamFramer::Event::kMessage) {
        if (msg.size() > limits.max_message_size) std::abort();
        (void)Message::parse(msg, limits);
      }
    }
    if (framer.buffered() > limits.max_message_size + 4) std::abort();
  }
  return 0;
}
