// Generic attribute lookup and the small typed attributes: direction, rtpmap, fmtp, ptime,
// setup, rtcp.
#include "sdp/attributes.h"

#include "core/text.h"
#include "sdp/detail.h"

namespace exphone::sdp {

using detail::value_error;

const Attribute* find_attribute(const AttributeList& list, std::string_view name) {
  for (const auto& a : list)
    if (text::iequals(a.name, name)) return &a;
  return nullptr;
}

std::vector<const Attribute*> find_attributes(const AttributeList& list, std::string_view name) {
  std::vector<const Attribute*> out;
  for (const auto& a : list)
    if (text::iequals(a.name, name)) out.push_back(&a);
  return out;
}

bool has_attribute(const AttributeList& list, std::string_view name) {
  return find_attribute(list, name) != nullptr;
}

// --- direction: RFC 8866 sections 6.7.1-6.7.4 -------------------------------------------------

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::kSendRecv: return "sendrecv";
    case Direction::kSendOnly: return "sendonly";
    case Direction::kRecvOnly: return "recvonly";
    case Direction::kInactive: return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> parse_direction(std::string_view name) {
  if (text::iequals(name, "sendrecv")) return Direction::kSendRecv;
  if (text::iequals(name, "sendonly")) return Direction::kSendOnly;
  if (text::iequals(name, "recvonly")) return Direction::kRecvOnly;
  if (text::iequals(name, "inactive")) return Direction::kInactive;
  return std::nullopt;
}

std::optional<Direction> find_direction(const AttributeList& list) {
  for (const auto& a : list)
    if (auto d = parse_direction(a.name)) return d;
  return std::nullopt;
}

// --- rtpmap: RFC 8866 section 6.6 ----------------------------------------------------------------

Result<Rtpmap> parse_rtpmap(std::string_view value) {
  constexpr const char* kCode = "sdp-bad-rtpmap";
  auto fields = detail::split_ws(value);
  if (fields.size() != 2)
    return value_error(kCode, "rtpmap", "expected '<pt> <encoding>/<clock rate>[/<channels>]'", value);
  auto pt = text::parse_uint(fields[0], 127);
  if (!pt) return value_error(kCode, "rtpmap", "payload type is not 0..127", value);
  auto parts = detail::split(fields[1], '/');
  if (parts.size() < 2 || parts.size() > 3)
    return value_error(kCode, "rtpmap", "expected <encoding>/<clock rate>[/<channels>]", value);
  if (!text::is_token(parts[0]))
    return value_error(kCode, "rtpmap", "bad encoding name", value);
  auto rate = text::parse_uint(parts[1]);
  if (!rate || *rate == 0) return value_error(kCode, "rtpmap", "bad clock rate", value);
  Rtpmap r;
  r.payload_type = static_cast<std::uint8_t>(*pt);
  r.encoding = std::string(parts[0]);
  r.clock_rate = static_cast<std::uint32_t>(*rate);
  if (parts.size() == 3) {
    auto ch = text::parse_uint(parts[2]);
    if (!ch || *ch == 0) return value_error(kCode, "rtpmap", "bad encoding parameters", value);
    r.channels = static_cast<std::uint32_t>(*ch);
  }
  return r;
}

std::string to_string(const Rtpmap& r) {
  std::string s = std::to_string(r.payload_type) + " " + r.encoding + "/" + std::to_string(r.clock_rate);
  if (r.channels) s += "/" + std::to_string(*r.channels);
  return s;
}

std::optional<Rtpmap> static_rtpmap(std::uint8_t pt) {
  // RFC 3551 section 6, tables 4 and 5 (static assignments still in use).
  struct Entry {
    std::uint8_t pt;
    const char* name;
    std::uint32_t rate;
    std::uint32_t channels;  // 0: not written
  };
  static constexpr Entry kTable[] = {
      {0, "PCMU", 8000, 0},   {3, "GSM", 8000, 0},    {4, "G723", 8000, 0},
      {5, "DVI4", 8000, 0},   {6, "DVI4", 16000, 0},  {7, "LPC", 8000, 0},
      {8, "PCMA", 8000, 0},   {9, "G722", 8000, 0},   {10, "L16", 44100, 2},
      {11, "L16", 44100, 0},  {12, "QCELP", 8000, 0}, {13, "CN", 8000, 0},
      {14, "MPA", 90000, 0},  {15, "G728", 8000, 0},  {16, "DVI4", 11025, 0},
      {17, "DVI4", 22050, 0}, {18, "G729", 8000, 0},  {25, "CelB", 90000, 0},
      {26, "JPEG", 90000, 0}, {28, "nv", 90000, 0},   {31, "H261", 90000, 0},
      {32, "MPV", 90000, 0},  {33, "MP2T", 90000, 0}, {34, "H263", 90000, 0},
  };
  for (const auto& e : kTable) {
    if (e.pt != pt) continue;
    Rtpmap r;
    r.payload_type = e.pt;
    r.encoding = e.name;
    r.clock_rate = e.rate;
    if (e.channels != 0) r.channels = e.channels;
    return r;
  }
  return std::nullopt;
}

// --- fmtp: RFC 8866 section 6.15 -----------------------------------------------------------------

Result<Fmtp> parse_fmtp(std::string_view value) {
  constexpr const char* kCode = "sdp-bad-fmtp";
  std::size_t i = 0;
  while (i < value.size() && !text::is_ws(value[i])) ++i;
  auto pt = text::parse_uint(value.substr(0, i), 127);
  if (!pt) return value_error(kCode, "fmtp", "format is not an RTP payload type 0..127", value);
  Fmtp f;
  f.payload_type = static_cast<std::uint8_t>(*pt);
  f.params = std::string(text::trim(value.substr(i)));
  return f;
}

std::string to_string(const Fmtp& f) {
  std::string s = std::to_string(f.payload_type);
  if (!f.params.empty()) s += " " + f.params;
  return s;
}

std::vector<std::pair<std::string, std::string>> split_fmtp_params(std::string_view params) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto item : detail::split(params, ';')) {
    item = text::trim(item);
    if (item.empty()) continue;
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(item), std::string());
    } else {
      out.emplace_back(std::string(text::trim(item.substr(0, eq))),
                       std::string(text::trim(item.substr(eq + 1))));
    }
  }
  return out;
}

