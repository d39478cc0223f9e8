// [clock] settings of the device (docs/config.md) and the server address syntax.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace exphone::clock {

struct SntpConfig {
  std::vector<std::string> servers;  // "host:port", "[v6]:port" or "host" (port 123); empty = trust the system clock
  std::chrono::milliseconds sync_timeout{5000};        // bound of one sync (all servers, all retries)
  std::chrono::milliseconds resync_interval{3600000};  // 0 = sync once
  std::chrono::milliseconds first_wait{500};           // first per-request wait; doubles per round
};

struct ServerAddress {
  std::string host;  // without brackets
  std::uint16_t port = 123;  // RFC 5905 section 7.2: UDP port 123
};
// Errors: "ntp-server" (empty host, bad port, unbalanced brackets).
Result<ServerAddress> parse_server(std::string_view text);

}  // namespace exphone::clock
