#include "net/tls/tls_context.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "net/tls/tls_internal.h"
#include "net/tls/tls_verify.h"

namespace exphone::net::tls {

namespace detail {

namespace {

void free_ssl_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<SslState*>(ptr);
}
void free_ctx_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<CtxState*>(ptr);
}

int ssl_index() {
  static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ssl_state);
  return idx;
}
int ctx_index() {
  static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ctx_state);
  return idx;
}

}  // namespace

CtxState::~CtxState() {
  if (keylog_fd >= 0) ::close(keylog_fd);
}

SslState* ssl_state(const SSL* ssl) {
  return static_cast<SslState*>(SSL_get_ex_data(ssl, ssl_index()));
}

SslState& ensure_ssl_state(SSL* ssl) {
  SslState* old = ssl_state(ssl);
  auto* st = new SslState();
  SSL_set_ex_data(ssl, ssl_index(), st);
  delete old;
  return *st;
}

CtxState* ctx_state(const SSL_CTX* ctx) {
  return static_cast<CtxState*>(SSL_CTX_get_ex_data(ctx, ctx_index()));
}

CtxState& ensure_ctx_state(SSL_CTX* ctx) {
  if (CtxState* st = ctx_state(ctx)) return *st;
  auto* st = new CtxState();
  SSL_CTX_set_ex_data(ctx, ctx_index(), st);
  return *st;
}

}  // namespace detail

namespace {

using detail::X509Ptr;

struct EvpPkeyFree {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
struct BioFree {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

constexpr std::size_t kMaxFileSize = 16 * 1024 * 1024;  // system CA bundles are < 1 MiB

Error config_error(std::string message) { return make_error(kErrConfig, std::move(message)); }

std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  if (e == 0) return "unknown OpenSSL error";
  const char* r = ERR_reason_error_string(e);
  return r != nullptr ? r : "unknown OpenSSL error";
}

// Reads a whole (small) file; the error names the file and the cause.
Result<std::string> read_file(const std::string& path, std::string_view what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int e = errno;
    std::string why = e == ENOENT ? "not found" : e == EACCES ? "permission denied" : std::strerror(e);
    return config_error(std::string(what) + " '" + path + "': " + why);
  }
  std::string data;
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    data.append(buf, n);
    if (data.size() > kMaxFileSize) {
      std::fclose(f);
      return config_error(std::string(what) + " '" + path + "': file too large");
    }
  }
  bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) return config_error(std::string(what) + " '" + path + "': read error (is it a directory?)");
  if (data.empty()) return config_error(std::string(what) + " '" + path + "': file is empty");
  return data;
}

// PEM (any number of CERTIFICATE blocks) or DER (one or more concatenated certificates).
Result<std::vector<X509Ptr>> load_certs(const std::string& path, std::string_view what) {
  auto data = read_file(path, what);
  if (!data) return data.error();
  const std::string& d = *data;
  std::vector<X509Ptr> certs;
  std::string prefix = std::string(what) + " '" + path + "': ";

  if (d.find("-----BEGIN ") != std::string::npos) {
    BioPtr bio(BIO_new_mem_buf(d.data(), static_cast<int>(d.size())));
    std::vector<std::string> other_blocks;
    for (;;) {
      char* name = nullptr;
      char* header = nullptr;
      unsigned char* der = nullptr;
      long len = 0;
      if (PEM_read_bio(bio.get(), &name, &header, &der, &len) != 1) break;
      std::string block = name;
      OPENSSL_free(name);
      OPENSSL_free(header);
      if (block == "CERTIFICATE" || block == "X509 CERTIFICATE" || block == "TRUSTED CERTIFICATE") {
        const unsigned char* p = der;
        X509* x = block == "TRUSTED CERTIFICATE" ? d2i_X509_AUX(nullptr, &p, len)
                                                 : d2i_X509(nullptr, &p, len);
        OPENSSL_free(der);
        if (x == nullptr) {
          ERR_clear_error();
          return config_error(prefix + "certificate #" + std::to_string(certs.size() + 1) +
                              " is malformed (not a valid X.509 certificate)");
        }
        certs.emplace_back(x);
      } else {
        OPENSSL_free(der);
        other_blocks.push_back(block);
      }
    }
    ERR_clear_error();  // PEM_R_NO_START_LINE at the end of the data
    if (certs.empty()) {
      if (!other_blocks.empty())
        return config_error(prefix + "not a certificate (the file holds a " + other_blocks.front() +
                            " PEM block)");
      return config_error(prefix + "not a certificate (no readable PEM CERTIFICATE block)");
    }
    return certs;
  }

  // DER, possibly several certificates back to back.
  const auto* p = reinterpret_cast<const unsigned char*>(d.data());
  const unsigned char* end = p + d.size();
  while (p < end) {
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(end - p));
    if (x == nullptr) break;
    certs.emplace_back(x);
  }
  ERR_clear_error();
  if (certs.empty() || p != end)
    return config_error(prefix + "not a certificate (neither PEM nor DER X.509)");
  return certs;
}

