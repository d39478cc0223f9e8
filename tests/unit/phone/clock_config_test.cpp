// [clock] in the device config (docs/config.md): defaults, values, line-numbered errors.
#include <gtest/gtest.h>

#include "phone/config.h"

using exphone::phone::parse_config;
using namespace std::chrono_literals;

namespace {

std::string err(const std::string& toml) {
  auto c = parse_config(toml, "/etc/exphone", "phone.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c ? std::string() : c.error().message;
}

TEST(ClockConfig, DefaultsTrustTheSystemClock) {
  auto c = parse_config("", "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_TRUE(c->clock.servers.empty());
  EXPECT_EQ(c->clock.sync_timeout, 5000ms);
  EXPECT_EQ(c->clock.resync_interval, 3600000ms);
}

TEST(ClockConfig, Values) {
  auto c = parse_config(R"(
[clock]
ntp_servers = ["127.0.0.1:10123", "ntp.plant.local", "[::1]:123"]
sync_timeout_s = 3
resync_interval_s = 0
)", "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c) << c.error().to_string();
  ASSERT_EQ(c->clock.servers.size(), 3u);
  EXPECT_EQ(c->clock.servers[1], "ntp.plant.local");
  EXPECT_EQ(c->clock.sync_timeout, 3000ms);
  EXPECT_EQ(c->clock.resync_interval, 0ms);
}

TEST(ClockConfig, ErrorsWithLineNumbers) {
  EXPECT_EQ(err("[clock]\nntp_server = []\n"), "phone.toml:2: unknown key 'ntp_server' in clock");
  EXPECT_EQ(err("[clock]\nntp_servers = \"127.0.0.1\"\n").rfind("phone.toml:2: clock.ntp_servers must be an array", 0), 0u);
  EXPECT_NE(err("[clock]\nntp_servers = [\n  \"a:1\",\n  \"::1\"]\n").find("phone.toml:4: clock.ntp_servers: NTP server '::1'"),
            std::string::npos);
  EXPECT_NE(err("[clock]\nntp_servers = [1]\n").find("must be strings"), std::string::npos);
  EXPECT_NE(err("[clock]\nsync_timeout_s = 0\n").find("between 1 and 120"), std::string::npos);
  EXPECT_NE(err("[clock]\nresync_interval_s = 5\n").find("phone.toml:2:"), std::string::npos);
  EXPECT_NE(err("clock = 1\n").find("clock must be a table"), std::string::npos);
}

}  // namespace
