// SDP attributes: the generic a=<name>[:<value>] line and the typed views over it.
//
// The parser keeps every attribute as written (name + optional value, in line order); typed
// parsing happens on demand through the parse_* functions below, so one malformed attribute
// (say a bad a=crypto key) never makes the whole session fail to parse: the caller sees that
// attribute's specific error from its typed accessor. Offsets in errors returned by parse_*
// are byte offsets inside the value passed in; the accessors on Session / MediaDescription
// replace them by the byte offset of the a= line in the parsed text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base64.h"
#include "core/result.h"

namespace exphone::sdp {

// ---------------------------------------------------------------------------------------------
// Generic attribute (RFC 8866 section 5.13: a=<attribute-name>[:<attribute-value>])

struct Attribute {
  std::string name;                  // attribute-name, a token
  std::optional<std::string> value;  // absent for property attributes (a=rtcp-mux); may be ""
  std::size_t offset = kNoOffset;    // byte offset of the a= line in the parsed text (not compared)

  bool operator==(const Attribute& o) const { return name == o.name && value == o.value; }
};

using AttributeList = std::vector<Attribute>;

// Lookups compare attribute names ASCII case-insensitively.
const Attribute* find_attribute(const AttributeList& list, std::string_view name);
std::vector<const Attribute*> find_attributes(const AttributeList& list, std::string_view name);
bool has_attribute(const AttributeList& list, std::string_view name);

// ---------------------------------------------------------------------------------------------
// Direction (RFC 8866 sections 6.7.1-6.7.4, RFC 3264 section 5.1)

enum class Direction { kSendRecv, kSendOnly, kRecvOnly, kInactive };

std::string_view to_string(Direction d);
// Recognises the attribute *name* (sendrecv/sendonly/recvonly/inactive).
std::optional<Direction> parse_direction(std::string_view attribute_name);
// The first direction attribute in the list, if any.
std::optional<Direction> find_direction(const AttributeList& list);

// ---------------------------------------------------------------------------------------------
// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 8866 6.6)

struct Rtpmap {
  std::uint8_t payload_type = 0;  // 0..127
  std::string encoding;           // "PCMU", "opus", "telephone-event" (as written)
  std::uint32_t clock_rate = 0;
  std::optional<std::uint32_t> channels;  // audio: number of channels

  bool operator==(const Rtpmap&) const = default;
};

Result<Rtpmap> parse_rtpmap(std::string_view value);
std::string to_string(const Rtpmap& r);  // the value part: "0 PCMU/8000"
// RFC 3551 section 6 static payload types that phones meet without an a=rtpmap.
std::optional<Rtpmap> static_rtpmap(std::uint8_t payload_type);

// ---------------------------------------------------------------------------------------------
// a=fmtp:<format> <format specific parameters> (RFC 8866 6.15). Typed view is for RTP formats.

struct Fmtp {
  std::uint8_t payload_type = 0;
  std::string params;  // as written, e.g. "0-16" or "minptime=10;useinbandfec=1"

  bool operator==(const Fmtp&) const = default;
};

Result<Fmtp> parse_fmtp(std::string_view value);
std::string to_string(const Fmtp& f);
// Splits "a=1;b;c=3" into {("a","1"),("b",""),("c","3")} (names and values trimmed).
std::vector<std::pair<std::string, std::string>> split_fmtp_params(std::string_view params);

// ---------------------------------------------------------------------------------------------
// a=ptime / a=maxptime (RFC 8866 6.4, 6.5): milliseconds. A fractional part ("20.0") is accepted
// and truncated, as some phones send it.

Result<std::uint32_t> parse_ptime(std::string_view value);

// ---------------------------------------------------------------------------------------------
// a=crypto (RFC 4568 section 9.1 grammar):
//   a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]
//   key-params = key-param *(";" key-param); key-param = "inline:" <key||salt base64>
//                ["|" lifetime] ["|" MKI ":" length]

enum class CryptoSuite {
  kUnknown,  // a name we do not know: kept, flagged, never usable for keying
  kAesCm128HmacSha1_80,
  kAesCm128HmacSha1_32,
  kF8_128HmacSha1_80,
  kAes192CmHmacSha1_80,
  kAes192CmHmacSha1_32,
  kAes256CmHmacSha1_80,
  kAes256CmHmacSha1_32,
  kAeadAes128Gcm,
  kAeadAes256Gcm,
};

std::optional<CryptoSuite> crypto_suite_from_name(std::string_view name);  // exact, case-sensitive
std::string_view crypto_suite_name(CryptoSuite s);  // "" for kUnknown
// Master key + master salt length in bytes (RFC 4568 6.2, RFC 6188 7.1, RFC 7714 12); 0 for unknown.
std::size_t crypto_key_salt_length(CryptoSuite s);

struct CryptoMki {
  std::uint64_t value = 0;
  std::uint8_t length = 0;  // bytes, 1..128