int passphrase_cb(char* buf, int size, int /*rwflag*/, void* user) {
  const auto* pass = static_cast<const std::string*>(user);
  if (pass == nullptr || pass->empty()) return 0;  // never prompt on a terminal
  if (pass->size() > static_cast<std::size_t>(size)) return -1;
  std::memcpy(buf, pass->data(), pass->size());
  return static_cast<int>(pass->size());
}

Result<EvpPkeyPtr> load_key(const std::string& path, const std::string& passphrase) {
  auto data = read_file(path, "client key");
  if (!data) return data.error();
  const std::string& d = *data;
  std::string prefix = "client key '" + path + "': ";
  bool encrypted = d.find("ENCRYPTED") != std::string::npos;
  if (encrypted && passphrase.empty())
    return config_error(prefix + "the key is encrypted and no passphrase is configured "
                                 "(set client_key_passphrase)");
  if (d.find("PRIVATE KEY-----") == std::string::npos)
    return config_error(prefix + "not a PEM private key");
  BioPtr bio(BIO_new_mem_buf(d.data(), static_cast<int>(d.size())));
  std::string pass = passphrase;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_cb, &pass);
  OPENSSL_cleanse(pass.data(), pass.size());
  OPENSSL_cleanse(data->data(), data->size());  // the (possibly unencrypted) key text
  if (key == nullptr) {
    std::string reason = openssl_reason();
    ERR_clear_error();
    if (encrypted) return config_error(prefix + "wrong passphrase (cannot decrypt the key)");
    return config_error(prefix + "not a valid private key (" + reason + ")");
  }
  return EvpPkeyPtr(key);
}

// NSS key log format (one line per secret); the file is append-only and 0600.
void keylog_cb(const SSL* ssl, const char* line) {
  const detail::CtxState* st = detail::ctx_state(SSL_get_SSL_CTX(ssl));
  if (st == nullptr || st->keylog_fd < 0) return;
  std::string out(line);
  out.push_back('\n');
  // One write() per line so concurrent appenders never interleave within a line (O_APPEND).
  ssize_t n = ::write(st->keylog_fd, out.data(), out.size());
  (void)n;  // best effort: a debug aid must never break the connection
}

// Client session cache hook: called for each new session (TLS 1.2 at the end of the handshake,
// TLS 1.3 for each NewSessionTicket, RFC 8446 section 4.6.1).
int new_session_cb(SSL* ssl, SSL_SESSION* session) {
  const detail::SslState* st = detail::ssl_state(ssl);
  if (st == nullptr || st->cache == nullptr || st->cache_key.empty()) return 0;
  // Only sessions whose server passed verification (chain and identity) may be resumed: a
  // resumed session skips certificate checks, so an unverified session (verify_server=false)
  // must never be picked up later by a verifying connection sharing the cache.
  if (SSL_get_verify_result(ssl) != X509_V_OK || SSL_get0_peer_certificate(ssl) == nullptr) return 0;
  st->cache->store(st->cache_key, session);
  return 0;  // OpenSSL drops its extra reference; the cache holds its own
}

