#include "sip/headers.h"

#include "core/text.h"

namespace exphone::sip {

using text::is_digit;
using text::is_lws;
using text::is_token_char;
using text::trim;

namespace {

std::size_t skip_lws(std::string_view s, std::size_t i) {
  while (i < s.size() && is_lws(s[i])) ++i;
  return i;
}

Error header_error(std::string code, std::string msg, std::size_t offset = kNoOffset) {
  return make_error(std::move(code), std::move(msg), offset);
}

}  // namespace

Result<std::vector<std::string_view>> split_list(std::string_view value, std::size_t max_items) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  std::size_t depth = 0;  // (comment) nesting
  bool angle = false;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || (value[i] == ',' && depth == 0 && !angle)) {
      std::string_view item = trim(value.substr(start, i - start));
      if (item.empty()) return header_error("sip-bad-list", "empty element in header list", i);
      if (out.size() >= max_items)
        return header_error("sip-too-many-values", "more than " + std::to_string(max_items) + " values in one header", i);
      out.push_back(item);
      start = i + 1;
      continue;
    }
    char c = value[i];
    if (c == '"') {
      std::size_t q = skip_quoted(value, i);
      if (q == std::string_view::npos) return header_error("sip-bad-quote", "unterminated quoted string", i);
      i = q - 1;
    } else if (c == '<' && depth == 0) {
      angle = true;
    } else if (c == '>' && depth == 0) {
      angle = false;
    } else if (c == '(' && !angle) {
      if (++depth > 64) return header_error("sip-too-deep", "comments nested too deeply", i);
    } else if (c == ')' && !angle && depth > 0) {
      --depth;
    }
  }
  if (angle) return header_error("sip-bad-list", "unterminated '<'", value.size());
  return out;
}

std::optional<std::uint32_t> Via::rport() const {
  auto v = params.get("rport");
  if (!v) return std::nullopt;
  if (v->empty()) return 0u;
  auto n = text::parse_uint(*v, 65535);
  if (!n) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

std::string Via::sent_by() const {
  std::string s = host_type == HostType::kIPv6 ? "[" + std::string(host) + "]" : std::string(host);
  if (has_port) s += ":" + std::to_string(port);
  return s;
}

Result<Via> parse_via(std::string_view value, const Limits& limits) {
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport; SLASH = SWS "/" SWS
  Via v;
  std::string_view s = value;
  std::size_t i = skip_lws(s, 0);
  std::string_view* parts[3] = {&v.protocol_name, &v.protocol_version, &v.transport};
  int k = 0;
  // Fast path for the form every stack sends: "SIP/2.0/" without spaces.
  if (s.size() - i > 8 && text::iequals(s.substr(i, 8), "SIP/2.0/")) {
    v.protocol_name = s.substr(i, 3);
    v.protocol_version = s.substr(i + 4, 3);
    i += 8;
    k = 2;
  }
  for (; k < 3; ++k) {
    std::size_t t0 = i;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == t0) return header_error("sip-bad-via", "malformed sent-protocol in Via", i);
    *parts[k] = s.substr(t0, i - t0);
    i = skip_lws(s, i);
    if (k < 2) {
      if (i >= s.size() || s[i] != '/') return header_error("sip-bad-via", "expected '/' in Via sent-protocol", i);
      i = skip_lws(s, i + 1);
    }
  }
  // sent-by = host [ COLON port ]
  if (i < s.size() && s[i] == '[') {
    std::size_t close = s.find(']', i);
    if (close == std::string_view::npos) return header_error("sip-bad-via", "unterminated IPv6 reference in Via", i);
    v.host = s.substr(i + 1, close - i - 1);
    v.host_type = classify_host(v.host, true);
    if (v.host_type != HostType::kIPv6) return header_error("sip-bad-via", "invalid IPv6 address in Via", i);
    i = close + 1;
  } else {
    std::size_t h0 = i;
    while (i < s.size() && (text::is_alnum(s[i]) || s[i] == '-' || s[i] == '.' || s[i] == '_')) ++i;
    v.host = s.substr(h0, i - h0);
    if (v.host.empty()) return header_error("sip-bad-via", "missing host in Via sent-by", h0);
    v.host_type = classify_host(v.host, false);
    if (v.host_type == HostType::kNone) return header_error("sip-bad-via", "invalid host in Via sent-by", h0);
  }
  std::size_t j = skip_lws(s, i);
  if (j < s.size() && s[j] == ':') {
    j = skip_lws(s, j + 1);
    std::size_t p0 = j;
    while (j < s.size() && is_digit(s[j])) ++j;
    auto port = text::parse_uint(s.substr(p0, j - p0), 65535);
    if (!port) return header_error("sip-bad-via", "invalid port in Via sent-by", p0);
    v.port = static_cast<std::uint16_t>(*port);
    v.has_port = true;
    i = j;
  }
  std::size_t used = 0;
  if (auto e = Params::parse_into(v.params, s.substr(i), true, limits.max_params, &used))
    return header_error("sip-bad-via", "Via parameters: " + e->message, i);
  i += used;
  if (i != s.size()) return header_error("sip-bad-via", "unexpected text after Via parameters", i);
  // via-ttl = 0-255, via-received = IPv4address / IPv6address (section 25.1); branch is a token
  if (auto b = v.params.get("branch"); b && !text::is_token(*b))
    return header_error("sip-bad-via", "Via branch is not a token", i);
  if (auto r = v.params.get("rport"); r && !r->empty() && !text::parse_uint(*r, 65535))
    return header_error("sip-bad-via", "Via rport is not a port number", i);
  if (auto t = v.params.get("ttl"); t && !text::parse_uint(*t, 255))
    return header_error("sip-bad-via", "Via ttl is not 0-255", i);
  return v;
}

