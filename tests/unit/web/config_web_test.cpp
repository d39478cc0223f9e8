// [web] of the device configuration (docs/config.md [web]).
#include <gtest/gtest.h>

#include "phone/config.h"

using exphone::phone::parse_config;

TEST(WebConfig, OffByDefault) {
  auto c = parse_config("", "/etc/exphone", "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->web.listen.empty());
  EXPECT_TRUE(c->web.password_hash.empty());
  EXPECT_EQ(c->web.session_timeout_s, 900);
}

TEST(WebConfig, Reads) {
  auto c = parse_config(
      "[web]\nlisten = \"127.0.0.1:8443\"\npassword_hash = \"$scrypt$ln=15,r=8,p=1$AA==$BB==\"\n"
      "metrics_token_file = \"metrics.token\"\ncert = \"web.crt\"\nkey = \"/k/web.key\"\nsession_timeout_s = 120\n",
      "/etc/exphone", "t.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->web.listen, "127.0.0.1:8443");
  EXPECT_EQ(c->web.metrics_token_file, "/etc/exphone/metrics.token");
  EXPECT_EQ(c->web.cert, "/etc/exphone/web.crt");
  EXPECT_EQ(c->web.key, "/k/web.key");
  EXPECT_EQ(c->web.session_timeout_s, 120);
}

TEST(WebConfig, RejectsBadValues) {
  for (const char* bad : {"[web]\npassword = \"admin\"\n",                   // unknown key
                          "[web]\npassword_hash = \"admin\"\n",              // a plain password
                          "[web]\nsession_timeout_s = 5\n",                   // out of range
                          "[web]\ncert = \"a.crt\"\n",                       // without key
                          "web = 1\n"}) {
    auto c = parse_config(bad, "/etc/exphone", "t.toml");
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code, "config");
    EXPECT_NE(c.error().message.find("t.toml:"), std::string::npos) << c.error().message;
  }
}
