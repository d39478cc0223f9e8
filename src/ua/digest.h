// SIP digest authentication, UAC side: RFC 3261 section 22 with the computation of RFC 7616
// section 3.4 (RFC 2617 compatible) and the algorithms RFC 8760 adds to SIP (SHA-256,
// SHA-512-256 and their -sess variants).
//
// Pure: no I/O, no clocks. Hashes come from OpenSSL EVP, client nonces from RAND_bytes.
// Not implemented (optional for a UAC): userhash, charset, the Authentication-Info check.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "sip/headers.h"
#include "sip/message.h"

namespace exphone::ua {

enum class DigestAlgorithm { kMd5, kMd5Sess, kSha256, kSha256Sess, kSha512_256, kSha512_256Sess };

// "MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess"
std::string_view algorithm_name(DigestAlgorithm a);

// Lower-case hex of the algorithm's hash of `data` (the -sess variants use the base hash).
// Empty when the hash is unavailable in this OpenSSL (e.g. MD5 under a FIPS-only provider).
std::string digest_hex(DigestAlgorithm a, std::string_view data);

// One challenge from a WWW-Authenticate (401) or Proxy-Authenticate (407) header value.
struct DigestChallenge {
  bool proxy = false;  // Proxy-Authenticate (answer with Proxy-Authorization)
  std::string realm, nonce, opaque;
  bool has_opaque = false;
  DigestAlgorithm algorithm = DigestAlgorithm::kMd5;  // absent parameter means MD5
  bool qop_auth = false, qop_auth_int = false;        // qop values offered
  bool stale = false;                                 // stale=true, case-insensitive
};

// Error codes:
//   "auth-unsupported-scheme"    not Digest (Basic, Bearer, ...)
//   "auth-unsupported-algorithm" an algorithm we do not know, or one this OpenSSL cannot hash
//   "auth-unsupported-qop"       qop offered, but neither "auth" nor "auth-int"
//   "auth-bad-challenge"         realm or nonce missing (or nonce empty)
Result<DigestChallenge> parse_challenge(const sip::Auth& auth, bool proxy);

struct DigestInput {
  std::string_view method;    // the request's method (A2)
  std::string_view uri;       // the Request-URI as sent, also the digest-uri parameter
  std::string_view username;
  std::string_view password;
  std::string_view body;      // hashed only with qop=auth-int
  std::uint32_t nonce_count = 1;
  std::string_view cnonce;    // used with qop and with the -sess algorithms
};

// The qop the answer uses: "auth" when offered, "auth-int" only when it is the only one offered,
// "" when the challenge offers none (RFC 2069 compatible response).
std::string_view chosen_qop(const DigestChallenge& c);

// The request-digest alone (RFC 7616 section 3.4.1), lower-case hex.
std::string digest_response(const DigestChallenge& c, const DigestInput& in);

// The Authorization / Proxy-Authorization header value (RFC 3261 section 22.4, 25.1; RFC 7616
// section 3.4): Digest username, realm, nonce, uri, response, algorithm, then cnonce + qop + nc
// when qop is used (cnonce also for -sess without qop), opaque when the challenge had one.
// Quoted values are escaped; CR, LF and NUL are dropped from them so no header can be injected.
std::string authorization_value(const DigestChallenge& c, const DigestInput& in);

// Lower-case hex of `bytes` bytes from the CSPRNG; empty if RAND_bytes fails.
std::string make_cnonce(std::size_t bytes = 16);

// Credentials of one account across its requests.
//
// Choice among several challenges (RFC 8760 section 2.4): per realm, the topmost header field
// with an algorithm this client supports, i.e. the server's order of preference; further
// challenges for the same realm are ignored. Different realms (a proxy and a registrar, or two
// proxies after forking) are each answered.
//
// Loop guard: a realm that is challenged again after it got our credentials fails with
// "auth-failed" unless the new challenge says stale=true with a new nonce (RFC 3261 section
// 22.2/22.3; a stale repeat of the nonce we used fails too).
class DigestSession {
 public:
  struct Header {
    std::string name;   // "Authorization" or "Proxy-Authorization"
    std::string value;
  };

  DigestSession(std::string username, std::string password);

  // Feed a 401/407 response (all its WWW-Authenticate and Proxy-Authenticate values). Returns
  // the authorization headers the retried request carries: one per realm the session knows,
  // the challenged ones with their new nonce and nc=00000001, the others with nc+1. They replace
  // any Authorization / Proxy-Authorization headers of the rejected request.
  //
  // This overload does not see the rejected request, so it assumes it carried the credentials
  // the session last handed out (by answer() or preemptive()) for each realm: send preemptive()
  // credentials with every request, or use the overload below.
  //
  // Errors: "auth-failed", "auth-bad-challenge" (not a 401/407, no usable challenge),
  // "auth-unsupported-scheme", "auth-unsupported-algorithm", "auth-unsupported-qop" (when no
  // challenge can be answered, the code of the first unanswerable one), "auth-internal" (no
  // random bytes).
  Result<std::vector<Header>> answer(const sip::Message& challenge_response, std::string_view method,
                                     std::string_view uri, std::string_view body = "");

  // Same, with the rejected request: method, Request-URI and body come from it, and "did this
  // realm already get our credentials" is read from its Authorization / Proxy-Authorization
  // headers instead of assumed (a request sent without credentials is never a failure).
  Result<std::vector<Header>> answer(const sip::Message& challenge_response, const sip::Message& rejected_request);

  // Preemptive credentials for the next request (e.g. a REGISTER refresh): every known realm with
  // its last nonce and nc+1. Empty when no challenge has been seen.
  std::vector<Header> preemptive(std::string_view method, std::string_view uri, std::string_view body = "");

  // Forget nonces and realms (e.g. after switching registrar).
  void reset() { realms_.clear(); }

  // At most this many realms are remembered; a new one beyond that replaces the oldest.
  static constexpr std::size_t kMaxRealms = 8;

 private:
  struct RealmState {
    DigestChallenge challenge;  // last challenge answered for this realm
    std::uint32_t nc = 0;       // last nonce-count used with challenge.nonce
    std::string cnonce;         // client nonce for challenge.nonce
    bool sent = false;          // credentials handed out since the challenge
  };
  struct Carried {
    bool proxy;
    std::string realm;
  };

  Result<std::vector<Header>> answer_impl(const sip::Message& response, std::string_view method,
                                          std::string_view uri, std::string_view body,
                                          const std::vector<Carried>* carried);
  RealmState* find(bool proxy, std::string_view realm);
  Header credentials(RealmState& r, std::string_view method, std::string_view uri, std::string_view body);

  std::string username_;
  std::string password_;
  std::vector<RealmState> realms_;
};

}  // namespace exphone::ua