Result<NameAddr> parse_name_addr(std::string_view value, const Limits& limits) {
  NameAddr na;
  std::string_view s = trim(value);
  std::size_t i = 0;
  std::size_t lt = std::string_view::npos;
  if (!s.empty() && s[0] == '"') {
    std::size_t q = skip_quoted(s, 0);
    if (q == std::string_view::npos) return header_error("sip-bad-name-addr", "unterminated display name", 0);
    na.display_name = s.substr(0, q);
    i = skip_lws(s, q);
    if (i >= s.size() || s[i] != '<')
      return header_error("sip-bad-name-addr", "expected '<' after quoted display name", i);
    lt = i;
  } else {
    lt = s.find('<');
    if (lt != std::string_view::npos) {
      std::string_view dn = trim(s.substr(0, lt));
      // display-name = *(token LWS): tokens separated by LWS
      for (char c : dn)
        if (!is_token_char(c) && !is_lws(c))
          return header_error("sip-bad-name-addr", "invalid character in display name", 0);
      na.display_name = dn;
    }
  }
  if (lt != std::string_view::npos) {
    std::size_t gt = s.find('>', lt);
    if (gt == std::string_view::npos) return header_error("sip-bad-name-addr", "missing '>'", lt);
    std::string_view uri_text = s.substr(lt + 1, gt - lt - 1);
    auto uri = parse_uri(uri_text, limits.max_params);
    if (!uri) return header_error("sip-bad-name-addr", uri.error().message, lt + 1);
    na.uri = *uri;
    na.angle_brackets = true;
    i = gt + 1;
  } else {
    // addr-spec: the URI cannot contain ';' here, they start header parameters (section 20.10)
    std::size_t semi = s.find(';');
    std::string_view uri_text = trim(s.substr(0, semi));
    if (uri_text.find_first_of(",?") != std::string_view::npos)
      return header_error("sip-bad-name-addr", "a URI with ',' or '?' must be enclosed in <> (RFC 3261 section 20.10)", 0);
    auto uri = parse_uri(uri_text, limits.max_params);
    if (!uri) return header_error("sip-bad-name-addr", uri.error().message, 0);
    na.uri = *uri;
    i = semi == std::string_view::npos ? s.size() : semi;
  }
  std::size_t used = 0;
  if (auto e = Params::parse_into(na.params, s.substr(i), true, limits.max_params, &used))
    return header_error("sip-bad-name-addr", "header parameters: " + e->message, i);
  if (i + used != s.size()) return header_error("sip-bad-name-addr", "unexpected text after address", i + used);
  if (auto tag = na.params.get("tag"); tag && !text::is_token(*tag))
    return header_error("sip-bad-name-addr", "tag is not a token", i);
  return na;
}

std::optional<std::uint32_t> Contact::expires() const {
  auto v = address.params.get("expires");
  if (!v) return std::nullopt;
  auto n = text::parse_uint(*v, UINT32_MAX);
  if (!n) return std::nullopt;
  return static_cast<std::uint32_t>(*n);
}

std::optional<int> Contact::q() const {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  auto v = address.params.get("q");
  if (!v || v->empty() || v->size() > 5) return std::nullopt;
  std::string_view s = *v;
  if (s[0] != '0' && s[0] != '1') return std::nullopt;
  int q = (s[0] - '0') * 1000;
  if (s.size() > 1) {
    if (s[1] != '.') return std::nullopt;
    int scale = 100;
    for (std::size_t i = 2; i < s.size(); ++i, scale /= 10) {
      if (!is_digit(s[i])) return std::nullopt;
      q += (s[i] - '0') * scale;
    }
  }
  if (q > 1000) return std::nullopt;
  return q;
}

Result<Contact> parse_contact(std::string_view value, const Limits& limits) {
  Contact c;
  if (trim(value) == "*") {
    c.star = true;
    return c;
  }
  auto na = parse_name_addr(value, limits);
  if (!na) return na.error();
  c.address = *na;
  return c;
}

