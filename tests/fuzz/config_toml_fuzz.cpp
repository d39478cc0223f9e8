// Fuzzes the device configuration reader: arbitrary bytes as a TOML file must give a config or
// a clean "config" error, never a crash, hang or leak.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "phone/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = exphone::phone::parse_config(text, "/nonexistent", "fuzz.toml");
  if (!c && c.error().code != "config") std::abort();
  return 0;
}