Status add_client_identity(SSL_CTX* ctx, const TlsClientConfig& c) {
  if (c.client_cert.empty()) {
    if (!c.client_key.empty())
      return config_error("client key '" + c.client_key + "' is set but client_cert is empty");
    return Ok{};
  }
  auto certs = load_certs(c.client_cert, "client certificate");
  if (!certs) return certs.error();
  const std::string& key_path = c.client_key.empty() ? c.client_cert : c.client_key;
  auto key = load_key(key_path, c.client_key_passphrase);
  if (!key) return key.error();
  X509* leaf = certs->front().get();
  if (X509_check_private_key(leaf, key->get()) != 1) {
    ERR_clear_error();
    return config_error("client key '" + key_path + "' does not match client certificate '" +
                        c.client_cert + "' (" + detail::subject_of(leaf) + ")");
  }
  if (SSL_CTX_use_certificate(ctx, leaf) != 1)
    return config_error("client certificate '" + c.client_cert + "': rejected (" +
                        openssl_reason() + ")");
  for (std::size_t i = 1; i < certs->size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, (*certs)[i].get()) != 1)
      return config_error("client certificate '" + c.client_cert + "': chain certificate #" +
                          std::to_string(i + 1) + " rejected (" + openssl_reason() + ")");
  }
  if (SSL_CTX_use_PrivateKey(ctx, key->get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    std::string reason = openssl_reason();
    ERR_clear_error();
    return config_error("client key '" + key_path + "' does not match client certificate '" +
                        c.client_cert + "' (" + reason + ")");
  }
  return Ok{};
}

Status add_trust_store(SSL_CTX* ctx, const TlsClientConfig& c) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const std::string& file : c.ca_files) {
    auto certs = load_certs(file, "CA file");
    if (!certs) return certs.error();
    for (const auto& x : *certs) {
      if (X509_STORE_add_cert(store, x.get()) != 1) {
        std::string reason = openssl_reason();
        ERR_clear_error();
        return config_error("CA file '" + file + "': cannot add " + detail::subject_of(x.get()) +
                            " to the trust store (" + reason + ")");
      }
    }
  }
  if (c.use_system_store && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    std::string reason = openssl_reason();
    ERR_clear_error();
    return config_error("cannot load the system trust store (" + reason + ")");
  }
  if (c.verify_server && c.ca_files.empty() && !c.use_system_store)
    return config_error("no trust anchors: set ca_files (the CA that issued the server "
                        "certificate) or use_system_store");
  return Ok{};
}

Status open_keylog(SSL_CTX* ctx, const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return config_error("keylog file '" + path + "': cannot open (" + std::strerror(errno) + ")");
  }
  // An existing file may have been created with a wider mode: it holds secrets, tighten it.
  if (::fchmod(fd, 0600) != 0) {
    int e = errno;
    ::close(fd);
    return config_error("keylog file '" + path + "': cannot set mode 0600 (" + std::strerror(e) + ")");
  }
  detail::ensure_ctx_state(ctx).keylog_fd = fd;
  SSL_CTX_set_keylog_callback(ctx, keylog_cb);
  return Ok{};
}

// Minimum version and cipher lists: the same policy for both ends of a connection.
Status apply_protocol_policy(SSL_CTX* ctx, const TlsClientConfig& c, int min_version) {
  if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1)
    return config_error("cannot set the minimum TLS version (" + openssl_reason() + ")");
  const std::string& ciphers = c.ciphers.empty() ? std::string(kDefaultTls12Ciphers) : c.ciphers;
  if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
    ERR_clear_error();
    return config_error("ciphers \"" + ciphers + "\": no usable TLS 1.2 cipher in the list");
  }
  if (!c.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, c.ciphersuites.c_str()) != 1) {
    ERR_clear_error();
    return config_error("ciphersuites \"" + c.ciphersuites + "\": no usable TLS 1.3 cipher suite");
  }
  return Ok{};
}

}  // namespace

