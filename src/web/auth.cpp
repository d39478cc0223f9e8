#include "web/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/base64.h"

namespace exphone::web {

namespace {

constexpr std::size_t kSaltLen = 16;
constexpr std::size_t kHashLen = 32;
constexpr int kR = 8, kP = 1;
constexpr std::uint64_t kMaxMem = 256ull * 1024 * 1024;

struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};

bool scrypt(std::string_view password, const Bytes& salt, int log2_n, int r, int p, Bytes& out) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_SCRYPT, nullptr));
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0) return false;
  if (EVP_PKEY_CTX_set1_pbe_pass(ctx.get(), password.data(), static_cast<int>(password.size())) <= 0) return false;
  if (EVP_PKEY_CTX_set1_scrypt_salt(ctx.get(), salt.data(), static_cast<int>(salt.size())) <= 0) return false;
  if (EVP_PKEY_CTX_set_scrypt_N(ctx.get(), std::uint64_t{1} << log2_n) <= 0) return false;
  if (EVP_PKEY_CTX_set_scrypt_r(ctx.get(), static_cast<std::uint64_t>(r)) <= 0) return false;
  if (EVP_PKEY_CTX_set_scrypt_p(ctx.get(), static_cast<std::uint64_t>(p)) <= 0) return false;
  if (EVP_PKEY_CTX_set_scrypt_maxmem_bytes(ctx.get(), kMaxMem) <= 0) return false;
  std::size_t len = out.size();
  return EVP_PKEY_derive(ctx.get(), out.data(), &len) > 0 && len == out.size();
}

bool parse_int(std::string_view s, int& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, int log2_n) {
  if (password.empty()) return make_error("web-password", "the password must not be empty");
  if (log2_n < 10 || log2_n > 20) return make_error("web-password", "scrypt ln must be between 10 and 20");
  Bytes salt(kSaltLen), hash(kHashLen);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return make_error("crypto", "RAND_bytes failed");
  if (!scrypt(password, salt, log2_n, kR, kP, hash)) return make_error("crypto", "scrypt failed");
  return "$scrypt$ln=" + std::to_string(log2_n) + ",r=" + std::to_string(kR) + ",p=" + std::to_string(kP) + "$" +
         base64_encode(salt) + "$" + base64_encode(hash);
}

bool verify_password(std::string_view password, std::string_view stored) {
  constexpr std::string_view kPrefix = "$scrypt$";
  if (stored.substr(0, kPrefix.size()) != kPrefix) return false;
  stored.remove_prefix(kPrefix.size());
  std::size_t d1 = stored.find('$');
  if (d1 == std::string_view::npos) return false;
  std::size_t d2 = stored.find('$', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  std::string_view params = stored.substr(0, d1);
  auto salt = base64_decode(stored.substr(d1 + 1, d2 - d1 - 1));
  auto expect = base64_decode(stored.substr(d2 + 1));
  if (!salt || !expect || salt->size() < 8 || expect->size() != kHashLen) return false;
  int ln = -1, r = -1, p = -1;
  std::size_t pos = 0;
  while (pos <= params.size()) {
    std::size_t comma = params.find(',', pos);
    std::string_view kv = params.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return false;
    std::string_view k = kv.substr(0, eq), v = kv.substr(eq + 1);
    int* dst = k == "ln" ? &ln : k == "r" ? &r : k == "p" ? &p : nullptr;
    if (!dst || !parse_int(v, *dst)) return false;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  // bounded work for a hash read from a config file: at most 2^20 * r 128-byte blocks
  if (ln < 10 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 4) return false;
  Bytes got(kHashLen);
  if (!scrypt(password, *salt, ln, r, p, got)) return false;
  return CRYPTO_memcmp(got.data(), expect->data(), kHashLen) == 0;
}

std::string random_token() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) std::abort();  // no CSPRNG: no sessions
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

bool equal_tokens(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string SessionStore::create(Clock::time_point now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) it = it->second.expires <= now ? sessions_.erase(it) : std::next(it);
  while (sessions_.size() >= max_ && !sessions_.empty()) {
    auto oldest = sessions_.begin();
    for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
      if (it->second.expires < oldest->second.expires) oldest = it;
    sessions_.erase(oldest);
  }
  std::string token = random_token();
  sessions_[token] = Session{random_token(), now + timeout_};
  return token;
}

const Session* SessionStore::find(std::string_view token, Clock::time_point now) {
  if (token.size() != 32) return nullptr;
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return nullptr;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return nullptr;
  }
  it->second.expires = now + timeout_;
  return &it->second;
}

