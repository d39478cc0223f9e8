#include "core/base64.h"

#include <openssl/evp.h>

namespace exphone {

std::optional<Bytes> base64_decode(std::string_view in) {
  // EVP_DecodeBlock accepts any multiple of 4 and counts padding as zero bytes; it also skips
  // leading/trailing whitespace. We want strict input, so check shape first, then fix the length.
  if (in.empty() || in.size() % 4 != 0 || in.size() > (1u << 20)) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/';
    if (c == '=') {
      if (i < in.size() - 2) return std::nullopt;
      ++pad;
    } else if (!alpha || pad > 0) {
      return std::nullopt;
    }
  }
  Bytes out(in.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string base64_encode(const std::uint8_t* data, std::size_t len) {
  std::string out(4 * ((len + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace exphone
