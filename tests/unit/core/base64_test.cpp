#include "core/base64.h"

#include <gtest/gtest.h>

using exphone::base64_decode;
using exphone::base64_encode;

TEST(Base64, Rfc4648Vectors) {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 1; i < 7; ++i) {
    std::string p = plain[i];
    EXPECT_EQ(base64_encode(reinterpret_cast<const std::uint8_t*>(p.data()), p.size()), enc[i]);
    auto d = base64_decode(enc[i]);
    ASSERT_TRUE(d.has_value()) << enc[i];
    EXPECT_EQ(std::string(d->begin(), d->end()), p);
  }
}

TEST(Base64, RejectsMalformed) {
  EXPECT_FALSE(base64_decode(""));
  EXPECT_FALSE(base64_decode("Zg="));     // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Z=g="));    // padding in the middle
  EXPECT_FALSE(base64_decode("Zm9v Zg=="));
  EXPECT_FALSE(base64_decode("Zm9*"));
  EXPECT_FALSE(base64_decode("Zg=A"));
  EXPECT_FALSE(base64_decode("Z==="));
}
