#include "ua/digest.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <optional>

#include "core/text.h"
#include "sip/header_id.h"

namespace exphone::ua {

namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const unsigned char* p, std::size_t n) {
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 0x0f]);
  }
  return out;
}

// OpenSSL fetch names of the base hashes.
const char* evp_name(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kMd5:
    case DigestAlgorithm::kMd5Sess: return "MD5";
    case DigestAlgorithm::kSha256:
    case DigestAlgorithm::kSha256Sess: return "SHA256";
    case DigestAlgorithm::kSha512_256:
    case DigestAlgorithm::kSha512_256Sess: return "SHA512-256";
  }
  return "";
}

bool is_sess(DigestAlgorithm a) {
  return a == DigestAlgorithm::kMd5Sess || a == DigestAlgorithm::kSha256Sess ||
         a == DigestAlgorithm::kSha512_256Sess;
}

constexpr std::array kAlgorithms = {DigestAlgorithm::kMd5,        DigestAlgorithm::kMd5Sess,
                                    DigestAlgorithm::kSha256,     DigestAlgorithm::kSha256Sess,
                                    DigestAlgorithm::kSha512_256, DigestAlgorithm::kSha512_256Sess};

std::optional<DigestAlgorithm> algorithm_from_name(std::string_view name) {
  for (auto a : kAlgorithms)
    if (text::iequals(name, algorithm_name(a))) return a;
  return std::nullopt;
}

// Escapes a value for a quoted-string (RFC 3261 section 25.1 quoted-pair). CR, LF and NUL cannot
// be escaped there: they are dropped so that no value can end the header.
std::string quoted(std::string_view v) {
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '\r' || ch == '\n' || ch == '\0') continue;
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

std::string nc_hex(std::uint32_t nc) {
  std::string out(8, '0');
  for (int i = 7; i >= 0; --i, nc >>= 4) out[static_cast<std::size_t>(i)] = kHex[nc & 0x0f];
  return out;
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (auto p : parts) {
    if (!first) out.push_back(':');
    out.append(p);
    first = false;
  }
  return out;
}

}  // namespace

std::string_view algorithm_name(DigestAlgorithm a) {
  switch (a) {
    case DigestAlgorithm::kMd5: return "MD5";
    case DigestAlgorithm::kMd5Sess: return "MD5-sess";
    case DigestAlgorithm::kSha256: return "SHA-256";
    case DigestAlgorithm::kSha256Sess: return "SHA-256-sess";
    case DigestAlgorithm::kSha512_256: return "SHA-512-256";
    case DigestAlgorithm::kSha512_256Sess: return "SHA-512-256-sess";
  }
  return "";
}

std::string digest_hex(DigestAlgorithm a, std::string_view data) {
  EVP_MD* md = EVP_MD_fetch(nullptr, evp_name(a), nullptr);
  if (md == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  int ok = EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr);
  EVP_MD_free(md);
  if (ok != 1) return {};
  return to_hex(out.data(), len);
}

std::string make_cnonce(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (bytes == 0 || bytes > 64 ||
      RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    return {};
  return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), bytes);
}

Result<DigestChallenge> parse_challenge(const sip::Auth& auth, bool proxy) {
  if (!text::iequals(auth.scheme, "Digest"))
    return make_error("auth-unsupported-scheme", "authentication scheme '" + auth.scheme + "' is not Digest");
  DigestChallenge c;
  c.proxy = proxy;
  const sip::AuthParam* realm = auth.find("realm");
  if (realm == nullptr) return make_error("auth-bad-challenge", "Digest challenge without realm");
  c.realm = realm->value;
  c.nonce = auth.get("nonce");
  if (c.nonce.empty()) return make_error("auth-bad-challenge", "Digest challenge without nonce");
  if (const sip::AuthParam* opaque = auth.find("opaque")) {
    c.opaque = opaque->value;
    c.has_opaque = true;
  }
  if (const sip::AuthParam* alg = auth.find("algorithm")) {
    auto a = algorithm_from_name(alg->value);
    if (!a) return make_error("auth-unsupported-algorithm", "unsupported digest algorithm '" + alg->value + "'");
    c.algorithm = *a;
  }
  if (digest_hex(c.algorithm, "").empty())
    return make_error("auth-unsupported-algorithm",
                      std::string(algorithm_name(c.algorithm)) + " is not available in this OpenSSL");
  if (const sip::AuthParam* qop = auth.find("qop")) {
    // qop-options = "qop" EQUAL LDQUOT qop-value *("," qop-value) RDQUOT   (RFC 3261 section 25.1)
    std::string_view list = qop->value;
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      std::string_view item = text::trim(list.substr(0, comma));
      if (text::iequals(item, "auth")) c.qop_auth = true;
      if (text::iequals(item, "auth-int")) c.qop_auth_int = true;
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (!c.qop_auth && !c.qop_auth_int)
      return make_error("auth-unsupported-qop", "no supported qop in '" + qop->value + "'");
  }
  c.stale = text::iequals(auth.get("stale"), "true");
  return c;
}