std::string SessionStore::hand_over(Clock::time_point now) const {
  std::string out;
  for (const auto& [token, session] : sessions_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(session.expires - now).count();
    if (left > 0) out += token + " " + session.csrf + " " + std::to_string(left) + "\n";
  }
  return out;
}

std::size_t SessionStore::take_over(std::string_view text, Clock::time_point now) {
  auto hex32 = [](std::string_view t) {
    return t.size() == 32 && t.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  std::size_t taken = 0;
  while (!text.empty() && sessions_.size() < max_) {
    std::size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    std::size_t a = line.find(' '), b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) continue;
    std::string_view token = line.substr(0, a), csrf = line.substr(a + 1, b - a - 1), left = line.substr(b + 1);
    if (!hex32(token) || !hex32(csrf) || left.empty() || left.size() > 9 ||
        left.find_first_not_of("0123456789") != std::string_view::npos)
      continue;
    // never longer than a fresh session: the old process's timeout may have been longer
    auto ms = std::min<long long>(std::stoll(std::string(left)), std::chrono::milliseconds(timeout_).count());
    sessions_[std::string(token)] = Session{std::string(csrf), now + std::chrono::milliseconds(ms)};
    ++taken;
  }
  return taken;
}

void SessionStore::remove(std::string_view token) {
  auto it = sessions_.find(token);
  if (it != sessions_.end()) sessions_.erase(it);
}

long LoginThrottle::blocked_for(const std::string& client, Clock::time_point now) {
  auto it = clients_.find(client);
  if (it == clients_.end() || it->second.locked_until <= now) return 0;
  return static_cast<long>(std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now).count());
}

void LoginThrottle::failure(const std::string& client, Clock::time_point now) {
  if (clients_.size() >= max_clients_ && !clients_.count(client)) {
    for (auto it = clients_.begin(); it != clients_.end();)
      it = (it->second.first + window_ <= now && it->second.locked_until <= now) ? clients_.erase(it) : std::next(it);
    if (clients_.size() >= max_clients_) clients_.erase(clients_.begin());
  }
  Entry& e = clients_[client];
  if (e.failures == 0 || e.first + window_ <= now) {
    e.failures = 0;
    e.first = now;
  }
  if (++e.failures >= max_failures_) {
    e.locked_until = now + lockout_;
    e.failures = 0;
  }
}

void LoginThrottle::success(const std::string& client) { clients_.erase(client); }

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while (pos < header.size()) {
    std::size_t end = header.find(';', pos);
    if (end == std::string_view::npos) end = header.size();
    std::string_view part = header.substr(pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
    pos = end + 1;
  }
  return std::nullopt;
}

std::string session_cookie(std::string_view name, std::string_view value, long max_age_s) {
  std::string c = std::string(name) + "=" + std::string(value) + "; Path=/; Secure; HttpOnly; SameSite=Strict";
  if (max_age_s >= 0) c += "; Max-Age=" + std::to_string(max_age_s);
  return c;
}

std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  std::map<std::string, std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t end = body.find('&', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view part = body.substr(pos, end - pos);
    if (!part.empty()) {
      std::size_t eq = part.find('=');
      auto k = url_decode(part.substr(0, eq));
      auto v = url_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
      if (!k || !v || out.size() >= 32) return std::nullopt;
      out[*k] = *v;
    }
    pos = end + 1;
  }
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace exphone::web