std::string TlsSessionCache::key(std::string_view host, std::uint16_t port) {
  std::string h(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  while (!h.empty() && h.back() == '.') h.pop_back();
  for (char& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  if (port != 0) h += ":" + std::to_string(port);
  return h;
}

void TlsSessionCache::store(const std::string& key, SSL_SESSION* session) {
  if (session == nullptr) return;
  // A copy, not a reference: OpenSSL marks the live connection's session not resumable when
  // that connection ends in an error, e.g. a TCP close without close_notify when the network
  // drops the flow. That is exactly when the flow is re-opened (RFC 5626 section 4.5), and an
  // unclean close does not forbid resumption (RFC 5246 section 7.2.1, RFC 8446 section 6.1).
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy == nullptr) {
    ERR_clear_error();
    return;
  }
  sessions_[key] = SslSessionPtr(copy);
}

SSL_SESSION* TlsSessionCache::peek(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second.get();
}

SslSessionPtr TlsSessionCache::take(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return nullptr;
  SSL_SESSION* s = it->second.get();
  if (SSL_SESSION_is_resumable(s) != 1) {
    sessions_.erase(it);
    return nullptr;
  }
  if (SSL_SESSION_get_protocol_version(s) >= TLS1_3_VERSION) {
    SslSessionPtr out = std::move(it->second);  // single use (RFC 8446 section C.4)
    sessions_.erase(it);
    return out;
  }
  SSL_SESSION_up_ref(s);
  return SslSessionPtr(s);
}

void TlsSessionCache::forget(const std::string& key) {
  auto it = sessions_.find(key);
  if (it != sessions_.end()) sessions_.erase(it);
}

Result<SslCtx> make_client_context(const TlsClientConfig& c) {
  int min_version = 0;
  if (c.min_version == "1.2") {
    min_version = TLS1_2_VERSION;
  } else if (c.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else if (c.min_version == "1.0" || c.min_version == "1.1") {
    return config_error("min_version \"" + c.min_version +
                        "\" is not allowed: TLS 1.0 and 1.1 are deprecated (RFC 8996); use \"1.2\" "
                        "or \"1.3\"");
  } else {
    return config_error("min_version \"" + c.min_version + "\" is not a TLS version: use \"1.2\" or \"1.3\"");
  }

  ERR_clear_error();
  SslCtx out(SSL_CTX_new(TLS_client_method()), c.keylog_file);
  SSL_CTX* ctx = out.get();
  if (ctx == nullptr) return config_error("cannot create the TLS context (" + openssl_reason() + ")");

  if (auto st = apply_protocol_policy(ctx, c, min_version); !st) return st.error();

  // A client never renegotiates (TLS 1.2); TLS 1.3 has no renegotiation at all.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  if (!c.session_tickets) SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

  detail::CtxState& cst = detail::ensure_ctx_state(ctx);
  cst.verify_server = c.verify_server;

  if (auto s = add_trust_store(ctx, c); !s) return s.error();
  if (auto s = add_client_identity(ctx, c); !s) return s.error();

  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  // RFC 5922 section 7.2: no wildcard matching for SIP domains.
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_WILDCARDS);
  if (c.verify_time) X509_VERIFY_PARAM_set_time(param, *c.verify_time);

  SSL_CTX_set_verify(ctx, c.verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                     detail::verify_callback);
  SSL_CTX_set_cert_cb(ctx, detail::cert_callback, nullptr);

  // Client-side session cache: sessions go to the TlsSessionCache given to prepare_client_ssl;
  // OpenSSL's internal store is useless on the client (it never looks sessions up there).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, new_session_cb);

  if (!c.keylog_file.empty()) {
    if (auto s = open_keylog(ctx, c.keylog_file); !s) return s.error();
  }
  ERR_clear_error();
  return out;
}

namespace {
// A listener checks client certificates at the trusted (NTP) time, like the client side does for
// servers: the ClientHello callback runs before any certificate is verified.
int server_hello_cb(SSL* ssl, int*, void*) {
  const detail::CtxState* cst = detail::ctx_state(SSL_get_SSL_CTX(ssl));
  if (cst != nullptr && cst->clock)
    if (auto t = cst->clock->verify_time()) X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), *t);
  return SSL_CLIENT_HELLO_SUCCESS;
}
}  // namespace