std::string_view chosen_qop(const DigestChallenge& c) {
  if (c.qop_auth) return "auth";
  if (c.qop_auth_int) return "auth-int";
  return "";
}

std::string digest_response(const DigestChallenge& c, const DigestInput& in) {
  auto h = [&](std::string_view s) { return digest_hex(c.algorithm, s); };
  const std::string_view qop = chosen_qop(c);
  std::string ha1 = h(join({in.username, c.realm, in.password}));
  if (is_sess(c.algorithm)) ha1 = h(join({ha1, c.nonce, in.cnonce}));
  std::string a2 = join({in.method, in.uri});
  if (qop == "auth-int") a2 += ":" + h(in.body);
  const std::string ha2 = h(a2);
  if (qop.empty()) return h(join({ha1, c.nonce, ha2}));
  return h(join({ha1, c.nonce, nc_hex(in.nonce_count), in.cnonce, qop, ha2}));
}

std::string authorization_value(const DigestChallenge& c, const DigestInput& in) {
  const std::string_view qop = chosen_qop(c);
  std::string v = "Digest username=" + quoted(in.username);
  v += ", realm=" + quoted(c.realm);
  v += ", nonce=" + quoted(c.nonce);
  v += ", uri=" + quoted(in.uri);
  v += ", response=\"" + digest_response(c, in) + "\"";
  v += ", algorithm=";
  v += algorithm_name(c.algorithm);
  if (!qop.empty() || is_sess(c.algorithm)) v += ", cnonce=" + quoted(in.cnonce);
  if (c.has_opaque) v += ", opaque=" + quoted(c.opaque);
  if (!qop.empty()) {
    v += ", qop=";
    v += qop;
    v += ", nc=" + nc_hex(in.nonce_count);
  }
  return v;
}

// --- DigestSession ---

DigestSession::DigestSession(std::string username, std::string password)
    : username_(std::move(username)), password_(std::move(password)) {}

DigestSession::RealmState* DigestSession::find(bool proxy, std::string_view realm) {
  for (auto& r : realms_)
    if (r.challenge.proxy == proxy && r.challenge.realm == realm) return &r;
  return nullptr;
}

DigestSession::Header DigestSession::credentials(RealmState& r, std::string_view method, std::string_view uri,
                                                 std::string_view body) {
  ++r.nc;
  r.sent = true;
  DigestInput in{method, uri, username_, password_, body, r.nc, r.cnonce};
  return Header{r.challenge.proxy ? "Proxy-Authorization" : "Authorization", authorization_value(r.challenge, in)};
}

Result<std::vector<DigestSession::Header>> DigestSession::answer(const sip::Message& challenge_response,
                                                                 std::string_view method, std::string_view uri,
                                                                 std::string_view body) {
  return answer_impl(challenge_response, method, uri, body, nullptr);
}

