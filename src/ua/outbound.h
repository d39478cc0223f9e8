// RFC 5626 (SIP Outbound), the user agent's part of a registration: the instance id that names
// this device across reboots (section 4.1), the Contact of a REGISTER that asks for a flow
// (section 4.2), and whether the registrar applied it. The flows and their CRLF keepalives
// (section 4.4) live in net/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sip/message.h"

namespace exphone::ua {

// One registration flow: +sip.instance and reg-id (RFC 5626 section 4.2.1).
struct OutboundFlow {
  std::string instance_id;   // "urn:uuid:...", lower case
  std::uint32_t reg_id = 1;  // 1..2^31-1; one flow per registrar at a time here
};

// RFC 5626 section 4.1: a URN, here the UUID URN of RFC 4122 section 3
// ("urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"). Accepts any case, returns lower case.
// Error code "config" for anything else.
Result<std::string> parse_instance_id(std::string_view text);

// A name-based UUID (RFC 4122 section 4.3, version 5: SHA-1) of the host's machine id
// (machine-id(5), 32 hex digits) in a namespace of exphone's own: the same on every start of the
// same device, different on every device, and it does not reveal the machine id itself.
// Error "instance-id" when machine_id is not 32 hex digits.
Result<std::string> instance_id_from_machine_id(std::string_view machine_id);

// A random (version 4) UUID URN: the last resort when no machine id exists.
std::string random_instance_id();

// The Contact header value of a REGISTER (RFC 3261 section 10.2.1; RFC 5626 section 4.2.1):
//   <contact_uri;ob>;+sip.instance="<urn:uuid:...>";reg-id=1;expires=600
// The "ob" URI parameter (RFC 5626 section 12) marks a contact whose dialogs should stay on the
// flow (section 4.3); without a flow it is the plain "<contact_uri>;expires=N".
std::string register_contact(std::string_view contact_uri, const std::optional<OutboundFlow>& flow,
                             std::uint32_t expires);

// The Supported header value a REGISTER with a flow carries (RFC 5626 section 4.2.1 "outbound";
// RFC 3327 section 4 "path": a Path-inserting edge proxy may be on the way).
inline constexpr std::string_view kOutboundSupported = "outbound, path";

// RFC 5626 section 4.2.1: a registrar that applied outbound puts "outbound" in the Require
// header of its 2xx; without it the flow is a plain registration (no flow-based routing).
bool registrar_applied_outbound(const sip::Message& ok);

}  // namespace exphone::ua