Result<SslCtx> make_server_context(const TlsClientConfig& c, bool require_client_cert) {
  if (c.client_cert.empty())
    return config_error("a TLS listener needs the device certificate: set client_cert and client_key");
  ERR_clear_error();
  SslCtx out(SSL_CTX_new(TLS_server_method()), c.keylog_file);
  SSL_CTX* ctx = out.get();
  if (ctx == nullptr) return config_error("cannot create the TLS server context (" + openssl_reason() + ")");
  int min_version = c.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (auto st = apply_protocol_policy(ctx, c, min_version); !st) return st.error();
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (auto st = add_client_identity(ctx, c); !st) return st.error();
  // Client certificates: verified against ca_files when offered; required when asked (mutual
  // TLS: only devices with a certificate from the plant CA may reach the phone).
  TlsClientConfig trust = c;
  trust.verify_server = require_client_cert;
  if (require_client_cert || !c.ca_files.empty() || c.use_system_store)
    if (auto st = add_trust_store(ctx, trust); !st) return st.error();
  int mode = SSL_VERIFY_NONE;
  if (require_client_cert) mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  else if (!c.ca_files.empty() || c.use_system_store) mode = SSL_VERIFY_PEER;
  SSL_CTX_set_verify(ctx, mode, nullptr);
  if (c.verify_time) {
    X509_VERIFY_PARAM_set_time(SSL_CTX_get0_param(ctx), *c.verify_time);
  } else if (c.clock) {
    detail::ensure_ctx_state(ctx).clock = c.clock;
    SSL_CTX_set_client_hello_cb(ctx, server_hello_cb, nullptr);
  }
  static const unsigned char kSessionContext[] = "exphone-sip";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
  if (!c.keylog_file.empty())
    if (auto st = open_keylog(ctx, c.keylog_file); !st) return st.error();
  ERR_clear_error();
  return out;
}

Status prepare_client_ssl(SSL* ssl, const TlsClientConfig& c, std::string_view server_host,
                          TlsSessionCache* cache, std::uint16_t port) {
  if (ssl == nullptr) return config_error("prepare_client_ssl: no SSL object");
  std::string host(server_host);
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) return config_error("server host is empty");
  for (char ch : host) {
    auto u = static_cast<unsigned char>(ch);
    if (u <= 0x20 || u >= 0x7f || ch == '/' || ch == '@' || ch == '*')
      return config_error("server host '" + std::string(server_host) + "' is not a host name or IP address");
  }
  bool is_ip = !detail::parse_ip(host).empty();
  if (bracketed && !is_ip)
    return config_error("server host '" + std::string(server_host) + "' is not an IPv6 literal");

  detail::SslState& st = detail::ensure_ssl_state(ssl);
  st.expected_host = host;
  st.host_is_ip = is_ip;
  st.verify_server = c.verify_server;
  st.cache = cache;
  st.cache_key = cache != nullptr ? TlsSessionCache::key(host, port) : std::string();

  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_WILDCARDS);  // RFC 5922 section 7.2
  if (is_ip) {
    // RFC 6066 section 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName" --
    // no SNI; the identity is an iPAddress SAN.
    if (X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) != 1) {
      ERR_clear_error();
      return config_error("server host '" + host + "': cannot use as IP address");
    }
  } else {
    if (X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size()) != 1) {
      ERR_clear_error();
      return config_error("server host '" + host + "': cannot use as DNS name");
    }
    // RFC 6066 section 3: HostName is the fully qualified DNS name, without a trailing dot.
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
      ERR_clear_error();
      return config_error("server host '" + host + "': cannot send as SNI");
    }
  }
  if (c.verify_time) {
    X509_VERIFY_PARAM_set_time(param, *c.verify_time);
  } else if (c.clock) {
    if (auto t = c.clock->verify_time()) X509_VERIFY_PARAM_set_time(param, *t);  // NTP time
  }
  st.clock = c.clock;

  SSL_set_verify(ssl, c.verify_server ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, detail::verify_callback);
  SSL_set_cert_cb(ssl, detail::cert_callback, nullptr);

  if (cache != nullptr) {
    if (SslSessionPtr s = cache->take(st.cache_key)) {
      if (SSL_set_session(ssl, s.get()) != 1) ERR_clear_error();  // full handshake instead
    }
  }
  return Ok{};
}

}  // namespace exphone::net::tls