Result<std::vector<DigestSession::Header>> DigestSession::answer(const sip::Message& challenge_response,
                                                                 const sip::Message& rejected_request) {
  std::vector<Carried> carried;
  for (const auto& h : rejected_request.headers()) {
    if (h.id != sip::HeaderId::kAuthorization && h.id != sip::HeaderId::kProxyAuthorization) continue;
    auto a = sip::parse_auth(h.value, rejected_request.limits());
    if (!a || !text::iequals(a->scheme, "Digest")) continue;
    // Credentials that reused an earlier nonce (nc > 1: sent pre-emptively on a refresh) prove
    // nothing about the password when rejected: the server may simply have forgotten the nonce
    // (a restart, or expiry without stale=true). The fresh challenge is answered once.
    if (std::string nc = a->get("nc"); !nc.empty() && nc != "00000001") continue;
    carried.push_back({h.id == sip::HeaderId::kProxyAuthorization, a->get("realm")});
  }
  return answer_impl(challenge_response, rejected_request.method(), rejected_request.request_uri().raw,
                     rejected_request.body(), &carried);
}

Result<std::vector<DigestSession::Header>> DigestSession::answer_impl(const sip::Message& response,
                                                                      std::string_view method,
                                                                      std::string_view uri, std::string_view body,
                                                                      const std::vector<Carried>* carried) {
  if (response.status() != 401 && response.status() != 407)
    return make_error("auth-bad-challenge", "not a 401/407 response");

  // Per (kind, realm) the topmost challenge we can answer (RFC 8760 section 2.4).
  std::vector<DigestChallenge> chosen;
  std::optional<Error> digest_error;  // first Digest challenge we could not use
  std::optional<Error> scheme_error;  // first non-Digest challenge
  for (const auto& h : response.headers()) {
    bool proxy;
    if (h.id == sip::HeaderId::kWWWAuthenticate) proxy = false;
    else if (h.id == sip::HeaderId::kProxyAuthenticate) proxy = true;
    else continue;
    auto a = sip::parse_auth(h.value, response.limits());
    if (!a) {
      if (!digest_error)
        digest_error = make_error("auth-bad-challenge", std::string(h.name) + ": " + a.error().message);
      continue;
    }
    auto c = parse_challenge(*a, proxy);
    if (!c) {
      auto& slot = c.error().code == "auth-unsupported-scheme" ? scheme_error : digest_error;
      if (!slot) slot = c.error();
      continue;
    }
    bool seen = false;
    for (const auto& o : chosen) seen = seen || (o.proxy == c->proxy && o.realm == c->realm);
    if (!seen) chosen.push_back(std::move(*c));
  }
  if (chosen.empty()) {
    if (digest_error) return *digest_error;
    if (scheme_error) return *scheme_error;
    return make_error("auth-bad-challenge", "no WWW-Authenticate or Proxy-Authenticate challenge");
  }

  // Verdicts first, so that a failure leaves the session unchanged.
  for (const auto& c : chosen) {
    const RealmState* r = find(c.proxy, c.realm);
    bool got_credentials = false;
    if (carried) {
      for (const auto& k : *carried) got_credentials = got_credentials || (k.proxy == c.proxy && k.realm == c.realm);
    } else {
      got_credentials = r != nullptr && r->sent;
    }
    if (!got_credentials) continue;
    if (!c.stale)
      return make_error("auth-failed", "credentials for realm \"" + c.realm + "\" were rejected");
    if (r != nullptr && r->challenge.nonce == c.nonce)
      return make_error("auth-failed", "realm \"" + c.realm + "\" repeats a stale nonce");
  }

  std::vector<std::string> cnonces;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    cnonces.push_back(make_cnonce());
    if (cnonces.back().empty()) return make_error("auth-internal", "no random bytes for the cnonce");
  }
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    RealmState* r = find(chosen[i].proxy, chosen[i].realm);
    if (r == nullptr) {
      if (realms_.size() >= kMaxRealms) realms_.erase(realms_.begin());  // forget the oldest
      r = &realms_.emplace_back();
    }
    r->challenge = std::move(chosen[i]);
    r->nc = 0;
    r->cnonce = std::move(cnonces[i]);
    r->sent = false;
  }
  return preemptive(method, uri, body);
}

std::vector<DigestSession::Header> DigestSession::preemptive(std::string_view method, std::string_view uri,
                                                             std::string_view body) {
  std::vector<Header> out;
  out.reserve(realms_.size());
  for (auto& r : realms_) out.push_back(credentials(r, method, uri, body));
  return out;
}

}  // namespace exphone::ua
