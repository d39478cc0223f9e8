// Authentication of the web admin page (docs/config.md [web]): scrypt password hashes (OpenSSL),
// server-side sessions with a CSRF token each, and per-client login throttling. No I/O, no clock
// of its own (callers pass `now`): unit-testable.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace exphone::web {

using Clock = std::chrono::steady_clock;

// "$scrypt$ln=15,r=8,p=1$<base64 salt>$<base64 hash>": N = 2^ln, 16-byte random salt, 32-byte
// hash, derived by OpenSSL's scrypt (RFC 7914). Errors: "web-password" (empty password), "crypto".
Result<std::string> hash_password(std::string_view password, int log2_n = 15);
// Constant-time comparison; false for a malformed or unsupported hash (never throws).
bool verify_password(std::string_view password, std::string_view stored_hash);

// 128 bits from the CSPRNG, hex.
std::string random_token();
// Constant-time string equality.
bool equal_tokens(std::string_view a, std::string_view b);

struct Session {
  std::string csrf;
  Clock::time_point expires;
};

// Sessions by token; an idle session expires `timeout` after its last use. At most `max_sessions`:
// a new login evicts the session closest to expiry.
class SessionStore {
 public:
  explicit SessionStore(std::chrono::seconds timeout, std::size_t max_sessions = 64)
      : timeout_(timeout), max_(max_sessions) {}
  // Returns the new session's token.
  std::string create(Clock::time_point now);
  // The live session of `token` (its expiry extended), or null.
  const Session* find(std::string_view token, Clock::time_point now);
  void remove(std::string_view token);
  std::size_t size() const { return sessions_.size(); }

  // Across the daemon's restart on a changed config (exec, same PID; docs/config.md [web]): the
  // live sessions as text ("token csrf ms-left" lines) for the next process image, and taking
  // them over there. Malformed lines are skipped; no session outlives `timeout` from `now`;
  // returns how many were taken.
  std::string hand_over(Clock::time_point now) const;
  std::size_t take_over(std::string_view text, Clock::time_point now);

 private:
  std::chrono::seconds timeout_;
  std::size_t max_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// Login attempts per client address: after `max_failures` failed attempts within `window`, that
// address is refused (even with the right password) until `lockout` has passed. Bounded table.
class LoginThrottle {
 public:
  LoginThrottle(int max_failures = 5, std::chrono::seconds window = std::chrono::minutes(15),
                std::chrono::seconds lockout = std::chrono::minutes(5), std::size_t max_clients = 4096)
      : max_failures_(max_failures), window_(window), lockout_(lockout), max_clients_(max_clients) {}
  // Seconds until `client` may try again; 0 = allowed now.
  long blocked_for(const std::string& client, Clock::time_point now);
  void failure(const std::string& client, Clock::time_point now);
  void success(const std::string& client);

 private:
  struct Entry {
    int failures = 0;
    Clock::time_point first;
    Clock::time_point locked_until;
  };
  int max_failures_;
  std::chrono::seconds window_, lockout_;
  std::size_t max_clients_;
  std::map<std::string, Entry> clients_;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);
// Set-Cookie value for a session cookie: Secure; HttpOnly; SameSite=Strict; Path=/.
std::string session_cookie(std::string_view name, std::string_view value, long max_age_s = -1);
// application/x-www-form-urlencoded body -> fields (percent- and '+'-decoded); nullopt when malformed.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body);
// HTML text/attribute escaping.
std::string html_escape(std::string_view s);

}  // namespace exphone::web
