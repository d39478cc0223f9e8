// SIP, SIPS and TEL URIs (RFC 3261 section 19.1, RFC 3966); other schemes are kept opaque.
// A Uri is a set of views into text it does not own: keep that text alive (a Message owns its).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "sip/params.h"

namespace exphone::sip {

enum class Scheme : std::uint8_t { kSip, kSips, kTel, kOther };
enum class HostType : std::uint8_t { kNone, kName, kIPv4, kIPv6 };

struct Uri {
  Scheme scheme = Scheme::kOther;
  std::string_view scheme_text;   // as written
  std::string_view user;          // escaped form as written; empty when absent
  std::string_view password;
  bool has_user = false;
  bool has_password = false;
  std::string_view host;          // IPv6 without the brackets
  HostType host_type = HostType::kNone;
  std::uint16_t port = 0;
  bool has_port = false;
  Params params;                  // ";transport=tls;lr"
  std::string_view headers;       // "h1=v1&h2=v2" without the '?'
  std::string_view opaque;        // tel: the number (global/local); other schemes: all after ':'
  std::string_view raw;           // the whole URI as written

  bool is_sip_or_sips() const { return scheme == Scheme::kSip || scheme == Scheme::kSips; }
  // host[:port] with IPv6 in brackets, as written
  std::string host_port() const;
};

// Classifies host text (IPv6 without brackets when bracketed is true); kNone when invalid.
HostType classify_host(std::string_view host, bool bracketed);

// Parses an absolute URI that fills all of `s` (no surrounding LWS, no angle brackets).
Result<Uri> parse_uri(std::string_view s, std::size_t max_params = 64);

// RFC 3261 section 19.1.4 equivalence for SIP/SIPS URIs; TEL compares the number with visual
// separators removed and parameters as in RFC 3966 section 4; other schemes compare exactly.
bool uri_equal(const Uri& a, const Uri& b);

}  // namespace exphone::sip