Result<CSeq> parse_cseq(std::string_view value) {
  std::string_view s = trim(value);
  std::size_t i = 0;
  while (i < s.size() && is_digit(s[i])) ++i;
  auto n = text::parse_uint(s.substr(0, i), 0x7fffffff);
  if (!n) return header_error("sip-bad-cseq", "CSeq number missing or not below 2^31", 0);
  std::size_t j = skip_lws(s, i);
  if (j == i) return header_error("sip-bad-cseq", "expected whitespace after CSeq number", i);
  std::string_view method = s.substr(j);
  if (!text::is_token(method)) return header_error("sip-bad-cseq", "CSeq method is not a token", j);
  return CSeq{static_cast<std::uint32_t>(*n), method};
}

Result<std::uint32_t> parse_number_header(std::string_view value, std::uint64_t max) {
  auto n = text::parse_uint(trim(value), max);
  if (!n) return header_error("sip-bad-number", "expected a decimal number", 0);
  return static_cast<std::uint32_t>(*n);
}

bool MediaType::is(std::string_view t, std::string_view s) const {
  return text::iequals(type, t) && text::iequals(subtype, s);
}

Result<MediaType> parse_media_type(std::string_view value, const Limits& limits) {
  MediaType m;
  std::string_view s = trim(value);
  std::size_t i = 0;
  while (i < s.size() && is_token_char(s[i])) ++i;
  m.type = s.substr(0, i);
  i = skip_lws(s, i);
  if (m.type.empty() || i >= s.size() || s[i] != '/')
    return header_error("sip-bad-media-type", "expected type/subtype", i);
  i = skip_lws(s, i + 1);
  std::size_t s0 = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  m.subtype = s.substr(s0, i - s0);
  if (m.subtype.empty()) return header_error("sip-bad-media-type", "missing subtype", s0);
  std::size_t used = 0;
  auto params = Params::parse(s.substr(i), true, limits.max_params, &used);
  if (!params || i + used != s.size())
    return header_error("sip-bad-media-type", "malformed media-type parameters", i);
  m.params = *params;
  return m;
}

bool valid_call_id(std::string_view value) {
  // word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")"
  //        / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}" )
  if (value.empty()) return false;
  int ats = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '@') {
      if (++ats > 1 || i == 0 || i + 1 == value.size()) return false;
      continue;
    }
    if (is_token_char(c)) continue;
    switch (c) {
      case '(': case ')': case '<': case '>': case ':': case '\\': case '"': case '/':
      case '[': case ']': case '?': case '{': case '}':
        continue;
      default:
        return false;
    }
  }
  return true;
}

const AuthParam* Auth::find(std::string_view name) const {
  for (const auto& p : params)
    if (text::iequals(p.name, name)) return &p;
  return nullptr;
}

std::string Auth::get(std::string_view name) const {
  const AuthParam* p = find(name);
  return p ? p->value : std::string{};
}

Result<Auth> parse_auth(std::string_view value, const Limits& limits) {
  // challenge = "Digest" LWS digest-cln *(COMMA digest-cln)   (section 25.1)
  Auth a;
  std::string_view s = trim(value);
  std::size_t i = 0;
  while (i < s.size() && is_token_char(s[i])) ++i;
  if (i == 0) return header_error("sip-bad-auth", "missing authentication scheme", 0);
  a.scheme = std::string(s.substr(0, i));
  std::size_t j = skip_lws(s, i);
  if (j == i && j < s.size()) return header_error("sip-bad-auth", "expected whitespace after scheme", i);
  i = j;
  while (i < s.size()) {
    if (a.params.size() >= limits.max_params)
      return header_error("sip-too-many-params", "too many authentication parameters", i);
    std::size_t n0 = i;
    while (i < s.size() && is_token_char(s[i])) ++i;
    if (i == n0) return header_error("sip-bad-auth", "expected parameter name", i);
    AuthParam p;
    p.name = text::to_lower(s.substr(n0, i - n0));
    i = skip_lws(s, i);
    if (i >= s.size() || s[i] != '=') return header_error("sip-bad-auth", "expected '=' after " + p.name, i);
    i = skip_lws(s, i + 1);
    if (i < s.size() && s[i] == '"') {
      std::size_t q = skip_quoted(s, i);
      if (q == std::string_view::npos) return header_error("sip-bad-auth", "unterminated quoted value", i);
      p.value = unquote(s.substr(i, q - i));
      p.quoted = true;
      i = q;
    } else {
      std::size_t v0 = i;
      while (i < s.size() && s[i] != ',' && !is_lws(s[i])) ++i;
      if (i == v0) return header_error("sip-bad-auth", "empty value for " + p.name, i);
      p.value = std::string(s.substr(v0, i - v0));
    }
    a.params.push_back(std::move(p));
    i = skip_lws(s, i);
    if (i < s.size()) {
      if (s[i] != ',') return header_error("sip-bad-auth", "expected ',' between parameters", i);
      i = skip_lws(s, i + 1);
      if (i >= s.size()) return header_error("sip-bad-auth", "trailing ','", i);
    }
  }
  return a;
}

}  // namespace exphone::sip
