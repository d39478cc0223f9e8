#include "sip/uri.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>

#include "core/text.h"

namespace exphone::sip {

using text::iequals;
using text::is_alnum;
using text::is_alpha;
using text::is_digit;
using text::is_hex;

namespace {

// Character classes of RFC 3261 section 25.1 as bit masks in one table, so the URI scanners
// do one load per byte.
enum : std::uint8_t {
  kUser = 1,      // unreserved / user-unreserved ("&=+$,;?/")
  kPassword = 2,  // unreserved / "&=+$,"
  kHeader = 4,    // unreserved / hnv-unreserved ("[]/?:+$") and the "=&" that separate them
  kParam = 8,     // unreserved / param-unreserved ("[]/:&+$") and the ";=" that separate them
  kHost = 16,     // alphanum / "-" / "." (and "_", seen in real deployments)
};

struct UriTable {
  std::uint8_t v[256] = {};
  constexpr UriTable() {
    auto add = [this](const char* chars, std::uint8_t mask) {
      for (const char* c = chars; *c; ++c) v[static_cast<unsigned char>(*c)] |= mask;
    };
    for (int c = 0; c < 256; ++c) {
      bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      if (alnum) v[c] = kUser | kPassword | kHeader | kParam | kHost;
    }
    const char* mark = "-_.!~*'()";
    add(mark, kUser | kPassword | kHeader | kParam);
    add("&=+$,;?/", kUser);
    add("&=+$,", kPassword);
    add("[]/?:+$=&", kHeader);
    add("[]/:&+$;=", kParam);
    add("-._", kHost);
  }
};
constexpr UriTable kUri{};

// Checks that every char is in `mask` or a well-formed %HH escape.
bool valid_escaped(std::string_view s, std::uint8_t mask) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(s.data());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kUri.v[p[i]] & mask) continue;
    if (p[i] != '%' || i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
    i += 2;
  }
  return true;
}

bool valid_hostname(std::string_view h) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; labels alphanum with inner '-'.
  // Lenient on label shape (underscores appear in real deployments), strict on the alphabet.
  if (h.empty() || h.size() > 255) return false;
  for (char c : h)
    if (!(kUri.v[static_cast<unsigned char>(c)] & kHost)) return false;
  return h.front() != '.' && h.front() != '-';
}

// IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each 0-255 (the dotted-quad
// form inet_pton accepts: no leading zeros beyond a single 0 are rejected there either).
bool valid_ipv4(std::string_view h) {
  int parts = 0;
  std::size_t i = 0;
  while (i <= h.size()) {
    std::size_t d0 = i;
    unsigned v = 0;
    while (i < h.size() && is_digit(h[i]) && i - d0 < 3) v = v * 10 + static_cast<unsigned>(h[i++] - '0');
    if (i == d0 || v > 255) return false;
    ++parts;
    if (i == h.size()) break;
    if (h[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool valid_ipv6(std::string_view h) {
  if (h.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, h.data(), h.size());
  buf[h.size()] = '\0';
  in6_addr a{};
  return inet_pton(AF_INET6, buf, &a) == 1;
}

bool looks_ipv4(std::string_view h) {
  for (char c : h)
    if (!is_digit(c) && c != '.') return false;
  return !h.empty();
}

}  // namespace

HostType classify_host(std::string_view h, bool bracketed) {
  if (bracketed) return valid_ipv6(h) ? HostType::kIPv6 : HostType::kNone;
  if (looks_ipv4(h)) return valid_ipv4(h) ? HostType::kIPv4 : HostType::kNone;
  if (!valid_hostname(h)) return HostType::kNone;
  // toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum (section 25.1): "1.2.3.4.5" is no host
  std::string_view top = h.back() == '.' ? h.substr(0, h.size() - 1) : h;
  std::size_t dot = top.rfind('.');
  if (dot != std::string_view::npos) top = top.substr(dot + 1);
  if (top.empty() || !is_alpha(top.front())) return HostType::kNone;
  return HostType::kName;
}

namespace {

// section 19.1.1: "a given parameter name MUST NOT appear more than once" in uri-parameters
bool has_duplicate(const Params& params) {
  if (params.size() < 2) return false;
  bool dup = false;
  std::size_t i = 0;
  params.for_each([&](const Param& p) {
    std::size_t j = 0;
    params.for_each([&](const Param& q) {
      if (j++ < i && text::iequals(p.name, q.name)) dup = true;
    });
    ++i;
  });
  return dup;
}

Result<Uri> parse_sip(Uri u, std::string_view rest, std::size_t offset, std::size_t max_params) {
  // [userinfo "@"] hostport uri-parameters ["?" headers]. '@' appears only in userinfo (it is
  // neither paramchar nor hvalue), so the first '@' ends the userinfo.
  std::size_t at = rest.find('@');
  std::size_t i = 0;
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    // user may contain ';' '?' but not ':' — the first ':' starts the password.
    std::size_t colon = userinfo.find(':');
    u.user = userinfo.substr(0, colon);
    u.has_user = true;
    if (u.user.empty()) return make_error("sip-bad-uri", "empty user part before '@'", offset);
    if (!valid_escaped(u.user, kUser))
      return make_error("sip-bad-uri", "invalid character or escape in URI user part", offset);
    if (colon != std::string_view::npos) {
      u.password = userinfo.substr(colon + 1);
      u.has_password = true;
      if (!valid_escaped(u.password, kPassword))
        return make_error("sip-bad-uri", "invalid character in URI password", offset + colon + 1);
    }
    i = at + 1;
  }
  // host
  std::size_t h0 = i;
  if (i < rest.size() && rest[i] == '[') {
    std::size_t close = rest.find(']', i);
    if (close == std::string_view::npos)
      return make_error("sip-bad-uri", "unterminated IPv6 reference", offset + i);
    u.host = rest.substr(i + 1, close - i - 1);
    u.host_type = classify_host(u.host, true);
    if (u.host_type != HostType::kIPv6)
      return make_error("sip-bad-uri", "invalid IPv6 address in URI", offset + i);
    i = close + 1;
  } else {
    while (i < rest.size() && rest[i] != ':' && rest[i] != ';' && rest[i] != '?') ++i;
    u.host = rest.substr(h0, i - h0);
    if (u.host.empty()) return make_error("sip-bad-uri", "missing host in URI", offset + h0);
    u.host_type = classify_host(u.host, false);
    if (u.host_type == HostType::kNone)
      return make_error("sip-bad-uri", "invalid host in URI: " + std::string(u.host), offset + h0);
  }
  if (i < rest.size() && rest[i] == ':') {
    std::size_t p0 = ++i;
    while (i < rest.size() && is_digit(rest[i])) ++i;
    auto port = text::parse_uint(rest.substr(p0, i - p0), 65535);
    if (!port) return make_error("sip-bad-uri", "invalid port in URI", offset + p0);
    u.port = static_cast<std::uint16_t>(*port);
    u.has_port = true;
  }
  std::size_t used = 0;
  if (auto e = Params::parse_into(u.params, rest.substr(i), false, max_params, &used)) {
    e->offset = offset + i + (e->offset == kNoOffset ? 0 : e->offset);
    return std::move(*e);
  }
  i += used;
  if (has_duplicate(u.params))
    return make_error("sip-bad-uri", "a URI parameter appears twice (RFC 3261 section 19.1.1)", offset + i);
  if (!valid_escaped(u.params.raw(), kParam))
    return make_error("sip-bad-uri", "invalid escape in URI parameters", offset + i);
  if (i < rest.size() && rest[i] == '?') {
    u.headers = rest.substr(i + 1);
    if (u.headers.empty() || !valid_escaped(u.headers, kHeader))
      return make_error("sip-bad-uri", "invalid URI headers", offset + i);
    i = rest.size();
  }
  if (i != rest.size())
    return make_error("sip-bad-uri", "unexpected character in URI", offset + i);
  return u;
}

}  // namespace

std::string Uri::host_port() const {
  std::string s;
  s.reserve(host.size() + 8);
  if (host_type == HostType::kIPv6) s.push_back('[');
  s.append(host);
  if (host_type == HostType::kIPv6) s.push_back(']');
  if (has_port) s.append(":").append(std::to_string(port));
  return s;
}

Result<Uri> parse_uri(std::string_view s, std::size_t max_params) {
  Uri u;
  u.raw = s;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  std::size_t i = 0;
  if (s.empty() || !is_alpha(s[0])) return make_error("sip-bad-uri", "URI must start with a scheme", 0);
  while (i < s.size() && (is_alnum(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')) ++i;
  if (i >= s.size() || s[i] != ':') return make_error("sip-bad-uri", "missing ':' after URI scheme", i);
  u.scheme_text = s.substr(0, i);
  std::string_view rest = s.substr(i + 1);
  if (iequals(u.scheme_text, "sip")) u.scheme = Scheme::kSip;
  else if (iequals(u.scheme_text, "sips")) u.scheme = Scheme::kSips;
  else if (iequals(u.scheme_text, "tel")) u.scheme = Scheme::kTel;
  else u.scheme = Scheme::kOther;

  if (u.is_sip_or_sips()) return parse_sip(u, rest, i + 1, max_params);

  for (std::size_t k = 0; k < rest.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(rest[k]);
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
      return make_error("sip-bad-uri", "invalid character in URI", i + 1 + k);
  }
  if (rest.empty()) return make_error("sip-bad-uri", "empty URI after scheme", i + 1);
  if (u.scheme == Scheme::kTel) {
    // telephone-subscriber = global-number / local-number, then ;par (RFC 3966 section 3)
    std::size_t semi = rest.find(';');
    u.opaque = rest.substr(0, semi);
    if (u.opaque.empty()) return make_error("sip-bad-uri", "empty tel number", i + 1);
    if (semi != std::string_view::npos) {
      auto params = Params::parse(rest.substr(semi), false, max_params);
      if (!params) return make_error("sip-bad-uri", "invalid tel URI parameters", i + 1 + semi);
      if (params->raw().size() != rest.size() - semi || has_duplicate(*params))
        return make_error("sip-bad-uri", "invalid tel URI parameters", i + 1 + semi);
      u.params = *params;
    }
  } else {
    u.opaque = rest;
  }
  return u;
}

namespace {

bool escaped_equal(std::string_view a, std::string_view b, bool case_sensitive) {
  if (a == b) return true;
  auto ua = unescape(a);
  auto ub = unescape(b);
  if (!ua || !ub) return false;
  return case_sensitive ? *ua == *ub : iequals(*ua, *ub);
}

bool host_equal(const Uri& a, const Uri& b) {
  if (a.host_type == HostType::kIPv6 && b.host_type == HostType::kIPv6) {
    in6_addr x{}, y{};
    std::string ha(a.host), hb(b.host);
    if (inet_pton(AF_INET6, ha.c_str(), &x) != 1 || inet_pton(AF_INET6, hb.c_str(), &y) != 1)
      return false;
    return std::memcmp(&x, &y, sizeof x) == 0;
  }
  return iequals(a.host, b.host);
}

// Header components: every header in either URI must be present and equal in the other.
bool headers_equal(std::string_view a, std::string_view b) {
  auto contains_all = [](std::string_view x, std::string_view y) {
    std::size_t pos = 0;
    while (pos <= x.size()) {
      std::size_t amp = x.find('&', pos);
      std::string_view h = x.substr(pos, amp == std::string_view::npos ? x.npos : amp - pos);
      if (!h.empty()) {
        std::size_t eq = h.find('=');
        std::string_view name = h.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view{} : h.substr(eq + 1);
        bool found = false;
        std::size_t p2 = 0;
        while (p2 <= y.size() && !found) {
          std::size_t amp2 = y.find('&', p2);
          std::string_view g = y.substr(p2, amp2 == std::string_view::npos ? y.npos : amp2 - p2);
          std::size_t eq2 = g.find('=');
          if (escaped_equal(name, g.substr(0, eq2), false) &&
              escaped_equal(value, eq2 == std::string_view::npos ? std::string_view{} : g.substr(eq2 + 1), true))
            found = true;
          if (amp2 == std::string_view::npos) break;
          p2 = amp2 + 1;
        }
        if (!found) return false;
      }
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
    return true;
  };
  return contains_all(a, b) && contains_all(b, a);
}

bool params_equal(const Params& a, const Params& b) {
  // section 19.1.4: user, ttl, method, maddr (and transport) must match if present in either;
  // other parameters are compared only when present in both.
  static constexpr std::array<std::string_view, 5> kMustMatch = {"user", "ttl", "method", "maddr", "transport"};
  for (auto name : kMustMatch) {
    auto va = a.get(name);
    auto vb = b.get(name);
    if (va.has_value() != vb.has_value()) return false;
    if (va && !escaped_equal(*va, *vb, false)) return false;
  }
  bool ok = true;
  a.for_each([&](const Param& p) {
    auto vb = b.get(p.name);
    if (vb && !escaped_equal(p.value, *vb, false)) ok = false;
  });
  return ok;
}

std::string tel_digits(std::string_view n) {
  // RFC 3966 section 4: visual separators are ignored in comparisons.
  std::string out;
  for (char c : n)
    if (c != '-' && c != '.' && c != '(' && c != ')') out.push_back(text::to_lower(c));
  return out;
}

}  // namespace

bool uri_equal(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  if (a.scheme == Scheme::kOther)
    return iequals(a.scheme_text, b.scheme_text) && a.opaque == b.opaque;
  if (a.scheme == Scheme::kTel) {
    if (tel_digits(a.opaque) != tel_digits(b.opaque)) return false;
    if (a.params.size() != b.params.size()) return false;
    bool ok = true;
    a.params.for_each([&](const Param& p) {
      auto vb = b.params.get(p.name);
      if (!vb || !escaped_equal(p.value, *vb, false)) ok = false;
    });
    return ok;
  }
  if (a.has_user != b.has_user || a.has_password != b.has_password) return false;
  if (!escaped_equal(a.user, b.user, true) || !escaped_equal(a.password, b.password, true))
    return false;
  if (!host_equal(a, b)) return false;
  if (a.has_port != b.has_port || a.port != b.port) return false;
  return params_equal(a.params, b.params) && headers_equal(a.headers, b.headers);
}

}  // namespace exphone::sip
