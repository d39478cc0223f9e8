// Model helpers: proto classification and the typed accessors of MediaDescription.
#include "core/text.h"
#include "sdp/session.h"

namespace exphone::sdp {
namespace {

// Typed value of an attribute; errors get the a= line offset and the missing-value case its own
// message. `Parse` is one of the parse_* functions of attributes.h.
template <class Parse>
auto typed(const Attribute& a, Parse parse) -> decltype(parse(std::string_view{})) {
  auto r = parse(a.value ? std::string_view(*a.value) : std::string_view{});
  if (!r) {
    Error e = r.error();
    e.offset = a.offset;
    return e;
  }
  return r;
}

template <class Parse>
auto typed_all(const AttributeList& list, std::string_view name, Parse parse) {
  std::vector<decltype(parse(std::string_view{}))> out;
  for (const auto* a : find_attributes(list, name)) out.push_back(typed(*a, parse));
  return out;
}

// First attribute named `name` in `list`, typed; ok(nullopt) when absent.
template <class T, class Parse>
Result<std::optional<T>> typed_first(const AttributeList& list, std::string_view name, Parse parse) {
  const Attribute* a = find_attribute(list, name);
  if (!a) return std::optional<T>();
  auto r = typed(*a, parse);
  if (!r) return r.error();
  return std::optional<T>(std::move(r.value()));
}

// Media level first, then session level (RFC 8839 5.4 for ice-ufrag/ice-pwd, RFC 4145 / 8122).
template <class T, class Parse>
Result<std::optional<T>> typed_fallback(const MediaDescription& m, const Session& s, std::string_view name,
                                        Parse parse) {
  if (has_attribute(m.attributes, name)) return typed_first<T>(m.attributes, name, parse);
  return typed_first<T>(s.attributes, name, parse);
}

}  // namespace

bool Connection::is_ip4() const { return text::iequals(addr_type, "IP4"); }
bool Connection::is_ip6() const { return text::iequals(addr_type, "IP6"); }

Proto classify_proto(std::string_view p) {
  if (text::iequals(p, "RTP/AVP")) return Proto::kRtpAvp;
  if (text::iequals(p, "RTP/SAVP")) return Proto::kRtpSavp;
  if (text::iequals(p, "RTP/AVPF")) return Proto::kRtpAvpf;
  if (text::iequals(p, "RTP/SAVPF")) return Proto::kRtpSavpf;
  if (text::iequals(p, "UDP/TLS/RTP/SAVP")) return Proto::kUdpTlsRtpSavp;
  if (text::iequals(p, "UDP/TLS/RTP/SAVPF")) return Proto::kUdpTlsRtpSavpf;
  return Proto::kOther;
}

bool MediaDescription::is_rtp() const { return proto_kind() != Proto::kOther; }

bool MediaDescription::is_srtp() const {
  auto k = proto_kind();
  return k == Proto::kRtpSavp || k == Proto::kRtpSavpf || k == Proto::kUdpTlsRtpSavp ||
         k == Proto::kUdpTlsRtpSavpf;
}

bool MediaDescription::is_dtls_srtp() const {
  auto k = proto_kind();
  return k == Proto::kUdpTlsRtpSavp || k == Proto::kUdpTlsRtpSavpf;
}

std::vector<std::uint8_t> MediaDescription::payload_types() const {
  std::vector<std::uint8_t> out;
  for (const auto& f : formats)
    if (auto pt = text::parse_uint(f, 127)) out.push_back(static_cast<std::uint8_t>(*pt));
  return out;
}

std::vector<Result<Rtpmap>> MediaDescription::rtpmaps() const {
  return typed_all(attributes, "rtpmap", parse_rtpmap);
}

std::optional<Rtpmap> MediaDescription::rtpmap(std::uint8_t pt) const {
  for (const auto* a : find_attributes(attributes, "rtpmap")) {
    if (!a->value) continue;
    auto r = parse_rtpmap(*a->value);
    if (r && r->payload_type == pt) return std::move(r.value());
  }
  return static_rtpmap(pt);
}

std::vector<Result<Fmtp>> MediaDescription::fmtps() const { return typed_all(attributes, "fmtp", parse_fmtp); }

std::optional<Fmtp> MediaDescription::fmtp(std::uint8_t pt) const {
  for (const auto* a : find_attributes(attributes, "fmtp")) {
    if (!a->value) continue;
    auto r = parse_fmtp(*a->value);
    if (r && r->payload_type == pt) return std::move(r.value());
  }
  return std::nullopt;
}

Result<std::optional<std::uint32_t>> MediaDescription::ptime() const {
  return typed_first<std::uint32_t>(attributes, "ptime", parse_ptime);
}

Result<std::optional<std::uint32_t>> MediaDescription::maxptime() const {
  return typed_first<std::uint32_t>(attributes, "maxptime", parse_ptime);
}

std::vector<Result<Crypto>> MediaDescription::cryptos() const {
  return typed_all(attributes, "crypto", parse_crypto);
}

std::vector<Result<Fingerprint>> MediaDescription::fingerprints(const Session& session) const {
  const AttributeList& list = has_attribute(attributes, "fingerprint") ? attributes : session.attributes;
  return typed_all(list, "fingerprint", parse_fingerprint);
}

Result<std::optional<Fingerprint>> MediaDescription::fingerprint(const Session& session) const {
  auto all = fingerprints(session);
  if (all.empty()) return std::optional<Fingerprint>();
  for (auto& r : all)
    if (r) return std::optional<Fingerprint>(std::move(r.value()));
  return all.front().error();
}

Result<std::optional<Setup>> MediaDescription::setup(const Session& session) const {
  return typed_fallback<Setup>(*this, session, "setup", parse_setup);
}

std::optional<Direction> MediaDescription::own_direction() const { return find_direction(attributes); }

Direction MediaDescription::direction(const Session& session) const {
  if (auto d = own_direction()) return *d;
  return session.direction().value_or(Direction::kSendRecv);
}

const Connection* MediaDescription::connection(const Session& session) const {
  if (!connections.empty()) return &connections.front();
  return session.connection ? &*session.connection : nullptr;
}

bool MediaDescription::rtcp_mux() const { return has_attribute(attributes, "rtcp-mux"); }

Result<std::optional<Rtcp>> MediaDescription::rtcp() const {
  return typed_first<Rtcp>(attributes, "rtcp", parse_rtcp);
}

std::optional<std::string> MediaDescription::mid() const {
  const Attribute* a = find_attribute(attributes, "mid");
  if (!a || !a->value) return std::nullopt;
  return *a->value;
}

Result<std::optional<std::string>> MediaDescription::ice_ufrag(const Session& session) const {
  return typed_fallback<std::string>(*this, session, "ice-ufrag", parse_ice_ufrag);
}

Result<std::optional<std::string>> MediaDescription::ice_pwd(const Session& session) const {
  return typed_fallback<std::string>(*this, session, "ice-pwd", parse_ice_pwd);
}

std::vector<std::string> MediaDescription::ice_options(const Session& session) const {
  const Attribute* a = find_attribute(attributes, "ice-options");
  if (!a) a = find_attribute(session.attributes, "ice-options");
  if (!a || !a->value) return {};
  return parse_ice_options(*a->value);
}

std::vector<Result<Candidate>> MediaDescription::candidates() const {
  return typed_all(attributes, "candidate", parse_candidate);
}

std::vector<Error> attribute_errors(const Session& session) {
  std::vector<Error> out;
  auto check = [&out](const AttributeList& list, const std::string& where) {
    for (const auto& a : list) {
      std::optional<Error> e;
      auto take = [&e, &a](auto parse) {
        auto r = typed(a, parse);
        if (!r) e = r.error();
      };
      if (text::iequals(a.name, "rtpmap")) take(parse_rtpmap);
      else if (text::iequals(a.name, "fmtp")) take(parse_fmtp);
      else if (text::iequals(a.name, "ptime") || text::iequals(a.name, "maxptime")) take(parse_ptime);
      else if (text::iequals(a.name, "crypto")) take(parse_crypto);
      else if (text::iequals(a.name, "fingerprint")) take(parse_fingerprint);
      else if (text::iequals(a.name, "setup")) take(parse_setup);
      else if (text::iequals(a.name, "rtcp")) take(parse_rtcp);
      else if (text::iequals(a.name, "ice-ufrag")) take(parse_ice_ufrag);
      else if (text::iequals(a.name, "ice-pwd")) take(parse_ice_pwd);
      else if (text::iequals(a.name, "candidate")) take(parse_candidate);
      if (e) {
        e->message = where + ": " + e->message;
        out.push_back(std::move(*e));
      }
    }
  };
  check(session.attributes, "session");
  for (std::size_t i = 0; i < session.media_descriptions.size(); ++i)
    check(session.media_descriptions[i].attributes, "media " + std::to_string(i + 1));
  return out;
}

}  // namespace exphone::sdp