  bool operator==(const CryptoMki&) const = default;
};

struct CryptoKeyParam {
  Bytes key_salt;                         // decoded master key || master salt
  std::optional<std::uint64_t> lifetime;  // packets; "2^n" is converted to its value
  std::optional<CryptoMki> mki;

  bool operator==(const CryptoKeyParam&) const = default;
};

struct Crypto {
  std::uint32_t tag = 0;  // 1*9DIGIT
  CryptoSuite suite = CryptoSuite::kUnknown;
  std::string suite_name;  // as written; the only record of an unknown suite
  std::vector<CryptoKeyParam> keys;         // at least one
  std::vector<std::string> session_params;  // e.g. "KDR=1", "UNENCRYPTED_SRTCP" (as written)

  bool known_suite() const { return suite != CryptoSuite::kUnknown; }
  bool has_session_param(std::string_view name) const;  // matches "NAME" or "NAME=..."
  bool operator==(const Crypto&) const = default;
};

// Error codes: sdp-crypto-bad-tag, sdp-crypto-bad-suite, sdp-crypto-missing-key,
// sdp-crypto-bad-key-method (not "inline:"), sdp-crypto-bad-base64, sdp-crypto-bad-key-length,
// sdp-crypto-bad-lifetime, sdp-crypto-bad-mki, sdp-crypto-bad-session-param.
Result<Crypto> parse_crypto(std::string_view value);
std::string to_string(const Crypto& c);

// ---------------------------------------------------------------------------------------------
// a=fingerprint:<hash-func> <fingerprint> (RFC 8122 section 5): upper/lower case hex pairs
// separated by ':'.

enum class HashFunction { kUnknown, kSha1, kSha224, kSha256, kSha384, kSha512 };

std::string_view hash_function_name(HashFunction h);  // "" for kUnknown
std::size_t hash_length(HashFunction h);              // bytes; 0 for unknown

struct Fingerprint {
  HashFunction hash = HashFunction::kUnknown;
  std::string hash_name;  // lower-cased as written
  Bytes bytes;

  bool known_hash() const { return hash != HashFunction::kUnknown; }
  bool operator==(const Fingerprint&) const = default;
};

// Error codes: sdp-bad-fingerprint (shape), sdp-fingerprint-bad-hex, sdp-fingerprint-bad-length.
Result<Fingerprint> parse_fingerprint(std::string_view value);
std::string to_string(const Fingerprint& f);  // "sha-256 AB:CD:..."

// ---------------------------------------------------------------------------------------------
// a=setup (RFC 4145 section 4)

enum class Setup { kActive, kPassive, kActPass, kHoldConn };

Result<Setup> parse_setup(std::string_view value);  // sdp-bad-setup
std::string_view to_string(Setup s);

// ---------------------------------------------------------------------------------------------
// a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 section 2.1)

struct Rtcp {
  std::uint16_t port = 0;
  std::optional<std::string> net_type;
  std::optional<std::string> addr_type;
  std::optional<std::string> address;

  bool operator==(const Rtcp&) const = default;
};

Result<Rtcp> parse_rtcp(std::string_view value);  // sdp-bad-rtcp
std::string to_string(const Rtcp& r);

// ---------------------------------------------------------------------------------------------
// ICE (RFC 8839 section 5)

// ice-ufrag: 4..256 ice-chars; ice-pwd: 22..256 ice-chars (ice-char = ALPHA / DIGIT / "+" / "/").
Result<std::string> parse_ice_ufrag(std::string_view value);  // sdp-bad-ice-ufrag
Result<std::string> parse_ice_pwd(std::string_view value);    // sdp-bad-ice-pwd
// ice-options: space-separated tokens.
std::vector<std::string> parse_ice_options(std::string_view value);

struct Candidate {
  std::string foundation;        // 1*32 ice-char
  std::uint16_t component = 0;   // 1..256
  std::string transport;         // "UDP", "TCP", ... (as written)
  std::uint32_t priority = 0;
  std::string address;           // IP address or FQDN (mDNS names included)
  std::uint16_t port = 0;
  std::string type;              // host / srflx / prflx / relay / other token
  std::optional<std::string> rel_addr;
  std::optional<std::uint16_t> rel_port;
  std::vector<std::pair<std::string, std::string>> extensions;  // e.g. ("generation","0")

  bool operator==(const Candidate&) const = default;
};

Result<Candidate> parse_candidate(std::string_view value);  // sdp-bad-candidate
std::string to_string(const Candidate& c);

}  // namespace exphone::sdp
