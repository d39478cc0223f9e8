// TLS cipher judgement for `audit`: the list is expanded by libssl itself (the same parser the
// phone's TLS context uses), then every cipher is judged by its parts.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>
#include <memory>
#include <sys/stat.h>

#include "core/text.h"
#include "tools/audit/audit.h"

namespace exphone::audit {

namespace {

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

Finding finding(std::string id, Severity s, std::string key, std::string risk, std::string fix) {
  return Finding{std::move(id), s, 0, std::move(key), std::move(risk), std::move(fix)};
}

}  // namespace

std::vector<Finding> check_ciphers(const std::string& ciphers, const std::string& ciphersuites) {
  std::vector<Finding> out;
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return out;
  const std::string fix12 = "remove tls.ciphers (the default is ECDHE with AES-GCM / ChaCha20-Poly1305 only)";
  if (!ciphers.empty()) {
    if (SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str()) != 1) {
      ERR_clear_error();
      out.push_back(finding("tls-bad-ciphers", Severity::kError, "tls.ciphers",
                            "tls.ciphers selects no cipher OpenSSL knows, so every TLS 1.2 connection fails", fix12));
    } else {
      std::vector<std::string> broken, no_fs, cbc;
      STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx.get());
      for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
        int kx = SSL_CIPHER_get_kx_nid(c);
        if (kx == NID_kx_any) continue;  // a TLS 1.3 suite: judged below
        std::string name = SSL_CIPHER_get_name(c);
        int enc = SSL_CIPHER_get_cipher_nid(c);
        int auth = SSL_CIPHER_get_auth_nid(c);
        int bits = SSL_CIPHER_get_bits(c, nullptr);
        // RFC 7525 section 4: no NULL, anonymous, export, RC4 (RFC 7465), (3)DES or < 128-bit ciphers
        if (enc == NID_undef || auth == NID_auth_null || bits < 128 || enc == NID_rc4 || enc == NID_des_ede3_cbc ||
            enc == NID_des_cbc || name.find("MD5") != std::string::npos)
          broken.push_back(name);
        else if (kx == NID_kx_rsa || kx == NID_kx_psk)  // no forward secrecy (RFC 7525 section 6.3)
          no_fs.push_back(name);
        else if (!SSL_CIPHER_is_aead(c))  // CBC mac-then-encrypt (Lucky13 family; RFC 7525 4.2 prefers AEAD)
          cbc.push_back(name);
      }
      auto join = [](const std::vector<std::string>& v) {
        std::string s;
        for (std::size_t i = 0; i < v.size() && i < 4; ++i) s += (i ? ", " : "") + v[i];
        if (v.size() > 4) s += " and " + std::to_string(v.size() - 4) + " more";
        return s;
      };
      if (!broken.empty())
        out.push_back(finding("tls-weak-ciphers", Severity::kError, "tls.ciphers",
                              "tls.ciphers allows broken ciphers (" + join(broken) +
                                  ") that let an attacker read or forge the signaling",
                              fix12));
      if (!no_fs.empty())
        out.push_back(finding("tls-ciphers-no-forward-secrecy", Severity::kWarning, "tls.ciphers",
                              "tls.ciphers allows RSA key transport (" + join(no_fs) +
                                  "): whoever gets the server key later decrypts every recorded call setup",
                              fix12));
      if (!cbc.empty())
        out.push_back(finding("tls-ciphers-cbc", Severity::kWarning, "tls.ciphers",
                              "tls.ciphers allows CBC ciphers (" + join(cbc) + "), weaker than AEAD (RFC 7525 4.2)", fix12));
    }
  }
  if (!ciphersuites.empty()) {
    if (SSL_CTX_set_ciphersuites(ctx.get(), ciphersuites.c_str()) != 1) {
      ERR_clear_error();
      out.push_back(finding("tls-bad-ciphers", Severity::kError, "tls.ciphersuites",
                            "tls.ciphersuites names no TLS 1.3 suite OpenSSL knows, so TLS cannot be set up",
                            "remove tls.ciphersuites (OpenSSL's default TLS 1.3 suites are all AEAD)"));
    } else if (ciphersuites.find("CCM_8") != std::string::npos) {
      out.push_back(finding("tls-weak-ciphers", Severity::kWarning, "tls.ciphersuites",
                            "TLS_AES_128_CCM_8_SHA256 has an 8-byte tag, too short for general use (RFC 8446 B.4, RFC 9150)",
                            "remove TLS_AES_128_CCM_8_SHA256 from tls.ciphersuites"));
    }
  }
  return out;
}

bool time_sync_configured(const std::vector<std::string>& files) {
  for (const auto& f : files) {
    if (f.size() > 8 && f.compare(f.size() - 8, 8, ".service") == 0) {
      // an enabled systemd-timesyncd uses its compiled-in servers (Debian: FallbackNTP)
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) return true;
      continue;
    }
    std::ifstream in(f);
    std::string line;
    while (in && std::getline(in, line)) {
      std::string_view l = text::trim(line);
      if (l.empty() || l[0] == '#' || l[0] == ';') continue;
      if (text::istarts_with(l, "server ") || text::istarts_with(l, "pool ") || text::istarts_with(l, "server\t") ||
          text::istarts_with(l, "pool\t"))
        return true;
      if (text::istarts_with(l, "NTP=") && !text::trim(l.substr(4)).empty()) return true;
    }
  }
  return false;
}

}  // namespace exphone::audit
