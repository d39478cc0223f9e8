#include "core/text.h"

#include <gtest/gtest.h>

using namespace exphone::text;

TEST(Text, CaseInsensitive) {
  EXPECT_TRUE(iequals("Via", "vIA"));
  EXPECT_FALSE(iequals("Via", "Vi"));
  EXPECT_TRUE(istarts_with("Content-Length", "content-"));
}

TEST(Text, ParseUintBounds) {
  EXPECT_EQ(parse_uint("0"), 0u);
  EXPECT_EQ(parse_uint("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_uint("4294967296"));
  EXPECT_FALSE(parse_uint(""));
  EXPECT_FALSE(parse_uint("12a"));
  EXPECT_FALSE(parse_uint("-1"));
  EXPECT_FALSE(parse_uint("99999999999999999999999"));
  EXPECT_EQ(parse_uint("255", 255), 255u);
  EXPECT_FALSE(parse_uint("256", 255));
}

TEST(Text, FindUnquotedSkipsQuotesAndAngles) {
  EXPECT_EQ(find_unquoted(R"("a,\"b" <sip:x,y>, z)", ','), 17u);
  EXPECT_EQ(find_unquoted("abc", ','), std::string_view::npos);
  EXPECT_EQ(find_unquoted(R"("unterminated, still)", ','), std::string_view::npos);
}

TEST(Text, Trim) {
  EXPECT_EQ(trim(" \t a b \r\n "), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_TRUE(is_token("INVITE"));
  EXPECT_FALSE(is_token("IN VITE"));
}

TEST(Text, ParseUint64Edge) {
  EXPECT_EQ(parse_uint("18446744073709551615", UINT64_MAX), UINT64_MAX);
  EXPECT_FALSE(parse_uint("18446744073709551616", UINT64_MAX));
  EXPECT_FALSE(parse_uint("99999999999999999999", UINT64_MAX));
  EXPECT_EQ(parse_uint("0000000000000000001", 5), 1u);
}
