// Random identifiers from the system CSPRNG (OpenSSL RAND_bytes): branches, tags, Call-IDs,
// cnonces. Never rand() or a Mersenne twister for anything a peer sees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace exphone {

// n random bytes, hex-encoded (2n characters).
std::string random_hex(std::size_t n);
// n random bytes (keys, salts).
std::vector<std::uint8_t> random_bytes(std::size_t n);

}  // namespace exphone
