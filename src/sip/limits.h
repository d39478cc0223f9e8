// Bounds on the work the parser does for one message (RFC 3261 leaves these to the
// implementation). Defaults fit a phone: a few calls, messages well under 64 KiB.
#pragma once

#include <cstddef>

namespace exphone::sip {

struct Limits {
  std::size_t max_message_size = 65535;   // whole message incl. body (UDP datagram maximum)
  std::size_t max_headers = 256;          // header lines (after unfolding)
  std::size_t max_header_line = 8192;     // one header, name + value, after unfolding
  std::size_t max_start_line = 4096;
  std::size_t max_list_items = 256;       // values in one comma-separated header (Via, Contact...)
  std::size_t max_params = 64;            // ;parameters on one header value or URI
  std::size_t max_nesting = 8;            // depth of (comments) in User-Agent/Server etc.
};

}  // namespace exphone::sip
