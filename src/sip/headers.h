// Typed views of the headers the stack needs (RFC 3261 section 20). Each parse function takes
// one header value (one element of a comma-separated list, see split_list) and returns views into
// it: the text must outlive the result.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/limits.h"
#include "sip/params.h"
#include "sip/uri.h"

namespace exphone::sip {

// Splits a list header value at top-level commas (not inside quotes, <...> or (comments)),
// trimming LWS. Empty elements are an error (RFC 3261 section 7.3.1 `#` rule allows them,
// but no SIP header is meaningful with one and they are a favourite of fuzzers).
Result<std::vector<std::string_view>> split_list(std::string_view value, std::size_t max_items);

// Via = sent-protocol LWS sent-by *( SEMI via-params )   (section 20.42, 25.1)
struct Via {
  std::string_view protocol_name;   // "SIP"
  std::string_view protocol_version;  // "2.0"
  std::string_view transport;       // "UDP", "TCP", "TLS", "WS", "WSS", ... as written
  std::string_view host;            // IPv6 without brackets
  HostType host_type = HostType::kNone;
  std::uint16_t port = 0;
  bool has_port = false;
  Params params;

  std::string_view branch() const { return params.get("branch").value_or(std::string_view{}); }
  std::optional<std::string_view> received() const { return params.get("received"); }
  // rport: absent -> nullopt; present without value -> 0; with value -> the port
  std::optional<std::uint32_t> rport() const;
  std::string sent_by() const;
};
Result<Via> parse_via(std::string_view value, const Limits& limits = {});

// name-addr / addr-spec with header parameters: From, To, Contact, Route, Record-Route,
// Reply-To, Refer-To (sections 20.10, 20.20, 20.39)
struct NameAddr {
  std::string_view display_name;  // raw: may be a quoted-string (use unquote()) or tokens
  bool angle_brackets = false;    // name-addr form (vs addr-spec)
  Uri uri;
  Params params;

  std::string_view tag() const { return params.get("tag").value_or(std::string_view{}); }
};
Result<NameAddr> parse_name_addr(std::string_view value, const Limits& limits = {});

// Contact is a NameAddr or the star form (section 20.10, used by REGISTER to remove bindings).
struct Contact {
  bool star = false;
  NameAddr address;
  // expires param as a number, nullopt when absent
  std::optional<std::uint32_t> expires() const;
  // q param in thousandths (q=0.5 -> 500), nullopt when absent or malformed
  std::optional<int> q() const;
};
Result<Contact> parse_contact(std::string_view value, const Limits& limits = {});

// CSeq = 1*DIGIT LWS Method   (section 20.16; the number is < 2^31, section 8.1.1.5)
struct CSeq {
  std::uint32_t number = 0;
  std::string_view method;
};
Result<CSeq> parse_cseq(std::string_view value);

// Max-Forwards, Expires, Content-Length, Min-Expires: 1*DIGIT (sections 20.14, 20.19, 20.22)
Result<std::uint32_t> parse_number_header(std::string_view value, std::uint64_t max = UINT32_MAX);

// Content-Type = media-type: type "/" subtype *( SEMI m-parameter )   (section 20.15)
struct MediaType {
  std::string_view type;
  std::string_view subtype;
  Params params;
  bool is(std::string_view t, std::string_view s) const;
};
Result<MediaType> parse_media_type(std::string_view value, const Limits& limits = {});

// Call-ID = word [ "@" word ]   (section 20.8, 25.1)
bool valid_call_id(std::string_view value);

// Digest challenge / credentials (section 20.27, 20.44, 20.7, 20.28; RFC 7616, RFC 8760).
// Values are unquoted copies: quoted-string escapes must be removed before hashing.
struct AuthParam {
  std::string name;   // lower-case
  std::string value;  // unquoted
  bool quoted = false;
};
struct Auth {
  std::string scheme;  // "Digest" as written
  std::vector<AuthParam> params;
  const AuthParam* find(std::string_view name) const;
  std::string get(std::string_view name) const;  // "" when absent
};
Result<Auth> parse_auth(std::string_view value, const Limits& limits = {});

}  // namespace exphone::sip
