#include "phone/paging_config.h"

namespace exphone::phone {

std::string_view page_priority_name(PagePriority p) {
  switch (p) {
    case PagePriority::kNormal: return "normal";
    case PagePriority::kHigh: return "high";
    case PagePriority::kEmergency: return "emergency";
  }
  return "normal";
}

std::optional<PagePriority> page_priority_from_name(std::string_view name) {
  if (name == "normal") return PagePriority::kNormal;
  if (name == "high") return PagePriority::kHigh;
  if (name == "emergency") return PagePriority::kEmergency;
  return std::nullopt;
}

std::uint8_t default_payload_type(std::string_view codec) {
  if (codec == "PCMA") return 8;
  if (codec == "G722") return 9;
  if (codec == "opus") return 96;
  return 0;  // PCMU
}

}  // namespace exphone::phone
