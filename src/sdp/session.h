// SDP session model (RFC 8866), parse and serialize.
//
// The model is plain data that owns its strings; walk it directly. Typed accessors for the
// attributes phones care about are member functions; the ones that can fall back to the
// session level (connection, direction, fingerprint, setup, ice-*) take the Session.
//
// Parsing is bounded by Limits, never throws, and reports errors as exphone::Error with a stable
// code ("sdp-bad-line", "sdp-bad-media", ...), a message naming the line number and a snippet of
// it, and offset = byte offset of the offending line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sdp/attributes.h"

namespace exphone::sdp {

struct Limits {
  std::size_t max_size = 64 * 1024;   // bytes of input           -> sdp-too-large
  std::size_t max_lines = 1024;       //                          -> sdp-too-many-lines
  std::size_t max_media = 16;         // m= sections              -> sdp-too-many-media
  std::size_t max_attributes = 256;   // a= lines per section     -> sdp-too-many-attributes
};

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 8866 5.2)
struct Origin {
  std::string username = "-";
  std::uint64_t session_id = 0;
  std::uint64_t session_version = 0;
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;

  bool operator==(const Origin&) const = default;
};

// c=<nettype> <addrtype> <connection-address> (RFC 8866 5.7). For IP4 multicast the address may
// carry /<ttl>[/<number of addresses>]; for IP6 multicast /<number of addresses>.
struct Connection {
  std::string net_type = "IN";
  std::string addr_type = "IP4";
  std::string address;
  std::optional<std::uint8_t> ttl;
  std::optional<std::uint32_t> address_count;

  bool is_ip4() const;
  bool is_ip6() const;
  bool operator==(const Connection&) const = default;
};

// b=<bwtype>:<bandwidth> (RFC 8866 5.8)
struct Bandwidth {
  std::string type;  // "AS", "CT", "TIAS", ...
  std::uint64_t value = 0;

  bool operator==(const Bandwidth&) const = default;
};

// t=<start-time> <stop-time> and its r= lines (RFC 8866 5.9, 5.10). Repeats are kept as written.
struct Timing {
  std::uint64_t start = 0;
  std::uint64_t stop = 0;
  std::vector<std::string> repeats;

  bool operator==(const Timing&) const = default;
};

// Transport protocol of an m= line (RFC 8866 5.14, RFC 5124, RFC 5764); the string is kept too.
enum class Proto {
  kOther,
  kRtpAvp,
  kRtpSavp,
  kRtpAvpf,
  kRtpSavpf,
  kUdpTlsRtpSavp,
  kUdpTlsRtpSavpf,
};

Proto classify_proto(std::string_view proto);  // ASCII case-insensitive

struct Session;

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... and the lines below it.
struct MediaDescription {
  std::string media;  // "audio", "video", "application", ...
  std::uint16_t port = 0;
  std::optional<std::uint32_t> port_count;  // the /<number of ports> suffix
  std::string proto;                        // "RTP/AVP", "UDP/TLS/RTP/SAVPF", ...
  std::vector<std::string> formats;         // RTP payload types for RTP protos
  std::optional<std::string> information;   // i=
  std::vector<Connection> connections;      // c= (several are allowed at media level)
  std::vector<Bandwidth> bandwidths;        // b=
  std::optional<std::string> key;           // k= (obsolete, kept)
  AttributeList attributes;                 // a=, in line order

  bool operator==(const MediaDescription&) const = default;

  // --- transport
  Proto proto_kind() const { return classify_proto(proto); }
  bool is_rtp() const;         // any of the RTP protos above
  bool is_srtp() const;        // RTP/SAVP, RTP/SAVPF, UDP/TLS/RTP/SAVP(F)
  bool is_dtls_srtp() const;   // UDP/TLS/RTP/SAVP(F)
  bool rejected() const { return port == 0; }  // RFC 3264 section 6
  // Formats that are RTP payload type numbers (0..127), in m= order.
  std::vector<std::uint8_t> payload_types() const;

