// Random identifiers from the system CSPRNG (OpenSSL RAND_bytes): branches, tags, Call-IDs,
// cnonces. Never rand() or a Mersenne twister for anything a peer sees.
#pragma once

#include <cstddef>
#include <string>

namespace exphone {

// n random bytes, hex-encoded (2n characters).
std::string random_hex(std::size_t n);

}  // namespace exphone