// --- ptime / maxptime: RFC 8866 sections 6.4, 6.5 ------------------------------------------------

Result<std::uint32_t> parse_ptime(std::string_view value) {
  std::string_view whole = value;
  auto dot = value.find('.');
  if (dot != std::string_view::npos) {
    whole = value.substr(0, dot);
    auto frac = value.substr(dot + 1);
    if (frac.empty() || frac.size() > 9 || !text::parse_uint(frac))
      return value_error("sdp-bad-ptime", "ptime", "not a number of milliseconds", value);
  }
  auto v = text::parse_uint(whole);
  if (!v || *v == 0)
    return value_error("sdp-bad-ptime", "ptime", "not a positive number of milliseconds", value);
  return static_cast<std::uint32_t>(*v);
}

// --- setup: RFC 4145 section 4 -------------------------------------------------------------------

Result<Setup> parse_setup(std::string_view value) {
  if (text::iequals(value, "active")) return Setup::kActive;
  if (text::iequals(value, "passive")) return Setup::kPassive;
  if (text::iequals(value, "actpass")) return Setup::kActPass;
  if (text::iequals(value, "holdconn")) return Setup::kHoldConn;
  return value_error("sdp-bad-setup", "setup", "expected active, passive, actpass or holdconn", value);
}

std::string_view to_string(Setup s) {
  switch (s) {
    case Setup::kActive: return "active";
    case Setup::kPassive: return "passive";
    case Setup::kActPass: return "actpass";
    case Setup::kHoldConn: return "holdconn";
  }
  return "actpass";
}

// --- rtcp: RFC 3605 section 2.1 ------------------------------------------------------------------

Result<Rtcp> parse_rtcp(std::string_view value) {
  constexpr const char* kCode = "sdp-bad-rtcp";
  auto fields = detail::split_ws(value);
  if (fields.size() != 1 && fields.size() != 4)
    return value_error(kCode, "rtcp", "expected '<port> [<nettype> <addrtype> <address>]'", value);
  auto port = detail::parse_port(fields[0]);
  if (!port) return value_error(kCode, "rtcp", "port is not 0..65535", value);
  Rtcp r;
  r.port = *port;
  if (fields.size() == 4) {
    if (!text::is_token(fields[1]) || !text::is_token(fields[2]))
      return value_error(kCode, "rtcp", "bad nettype or addrtype", value);
    r.net_type = std::string(fields[1]);
    r.addr_type = std::string(fields[2]);
    r.address = std::string(fields[3]);
  }
  return r;
}

std::string to_string(const Rtcp& r) {
  std::string s = std::to_string(r.port);
  if (r.net_type && r.addr_type && r.address) s += " " + *r.net_type + " " + *r.addr_type + " " + *r.address;
  return s;
}

}  // namespace exphone::sdp