  // --- codecs
  std::vector<Result<Rtpmap>> rtpmaps() const;
  // The a=rtpmap for pt if present and well formed, else the RFC 3551 static mapping.
  std::optional<Rtpmap> rtpmap(std::uint8_t payload_type) const;
  std::vector<Result<Fmtp>> fmtps() const;
  std::optional<Fmtp> fmtp(std::uint8_t payload_type) const;  // first well-formed one
  Result<std::optional<std::uint32_t>> ptime() const;
  Result<std::optional<std::uint32_t>> maxptime() const;

  // --- security
  std::vector<Result<Crypto>> cryptos() const;  // every a=crypto, each with its own result
  // a=fingerprint lines of this section, or the session-level ones when the section has none.
  std::vector<Result<Fingerprint>> fingerprints(const Session& session) const;
  // First well-formed fingerprint of the above; the first error if none is well formed;
  // nullopt when there is no fingerprint at all.
  Result<std::optional<Fingerprint>> fingerprint(const Session& session) const;
  Result<std::optional<Setup>> setup(const Session& session) const;  // media, else session

  // --- transport details
  // Effective direction: media-level attribute, else session-level, else sendrecv (RFC 3264 5.1).
  Direction direction(const Session& session) const;
  std::optional<Direction> own_direction() const;
  // First media-level c=, else the session-level c=; nullptr when neither exists.
  const Connection* connection(const Session& session) const;
  bool rtcp_mux() const;
  Result<std::optional<Rtcp>> rtcp() const;
  std::optional<std::string> mid() const;

  // --- ICE (media-level, falling back to session-level where RFC 8839 allows it)
  Result<std::optional<std::string>> ice_ufrag(const Session& session) const;
  Result<std::optional<std::string>> ice_pwd(const Session& session) const;
  std::vector<std::string> ice_options(const Session& session) const;
  std::vector<Result<Candidate>> candidates() const;

  const Attribute* attribute(std::string_view name) const { return find_attribute(attributes, name); }
  bool has(std::string_view name) const { return has_attribute(attributes, name); }
};

struct Session {
  std::uint32_t version = 0;                // v= (always 0)
  Origin origin;                            // o=
  std::string name = "-";                   // s= ("" when the line was empty)
  std::optional<std::string> information;   // i=
  std::optional<std::string> uri;           // u=
  std::vector<std::string> emails;          // e=
  std::vector<std::string> phones;          // p=
  std::optional<Connection> connection;     // c=
  std::vector<Bandwidth> bandwidths;        // b=
  std::vector<Timing> timings;              // t= (+ r=); a missing t= is read as "t=0 0"
  std::optional<std::string> zone_adjustments;  // z= (kept as written)
  std::optional<std::string> key;           // k= (obsolete, kept)
  AttributeList attributes;                 // session-level a=, in line order
  std::vector<MediaDescription> media_descriptions;

  bool operator==(const Session&) const = default;

  const std::vector<MediaDescription>& media() const { return media_descriptions; }
  std::vector<MediaDescription>& media() { return media_descriptions; }

  std::optional<Direction> direction() const { return find_direction(attributes); }
  bool ice_lite() const { return has_attribute(attributes, "ice-lite"); }
  const Attribute* attribute(std::string_view name) const { return find_attribute(attributes, name); }
  bool has(std::string_view name) const { return has_attribute(attributes, name); }
};

// Parses one session description. Accepts CRLF and bare LF line endings (RFC 8866 section 5),
// trailing SP/HTAB on a line, a missing final line ending and trailing empty lines.
Result<Session> parse(std::string_view text, const Limits& limits = {});

// Canonical wire form: RFC 8866 section 5 line order, CRLF line endings, single spaces.
// CR, LF and NUL inside model strings are dropped so a model can never inject lines.
std::string serialize(const Session& session);

// Runs the typed parser over every attribute this layer knows (rtpmap, fmtp, ptime, maxptime,
// crypto, fingerprint, setup, rtcp, ice-ufrag, ice-pwd, candidate) and returns the errors, each
// message prefixed with where it is ("session" or "media N") and offset = the a= line offset.
// Meant for linting; the typed accessors give the same errors one at a time.
std::vector<Error> attribute_errors(const Session& session);

}  // namespace exphone::sdp
