// [paging] and [[paging.group]] of the device config (docs/config.md, docs/paging.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "media/srtp_session.h"

namespace exphone::phone {

enum class PagePriority { kNormal = 0, kHigh = 1, kEmergency = 2 };
std::string_view page_priority_name(PagePriority p);
std::optional<PagePriority> page_priority_from_name(std::string_view name);

struct PagingGroupConfig {
  std::string name;                 // for status and logs; default "ADDRESS:PORT"
  std::string address;              // the multicast group: 239.x.y.z or ff0x::...
  std::uint16_t port = 0;
  std::string codec = "PCMU";       // SDP name: PCMU, PCMA, G722, opus
  std::uint8_t payload_type = 0;    // default: the static one (PCMU 0, PCMA 8, G722 9), opus 96
  PagePriority priority = PagePriority::kNormal;
  bool secure = true;               // SRTP with the group key; false = plain RTP (legacy senders)
  std::string key_file;             // required when secure
  std::optional<media::SrtpKey> key;  // loaded from key_file by load_config
  std::string interface;            // IPv4 address or IPv6 interface name to join on; "" = routing
  int volume = 100;                 // percent of full scale for what goes to the speaker
};

struct PagingConfig {
  std::vector<PagingGroupConfig> groups;
  // Pages of this priority or higher hold calls in progress (resumed when the page ends);
  // nullopt = never ("off").
  std::optional<PagePriority> hold_calls_from = PagePriority::kHigh;
  std::chrono::milliseconds end_after{2000};  // a page ends after this long without packets
  std::string record_dir;           // each page's received audio goes to DIR/page-N-GROUP.wav
};

// The payload type a codec has when the config does not say (RFC 3551 table 4; opus is dynamic).
std::uint8_t default_payload_type(std::string_view codec);

}  // namespace exphone::phone
