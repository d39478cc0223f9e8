#include "core/random.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <vector>

namespace exphone {

std::vector<std::uint8_t> random_bytes(std::size_t n) {
  std::vector<std::uint8_t> buf(n);
  if (n && RAND_bytes(buf.data(), static_cast<int>(n)) != 1) std::abort();  // no entropy: nothing is safe
  return buf;
}

std::string random_hex(std::size_t n) {
  std::vector<unsigned char> buf(n);
  if (RAND_bytes(buf.data(), static_cast<int>(n)) != 1) std::abort();  // no entropy: nothing is safe
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned char b : buf) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace exphone
