// TLS policy and verification: real handshakes between a client SSL (configured by
// make_client_context/prepare_client_ssl) and a test server SSL over a BIO pair, no sockets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "net/tls/tls_config.h"
#include "net/tls/tls_context.h"
#include "net/tls/tls_inspect.h"
#include "net/tls/tls_verify.h"
#include "test_pki.h"

namespace tls = exphone::net::tls;
using exphone::testpki::Cert;
using exphone::testpki::CertSpec;
using exphone::testpki::make_cert;
using exphone::testpki::TempDir;
using exphone::testpki::to_pem;
using tls::TlsClientConfig;

namespace {

constexpr long kDay = 24L * 3600;
const char* kHost = "pbx.example.com";

CertSpec spec(std::string cn, std::vector<std::string> dns = {}, std::vector<std::string> ips = {},
              std::vector<std::string> uris = {}) {
  CertSpec s;
  s.cn = std::move(cn);
  s.dns = std::move(dns);
  s.ips = std::move(ips);
  s.uris = std::move(uris);
  return s;
}

CertSpec ca_spec(std::string cn) {
  CertSpec s;
  s.cn = std::move(cn);
  s.ca = true;
  s.not_before = -365 * kDay;
  s.not_after = 3650 * kDay;
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using CtxPtr = std::unique_ptr<SSL_CTX, tls::SslCtxFree>;

struct ServerOptions {
  const Cert* leaf = nullptr;
  std::vector<const Cert*> chain;  // sent after the leaf
  bool require_client_cert = false;
  const Cert* client_ca = nullptr;  // the server's trust anchor for client certificates
  int max_version = 0;
  bool legacy = false;  // security level 0 so that TLS 1.0/1.1 can be offered at all
};

CtxPtr make_server_ctx(const ServerOptions& o) {
  CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  EXPECT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_use_certificate(ctx.get(), o.leaf->x509()), 1);
  for (const Cert* c : o.chain) EXPECT_EQ(SSL_CTX_add1_chain_cert(ctx.get(), c->x509()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx.get(), o.leaf->pkey()), 1);
  static const unsigned char sid_ctx[] = "exphone-test";
  SSL_CTX_set_session_id_context(ctx.get(), sid_ctx, sizeof sid_ctx - 1);
  if (o.legacy) {
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_cipher_list(ctx.get(), "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  }
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx.get(), o.max_version);
  if (o.require_client_cert) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    if (o.client_ca != nullptr) X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.get()), o.client_ca->x509());
  }
  return ctx;
}

enum class Phase { running, done, failed };

struct Side {
  Phase phase = Phase::running;
  unsigned long err = 0;
  int ssl_error = 0;
};

void step(SSL* ssl, Side& side) {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl);
  if (r == 1) {
    side.phase = Phase::done;
    return;
  }
  int e = SSL_get_error(ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
  side.phase = Phase::failed;
  side.err = ERR_peek_error();
  side.ssl_error = e;
  ERR_clear_error();
}

struct Outcome {
  tls::SslPtr client, server;
  Side c, s;
  std::string host;
  std::string sni;  // server name the server saw (empty: none)

  bool ok() const { return c.phase == Phase::done && s.phase == Phase::done; }
  exphone::Error error() const {
    return tls::explain_handshake_failure(client.get(), c.err, c.ssl_error, host);
  }
  std::string code() const { return ok() ? "ok" : error().code; }
};

// Runs one handshake: client and server SSL joined by a BIO pair, pumped until both finish or
// fail; then the client reads once to process post-handshake messages (TLS 1.3 tickets, or the
// server's alert rejecting a client certificate).
Outcome handshake(const tls::SslCtx& cctx, SSL_CTX* sctx, const TlsClientConfig& cfg, const std::string& host,
                  tls::TlsSessionCache* cache = nullptr, bool prepare = true) {
  Outcome o;
  o.host = host;
  o.client.reset(SSL_new(cctx.get()));
  o.server.reset(SSL_new(sctx));
  if (prepare) {
    auto st = tls::prepare_client_ssl(o.client.get(), cfg, host, cache, 5061);
    EXPECT_TRUE(st.ok()) << st.error().to_string();
  }
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(o.client.get(), cb, cb);
  SSL_set_bio(o.server.get(), sb, sb);
  SSL_set_connect_state(o.client.get());
  SSL_set_accept_state(o.server.get());
  for (int i = 0; i < 50 && (o.c.phase == Phase::running || o.s.phase == Phase::running); ++i) {
    if (o.c.phase == Phase::running) step(o.client.get(), o.c);
    if (o.s.phase == Phase::running) step(o.server.get(), o.s);
  }
  if (o.c.phase == Phase::done) {
    ERR_clear_error();
    char buf[64];
    int r = SSL_read(o.client.get(), buf, sizeof buf);
    if (r <= 0) {
      int e = SSL_get_error(o.client.get(), r);
      if (e != SSL_ERROR_WANT_READ) {
        o.c.phase = Phase::failed;
        o.c.err = ERR_peek_error();
        o.c.ssl_error = e;
      }
    }
    ERR_clear_error();
  }
  const char* sni = SSL_get_servername(o.server.get(), TLSEXT_NAMETYPE_host_name);
  o.sni = sni != nullptr ? sni : "";
  return o;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    root = new Cert(make_cert(ca_spec("exphone Test Root CA"), nullptr));
    inter = new Cert(make_cert(ca_spec("exphone Test Intermediate CA"), root));
    other_root = new Cert(make_cert(ca_spec("Other Root CA"), nullptr));
    root_pem = new std::string(dir->write("root.pem", to_pem({root})));
    inter_pem = new std::string(dir->write("inter.pem", to_pem({inter})));
    bundle_pem = new std::string(dir->write("bundle.pem", to_pem({root, inter})));
    other_pem = new std::string(dir->write("other.pem", to_pem({other_root})));
  }
  static void TearDownTestSuite() {
    delete root_pem;
    delete inter_pem;
    delete bundle_pem;
    delete other_pem;
    delete root;
    delete inter;
    delete other_root;
    delete dir;
  }

  static TlsClientConfig trusting(std::vector<std::string> files) {
    TlsClientConfig c;
    c.ca_files = std::move(files);
    return c;
  }

  static tls::SslCtx client_ctx(const TlsClientConfig& cfg) {
    auto r = tls::make_client_context(cfg);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? std::move(r).value() : tls::SslCtx();
  }

  // Leaf from the intermediate, server sends leaf + intermediate, client trusts the root.
  static Outcome connect_to(const Cert& leaf, const std::string& host, std::vector<const Cert*> chain = {},
                            std::vector<std::string> ca_files = {}) {
    if (ca_files.empty()) ca_files = {*root_pem};
    ServerOptions so;
    so.leaf = &leaf;
    so.chain = std::move(chain);
    auto sctx = make_server_ctx(so);
    auto cfg = trusting(ca_files);
    auto cctx = client_ctx(cfg);
    return handshake(cctx, sctx.get(), cfg, host);
  }

  static inline TempDir* dir = nullptr;
  static inline Cert* root = nullptr;
  static inline Cert* inter = nullptr;
  static inline Cert* other_root = nullptr;
  static inline std::string* root_pem = nullptr;
  static inline std::string* inter_pem = nullptr;
  static inline std::string* bundle_pem = nullptr;
  static inline std::string* other_pem = nullptr;
};

// ---------------------------------------------------------------- good chain, resumption

TEST_F(TlsTest, GoodChainVerifiedAndSecondConnectionResumes) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  auto sctx = make_server_ctx(so);
  auto cfg = trusting({*root_pem});
  auto cctx = client_ctx(cfg);
  EXPECT_FALSE(cctx.keylog_enabled());
  tls::TlsSessionCache cache;

  Outcome first = handshake(cctx, sctx.get(), cfg, kHost, &cache);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  tls::TlsPeerInfo info = tls::peer_info(first.client.get());
  EXPECT_TRUE(info.verified);
  EXPECT_EQ(info.version, "TLSv1.3");
  EXPECT_EQ(info.cipher.rfind("TLS_", 0), 0u) << info.cipher;
  EXPECT_NE(info.peer_subject.find("CN=pbx.example.com"), std::string::npos) << info.peer_subject;
  EXPECT_EQ(info.peer_names, std::vector<std::string>{kHost});
  EXPECT_FALSE(info.resumed);
  EXPECT_EQ(first.sni, kHost);  // RFC 6066 SNI for DNS names
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_NE(cache.peek("pbx.example.com:5061"), nullptr);

  Outcome second = handshake(cctx, sctx.get(), cfg, kHost, &cache);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  tls::TlsPeerInfo info2 = tls::peer_info(second.client.get());
  EXPECT_TRUE(info2.resumed);
  EXPECT_TRUE(info2.verified);
  EXPECT_EQ(info2.peer_names, std::vector<std::string>{kHost});
  EXPECT_EQ(cache.size(), 1u);  // fresh ticket from the resumed connection

  // The cache key is normalized (case, trailing dot).
  Outcome third = handshake(cctx, sctx.get(), cfg, "PBX.example.com.", &cache);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(tls::peer_info(third.client.get()).resumed);  // same key after normalization
}

TEST_F(TlsTest, Tls12ResumptionWithTicketsAndWithSessionIds) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  for (bool tickets : {true, false}) {
    SCOPED_TRACE(tickets ? "tickets" : "session ids");
    ServerOptions so;
    so.leaf = &leaf;
    so.chain = {inter};
    so.max_version = TLS1_2_VERSION;
    auto sctx = make_server_ctx(so);
    auto cfg = trusting({*root_pem});
    cfg.session_tickets = tickets;
    auto cctx = client_ctx(cfg);
    tls::TlsSessionCache cache;
    Outcome first = handshake(cctx, sctx.get(), cfg, kHost, &cache);
    ASSERT_TRUE(first.ok()) << first.error().to_string();
    auto info = tls::peer_info(first.client.get());
    EXPECT_EQ(info.version, "TLSv1.2");
    EXPECT_EQ(info.cipher, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
    EXPECT_TRUE(info.verified);
    Outcome second = handshake(cctx, sctx.get(), cfg, kHost, &cache);
    ASSERT_TRUE(second.ok());
    EXPECT_TRUE(tls::peer_info(second.client.get()).resumed);
    Outcome third = handshake(cctx, sctx.get(), cfg, kHost, &cache);  // TLS 1.2 sessions are reusable
    ASSERT_TRUE(third.ok());
    EXPECT_TRUE(tls::peer_info(third.client.get()).resumed);
  }
}

TEST_F(TlsTest, SessionCacheKey) {
  EXPECT_EQ(tls::TlsSessionCache::key("PBX.Example.com.", 5061), "pbx.example.com:5061");
  EXPECT_EQ(tls::TlsSessionCache::key("[2001:DB8::1]", 5061), "[2001:db8::1]:5061");
  EXPECT_EQ(tls::TlsSessionCache::key("2001:db8::1", 0), "[2001:db8::1]");
  EXPECT_EQ(tls::TlsSessionCache::key("192.0.2.1", 5061), "192.0.2.1:5061");
}

// ---------------------------------------------------------------- trust store / chains

TEST_F(TlsTest, UnknownCaNamesTheMissingRoot) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome o = connect_to(leaf, kHost, {inter}, {*other_pem});
  ASSERT_FALSE(o.ok());
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-unknown-ca") << e.message;
  EXPECT_NE(e.message.find("CN=exphone Test Root CA"), std::string::npos) << e.message;
  auto f = tls::verify_failure(o.client.get());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->depth, 1);
  EXPECT_EQ(f->sent_chain.size(), 2u);
}

TEST_F(TlsTest, UnknownRootSentByServer) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome o = connect_to(leaf, kHost, {inter, root}, {*other_pem});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-unknown-ca") << e.message;
  EXPECT_NE(e.message.find("root CA 'CN=exphone Test Root CA"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("SHA-256"), std::string::npos) << e.message;
}

TEST_F(TlsTest, MissingIntermediateNamesTheIntermediate) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome o = connect_to(leaf, kHost, {}, {*root_pem});  // server sends only the leaf
  ASSERT_FALSE(o.ok());
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-unknown-ca") << e.message;
  EXPECT_NE(e.message.find("missing intermediate"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("CN=exphone Test Intermediate CA"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("sent only its own certificate"), std::string::npos) << e.message;
}

TEST_F(TlsTest, IntermediateInTrustStoreCompletesTheChain) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome bundle = connect_to(leaf, kHost, {}, {*bundle_pem});  // one file, root + intermediate
  EXPECT_TRUE(bundle.ok()) << bundle.error().to_string();
  Outcome two_files = connect_to(leaf, kHost, {}, {*root_pem, *inter_pem});
  EXPECT_TRUE(two_files.ok()) << two_files.error().to_string();
  EXPECT_TRUE(tls::peer_info(two_files.client.get()).verified);
}

TEST_F(TlsTest, IntermediateAloneIsNotATrustAnchor) {
  // Standard semantics (no X509_V_FLAG_PARTIAL_CHAIN): the chain must end at a trusted root.
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome o = connect_to(leaf, kHost, {}, {*inter_pem});
  EXPECT_EQ(o.code(), "tls-unknown-ca");
  EXPECT_NE(o.error().message.find("CN=exphone Test Root CA"), std::string::npos) << o.error().message;
}

TEST_F(TlsTest, DerCaFileAccepted) {
  std::string der = dir->write("root.der", exphone::testpki::to_der(*root) + exphone::testpki::to_der(*inter));
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome o = connect_to(leaf, kHost, {}, {der});
  EXPECT_TRUE(o.ok()) << o.error().to_string();
}

// ---------------------------------------------------------------- validity period

TEST_F(TlsTest, ExpiredCertificate) {
  CertSpec s = spec(kHost, {kHost});
  s.not_before = -30 * kDay;
  s.not_after = -1 * kDay;
  Cert leaf = make_cert(s, inter);
  Outcome o = connect_to(leaf, kHost, {inter});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-expired") << e.message;
  EXPECT_NE(e.message.find("expired on"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("device clock"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("server certificate"), std::string::npos) << e.message;
}

TEST_F(TlsTest, NotYetValidCertificateMentionsNtp) {
  CertSpec s = spec(kHost, {kHost});
  s.not_before = 2 * kDay;
  s.not_after = 30 * kDay;
  Cert leaf = make_cert(s, inter);
  Outcome o = connect_to(leaf, kHost, {inter});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-not-yet-valid") << e.message;
  EXPECT_NE(e.message.find("NTP"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("device clock is"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("notBefore"), std::string::npos) << e.message;
}

TEST_F(TlsTest, VerifyTimeAcceptsCertificateExpiredByDeviceClock) {
  CertSpec s = spec(kHost, {kHost});
  s.not_before = -30 * kDay;
  s.not_after = -1 * kDay;  // expired by the device clock
  Cert leaf = make_cert(s, inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  auto sctx = make_server_ctx(so);
  auto cfg = trusting({*root_pem});
  cfg.verify_time = std::time(nullptr) - 10 * kDay;  // NTP says: inside the validity window
  auto cctx = client_ctx(cfg);
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_TRUE(tls::peer_info(o.client.get()).verified);
}

// The trusted clock (core/trusted_clock.h): synchronized by NTP, certificates are checked at the
// NTP time, read at every connection; failures name the NTP time and the device clock.
TEST_F(TlsTest, TrustedClockSynchronizedByNtpIsTheVerifyTime) {
  CertSpec s = spec(kHost, {kHost});
  s.not_before = -30 * kDay;
  s.not_after = -1 * kDay;  // expired by the device clock
  Cert leaf = make_cert(s, inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  auto sctx = make_server_ctx(so);
  auto clock = std::make_shared<exphone::TrustedClock>();
  auto cfg = trusting({*root_pem});
  cfg.clock = clock;
  auto cctx = client_ctx(cfg);
  // not synchronized: the device clock decides
  Outcome before = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_FALSE(before.ok());
  EXPECT_EQ(before.error().code, "tls-expired");
  EXPECT_EQ(before.error().message.find("NTP time"), std::string::npos) << before.error().message;
  // NTP says the device is 10 days ahead: the certificate is valid at the NTP time
  clock->set_sync({std::chrono::hours(-24 * 10), std::chrono::milliseconds(1), "127.0.0.1:123", std::time(nullptr)});
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_TRUE(tls::peer_info(o.client.get()).verified);
  // expired at the NTP time too: both times in the message
  clock->set_sync({std::chrono::hours(24 * 10), std::chrono::milliseconds(1), "127.0.0.1:123", std::time(nullptr)});
  Outcome late = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_FALSE(late.ok());
  const exphone::Error& e = late.error();
  EXPECT_EQ(e.code, "tls-expired") << e.message;
  EXPECT_NE(e.message.find("the NTP time is "), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("ntp 127.0.0.1:123"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("device clock is "), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("offset 864000000 ms"), std::string::npos) << e.message;
}

// ---------------------------------------------------------------- server identity (RFC 5922 7.2)

TEST_F(TlsTest, NameMismatchByDns) {
  Cert leaf = make_cert(spec("other.example.com", {"other.example.com", "sip2.example.com"}), inter);
  Outcome o = connect_to(leaf, kHost, {inter});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-name-mismatch") << e.message;
  EXPECT_NE(e.message.find("'pbx.example.com'"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("DNS:other.example.com, DNS:sip2.example.com"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("CN=other.example.com"), std::string::npos) << e.message;
}

TEST_F(TlsTest, NameMismatchByIpTheCertificateDoesNotList) {
  Cert leaf = make_cert(spec(kHost, {kHost}, {"192.0.2.10"}), inter);
  Outcome o = connect_to(leaf, "192.0.2.99", {inter});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-name-mismatch") << e.message;
  EXPECT_NE(e.message.find("IP:192.0.2.10"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("'192.0.2.99'"), std::string::npos) << e.message;
  EXPECT_EQ(o.sni, "");  // RFC 6066 section 3: no SNI for IP literals
  // A DNS SAN never matches an IP literal and vice versa.
  Cert dns_only = make_cert(spec("192.0.2.10", {"192.0.2.10"}), inter);
  EXPECT_EQ(connect_to(dns_only, "192.0.2.10", {inter}).code(), "tls-name-mismatch");
}

TEST_F(TlsTest, IpSanMatchesIpv4AndIpv6WithoutSni) {
  Cert leaf = make_cert(spec("pbx", {}, {"192.0.2.10", "2001:db8::10"}), inter);
  for (const char* host : {"192.0.2.10", "2001:db8::10", "[2001:db8::10]", "2001:DB8:0:0::10"}) {
    SCOPED_TRACE(host);
    Outcome o = connect_to(leaf, host, {inter});
    ASSERT_TRUE(o.ok()) << o.error().to_string();
    EXPECT_EQ(o.sni, "");
    auto info = tls::peer_info(o.client.get());
    EXPECT_TRUE(info.verified);
    EXPECT_EQ(info.peer_names, (std::vector<std::string>{"192.0.2.10", "2001:db8::10", "pbx"}));
  }
}

TEST_F(TlsTest, CommonNameMatchesOnlyWithoutDnsSan) {
  Cert cn_only = make_cert(spec(kHost), inter);  // no subjectAltName at all
  Outcome ok = connect_to(cn_only, kHost, {inter});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(tls::peer_info(ok.client.get()).peer_names, std::vector<std::string>{kHost});

  Cert with_san = make_cert(spec(kHost, {"other.example.com"}), inter);
  Outcome bad = connect_to(with_san, kHost, {inter});
  auto e = bad.error();
  EXPECT_EQ(e.code, "tls-name-mismatch") << e.message;
  EXPECT_NE(e.message.find("CN=pbx.example.com (ignored"), std::string::npos) << e.message;
  Outcome good = connect_to(with_san, "other.example.com", {inter});
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(tls::peer_info(good.client.get()).peer_names, std::vector<std::string>{"other.example.com"});
}

TEST_F(TlsTest, WildcardSanRefused) {
  Cert leaf = make_cert(spec("*.example.com", {"*.example.com"}), inter);
  Outcome o = connect_to(leaf, kHost, {inter});
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-name-mismatch") << e.message;
  EXPECT_NE(e.message.find("Wildcard"), std::string::npos) << e.message;
}

TEST_F(TlsTest, UriSanSipHostAccepted) {
  Cert uri_only = make_cert(spec("Some PBX", {}, {}, {"sip:pbx.example.com"}), inter);
  Outcome o = connect_to(uri_only, kHost, {inter});
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  auto info = tls::peer_info(o.client.get());
  EXPECT_TRUE(info.verified);
  EXPECT_EQ(info.peer_names, (std::vector<std::string>{"sip:pbx.example.com", "Some PBX"}));

  // DNS SAN for another name, URI SAN for ours (with parameters): accepted.
  Cert mixed = make_cert(spec("x", {"other.example.com"}, {}, {"sip:PBX.example.com;transport=tls"}), inter);
  Outcome m = connect_to(mixed, kHost, {inter});
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_TRUE(tls::peer_info(m.client.get()).verified);

  Cert ip_uri = make_cert(spec("x", {}, {}, {"sip:192.0.2.7:5061"}), inter);
  EXPECT_EQ(connect_to(ip_uri, "192.0.2.7", {inter}).code(), "ok");
}

TEST_F(TlsTest, UriSanSipsOrWithUserPartRefused) {
  // RFC 5922 section 7.1: only "sip" URIs without a user part are SIP domain identities.
  Cert sips = make_cert(spec("x", {}, {}, {"sips:pbx.example.com"}), inter);
  Outcome o = connect_to(sips, kHost, {inter});
  EXPECT_EQ(o.code(), "tls-name-mismatch");
  EXPECT_NE(o.error().message.find("URI:sips:pbx.example.com"), std::string::npos) << o.error().message;
  Cert user = make_cert(spec("x", {}, {}, {"sip:alice@pbx.example.com"}), inter);
  EXPECT_EQ(connect_to(user, kHost, {inter}).code(), "tls-name-mismatch");
}

TEST(TlsUriSan, Matching) {
  EXPECT_TRUE(tls::uri_san_matches("sip:pbx.example.com", "pbx.example.com"));
  EXPECT_TRUE(tls::uri_san_matches("SIP:PBX.example.COM", "pbx.example.com"));
  EXPECT_TRUE(tls::uri_san_matches("sip:pbx.example.com:5061;transport=tls", "pbx.example.com"));
  EXPECT_TRUE(tls::uri_san_matches("sip:[2001:db8::1]:5061", "2001:db8:0::1"));
  EXPECT_TRUE(tls::uri_san_matches("sip:192.0.2.1", "192.0.2.1"));
  EXPECT_FALSE(tls::uri_san_matches("sips:pbx.example.com", "pbx.example.com"));
  EXPECT_FALSE(tls::uri_san_matches("sip:alice@pbx.example.com", "pbx.example.com"));
  EXPECT_FALSE(tls::uri_san_matches("sip:*.example.com", "pbx.example.com"));
  EXPECT_FALSE(tls::uri_san_matches("sip:example.com", "pbx.example.com"));     // no suffix match
  EXPECT_FALSE(tls::uri_san_matches("sip:pbx.example.com.evil", "pbx.example.com"));
  EXPECT_FALSE(tls::uri_san_matches("http://pbx.example.com", "pbx.example.com"));
  EXPECT_FALSE(tls::uri_san_matches("sip:192.0.2.1", "192.0.2.2"));
  EXPECT_FALSE(tls::uri_san_matches("sip:", "pbx.example.com"));
}

// ---------------------------------------------------------------- self-signed

TEST_F(TlsTest, SelfSignedServerCertificate) {
  CertSpec s = spec(kHost, {kHost});
  s.ca = true;            // like `openssl req -x509`
  s.key_usage = false;
  Cert self = make_cert(s, nullptr);
  Outcome o = connect_to(self, kHost);
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-self-signed") << e.message;
  EXPECT_NE(e.message.find("SHA-256"), std::string::npos);

  // Explicitly trusting it (a trust anchor in ca_files) works.
  std::string pinned = dir->write("self.pem", to_pem({&self}));
  EXPECT_TRUE(connect_to(self, kHost, {}, {pinned}).ok());
}

// ---------------------------------------------------------------- protocol version

TEST_F(TlsTest, Tls11OnlyServerIsVersionError) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  so.legacy = true;
  so.max_version = TLS1_1_VERSION;
  auto sctx = make_server_ctx(so);
  auto cfg = trusting({*root_pem});
  auto cctx = client_ctx(cfg);
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_FALSE(o.ok());
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-version") << e.message;
  EXPECT_NE(e.message.find("TLS 1.2"), std::string::npos) << e.message;
}

TEST_F(TlsTest, Tls12ServerWithMinimum13IsVersionError) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  so.max_version = TLS1_2_VERSION;
  auto sctx = make_server_ctx(so);
  auto cfg = trusting({*root_pem});
  cfg.min_version = "1.3";
  auto cctx = client_ctx(cfg);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(cctx.get()), TLS1_3_VERSION);
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-version") << e.message;
  EXPECT_NE(e.message.find("TLS 1.3"), std::string::npos) << e.message;
}

TEST(TlsExplain, OpenSslReasonsWithoutVerificationState) {
  auto ssl_err = [](int reason) { return ERR_PACK(ERR_LIB_SSL, 0, reason); };
  EXPECT_EQ(tls::explain_handshake_failure(nullptr, ssl_err(SSL_R_UNSUPPORTED_PROTOCOL), SSL_ERROR_SSL, kHost).code,
            "tls-version");
  EXPECT_EQ(tls::explain_handshake_failure(nullptr, ssl_err(SSL_R_VERSION_TOO_LOW), SSL_ERROR_SSL, kHost).code,
            "tls-version");
  auto plain = tls::explain_handshake_failure(nullptr, ssl_err(SSL_R_WRONG_VERSION_NUMBER), SSL_ERROR_SSL, kHost);
  EXPECT_EQ(plain.code, "tls-handshake");
  EXPECT_NE(plain.message.find("did not answer with TLS"), std::string::npos);
  auto alert = tls::explain_handshake_failure(nullptr, ssl_err(SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED),
                                              SSL_ERROR_SSL, kHost);
  EXPECT_EQ(alert.code, "tls-client-cert-required");
  EXPECT_EQ(tls::explain_handshake_failure(nullptr, 0, SSL_ERROR_SYSCALL, kHost).code, "tls-handshake");
}

TEST_F(TlsTest, MinVersionBelow12Refused) {
  for (const char* v : {"1.0", "1.1", "1.4", "", "TLSv1.2"}) {
    SCOPED_TRACE(v);
    auto cfg = trusting({*root_pem});
    cfg.min_version = v;
    auto r = tls::make_client_context(cfg);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "tls-config");
  }
  auto cfg = trusting({*root_pem});
  cfg.min_version = "1.0";
  EXPECT_NE(tls::make_client_context(cfg).error().message.find("RFC 8996"), std::string::npos);
  auto def = client_ctx(trusting({*root_pem}));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(def.get()), TLS1_2_VERSION);
}

TEST_F(TlsTest, DefaultTls12CiphersAreEcdheAeadOnly) {
  auto cctx = client_ctx(trusting({*root_pem}));
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(cctx.get());
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    EXPECT_EQ(SSL_CIPHER_is_aead(c), 1) << SSL_CIPHER_get_name(c);
    if (std::string(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
  }
  EXPECT_EQ(tls12, 6);

  auto bad = trusting({*root_pem});
  bad.ciphers = "NO-SUCH-CIPHER";
  EXPECT_EQ(tls::make_client_context(bad).error().code, "tls-config");
  bad.ciphers.clear();
  bad.ciphersuites = "TLS_NO_SUCH";
  EXPECT_EQ(tls::make_client_context(bad).error().code, "tls-config");
}

// ---------------------------------------------------------------- client certificates (mTLS)

class TlsClientCertTest : public TlsTest {
 protected:
  void SetUp() override {
    CertSpec cs = spec("phone-0042");
    cs.client = true;
    client = make_cert(cs, inter);
    cert_pem = dir->write("client.pem", to_pem({&client, inter}));  // leaf + intermediate
    key_pem = dir->write("client.key", exphone::testpki::key_to_pem(client));
    server_leaf = make_cert(spec(kHost, {kHost}), inter);
  }
  Outcome run(const TlsClientConfig& cfg, int max_version, const Cert* client_ca) {
    ServerOptions so;
    so.leaf = &server_leaf;
    so.chain = {inter};
    so.require_client_cert = true;
    so.client_ca = client_ca;
    so.max_version = max_version;
    auto sctx = make_server_ctx(so);
    auto cctx = client_ctx(cfg);
    return handshake(cctx, sctx.get(), cfg, kHost);
  }
  Cert client, server_leaf;
  std::string cert_pem, key_pem;
};

TEST_F(TlsClientCertTest, RequiredButNoneConfigured) {
  for (int v : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(v);
    Outcome o = run(trusting({*root_pem}), v, root);
    ASSERT_FALSE(o.ok());
    auto e = o.error();
    EXPECT_EQ(e.code, "tls-client-cert-required") << e.message;
    EXPECT_NE(e.message.find("none is configured"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(v == 0 ? "certificate required" : "handshake failure"), std::string::npos)
        << e.message;
  }
}

TEST_F(TlsClientCertTest, RequiredAndConfigured) {
  auto cfg = trusting({*root_pem});
  cfg.client_cert = cert_pem;
  cfg.client_key = key_pem;
  for (int v : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(v);
    Outcome o = run(cfg, v, root);
    ASSERT_TRUE(o.ok()) << o.error().to_string();
    X509* seen = SSL_get0_peer_certificate(o.server.get());
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(X509_cmp(seen, client.x509()), 0);
    EXPECT_EQ(SSL_get_verify_result(o.server.get()), X509_V_OK);
  }
}

// A listener (make_server_context) checks client certificates at the trusted clock's NTP time.
TEST_F(TlsClientCertTest, ListenerChecksClientCertificatesAtTheNtpTime) {
  CertSpec cs = spec("phone-0043");
  cs.client = true;
  cs.not_before = -30 * kDay;
  cs.not_after = -1 * kDay;  // expired by the device clock
  Cert old_client = make_cert(cs, inter);
  auto ccfg = trusting({*root_pem});
  ccfg.client_cert = dir->write("old-client.pem", to_pem({&old_client, inter}));
  ccfg.client_key = dir->write("old-client.key", exphone::testpki::key_to_pem(old_client));
  auto clock = std::make_shared<exphone::TrustedClock>();
  auto scfg = trusting({*root_pem});
  scfg.client_cert = dir->write("listener.pem", to_pem({&server_leaf, inter}));
  scfg.client_key = dir->write("listener.key", exphone::testpki::key_to_pem(server_leaf));
  scfg.clock = clock;
  auto sctx = tls::make_server_context(scfg, /*require_client_cert=*/true);
  ASSERT_TRUE(sctx.ok()) << sctx.error().to_string();
  auto cctx = client_ctx(ccfg);
  Outcome before = handshake(cctx, sctx->get(), ccfg, kHost);
  EXPECT_FALSE(before.ok());
  EXPECT_EQ(SSL_get_verify_result(before.server.get()), X509_V_ERR_CERT_HAS_EXPIRED);
  // NTP: the device clock is 10 days ahead; at the NTP time the certificate is valid
  clock->set_sync({std::chrono::hours(-24 * 10), std::chrono::milliseconds(1), "127.0.0.1:123", std::time(nullptr)});
  Outcome o = handshake(cctx, sctx->get(), ccfg, kHost);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(SSL_get_verify_result(o.server.get()), X509_V_OK);
}

TEST_F(TlsClientCertTest, RejectedByServer) {
  auto cfg = trusting({*root_pem});
  cfg.client_cert = cert_pem;
  cfg.client_key = key_pem;
  for (int v : {0, TLS1_2_VERSION}) {
    SCOPED_TRACE(v);
    Outcome o = run(cfg, v, other_root);  // the server does not trust our CA
    ASSERT_FALSE(o.ok());
    auto e = o.error();
    EXPECT_EQ(e.code, "tls-client-cert-required") << e.message;
    EXPECT_NE(e.message.find("rejected our client certificate"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("CN=phone-0042"), std::string::npos) << e.message;
  }
}

TEST_F(TlsClientCertTest, EncryptedKeyWithPassphrase) {
  auto cfg = trusting({*root_pem});
  cfg.client_cert = cert_pem;
  cfg.client_key = dir->write("client-enc.key", exphone::testpki::key_to_pem(client, "s3cret"));
  cfg.client_key_passphrase = "s3cret";
  Outcome o = run(cfg, 0, root);
  EXPECT_TRUE(o.ok()) << o.error().to_string();
}

// ---------------------------------------------------------------- configuration errors

TEST_F(TlsTest, BadConfigurationFiles) {
  struct Case {
    const char* name;
    TlsClientConfig cfg;
    std::string file_in_message;
    std::string why;
  };
  CertSpec cs = spec("phone");
  cs.client = true;
  Cert client = make_cert(cs, root);
  Cert stranger = make_cert(cs, root);
  std::string cert = dir->write("c.pem", to_pem({&client}));
  std::string key = dir->write("c.key", exphone::testpki::key_to_pem(client));
  std::string other_key = dir->write("o.key", exphone::testpki::key_to_pem(stranger));
  std::string enc_key = dir->write("e.key", exphone::testpki::key_to_pem(client, "right"));
  std::string garbage = dir->write("garbage.pem", "hello, I am not a certificate\n");
  std::string missing = dir->file("nope.pem");

  std::vector<Case> cases;
  auto add = [&](const char* name, TlsClientConfig c, std::string file, std::string why) {
    cases.push_back(Case{name, std::move(c), std::move(file), std::move(why)});
  };
  add("ca not found", trusting({missing}), missing, "not found");
  add("ca garbage", trusting({garbage}), garbage, "not a certificate");
  add("ca is a key", trusting({key}), key, "PRIVATE KEY");
  TlsClientConfig c = trusting({*root_pem});
  c.client_cert = missing;
  c.client_key = key;
  add("client cert not found", c, missing, "not found");
  c.client_cert = garbage;
  add("client cert garbage", c, garbage, "not a certificate");
  c.client_cert = cert;
  c.client_key = other_key;
  add("key mismatch", c, other_key, "does not match");
  c.client_key = enc_key;
  c.client_key_passphrase = "wrong";
  add("wrong passphrase", c, enc_key, "wrong passphrase");
  c.client_key_passphrase.clear();
  add("no passphrase", c, enc_key, "no passphrase");
  c.client_key = cert;
  add("key is a cert", c, cert, "not a PEM private key");
  c.client_key = missing;
  add("key not found", c, missing, "not found");
  TlsClientConfig k = trusting({*root_pem});
  k.keylog_file = dir->file("no-such-dir/keys.log");
  add("keylog dir missing", k, k.keylog_file, "cannot open");

  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    auto r = tls::make_client_context(tc.cfg);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "tls-config");
    EXPECT_NE(r.error().message.find("'" + tc.file_in_message + "'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(tc.why), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(ERR_peek_error(), 0u);  // nothing left on the OpenSSL error queue

  c.client_key = enc_key;
  c.client_key_passphrase = "right";
  EXPECT_TRUE(tls::make_client_context(c).ok());
}

TEST_F(TlsTest, NoTrustAnchorsIsAConfigError) {
  TlsClientConfig cfg;
  auto r = tls::make_client_context(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "tls-config");
  EXPECT_NE(r.error().message.find("ca_files"), std::string::npos);
}

TEST_F(TlsTest, BadServerHost) {
  auto cfg = trusting({*root_pem});
  auto cctx = client_ctx(cfg);
  tls::SslPtr ssl(SSL_new(cctx.get()));
  for (const char* host : {"", "pbx example.com", "[pbx.example.com]", "*.example.com"}) {
    SCOPED_TRACE(host);
    auto st = tls::prepare_client_ssl(ssl.get(), cfg, host, nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, "tls-config");
  }
}

// ---------------------------------------------------------------- key log

TEST_F(TlsTest, KeyLogFileWrittenWithMode0600) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  auto cfg = trusting({*root_pem});
  cfg.keylog_file = dir->file("keys.log");
  auto cctx = client_ctx(cfg);
  EXPECT_TRUE(cctx.keylog_enabled());
  EXPECT_EQ(cctx.keylog_file(), cfg.keylog_file);
  for (int v : {0, TLS1_2_VERSION}) {
    ServerOptions so;
    so.leaf = &leaf;
    so.chain = {inter};
    so.max_version = v;
    auto sctx = make_server_ctx(so);
    Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
    ASSERT_TRUE(o.ok()) << o.error().to_string();
  }
  std::string log = read_all(cfg.keylog_file);
  EXPECT_NE(log.find("CLIENT_HANDSHAKE_TRAFFIC_SECRET "), std::string::npos) << log;  // TLS 1.3
  EXPECT_NE(log.find("CLIENT_TRAFFIC_SECRET_0 "), std::string::npos);
  EXPECT_NE(log.find("CLIENT_RANDOM "), std::string::npos) << log;  // TLS 1.2
  EXPECT_EQ(log.back(), '\n');
  struct stat st {};
  ASSERT_EQ(::stat(cfg.keylog_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Appended, not truncated, by a second context.
  auto again = client_ctx(cfg);
  EXPECT_EQ(read_all(cfg.keylog_file), log);
}

// ---------------------------------------------------------------- fail closed / verify off

TEST_F(TlsTest, UnpreparedConnectionFailsClosed) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  auto sctx = make_server_ctx(so);
  auto cfg = trusting({*root_pem});
  auto cctx = client_ctx(cfg);
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost, nullptr, /*prepare=*/false);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.code(), "tls-handshake");
  EXPECT_NE(o.error().message.find("prepare_client_ssl"), std::string::npos) << o.error().message;
}

TEST_F(TlsTest, VerifyServerOffConnectsButIsNotVerified) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  ServerOptions so;
  so.leaf = &leaf;
  so.chain = {inter};
  auto sctx = make_server_ctx(so);
  TlsClientConfig cfg;  // no trust anchors at all
  cfg.verify_server = false;
  auto cctx = client_ctx(cfg);
  tls::TlsSessionCache cache;
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost, &cache);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  auto info = tls::peer_info(o.client.get());
  EXPECT_FALSE(info.verified);
  EXPECT_EQ(cache.size(), 0u);  // unverified sessions are never offered for resumption
  EXPECT_EQ(info.peer_names, std::vector<std::string>{kHost});
  auto f = tls::verify_failure(o.client.get());
  ASSERT_TRUE(f);  // still recorded, for diagnostics
  EXPECT_EQ(f->depth, 1);
}

// ---------------------------------------------------------------- inspection (check-server)

TEST_F(TlsTest, DescribeCertificateFields) {
  CertSpec s = spec(kHost, {kHost}, {"10.0.0.5"}, {"sip:pbx.example.com"});
  s.key = exphone::testpki::new_rsa_key(2048);
  Cert leaf = make_cert(s, inter);
  auto c = tls::describe_certificate(leaf.x509());
  EXPECT_EQ(c.subject, "CN=pbx.example.com,O=exphone test");
  EXPECT_EQ(c.issuer, "CN=exphone Test Intermediate CA,O=exphone test");
  EXPECT_EQ(c.san, (std::vector<std::string>{"DNS:pbx.example.com", "IP:10.0.0.5", "URI:sip:pbx.example.com"}));
  EXPECT_EQ(c.key_type, "RSA");
  EXPECT_EQ(c.key_bits, 2048);
  EXPECT_EQ(c.key_group, "");
  EXPECT_EQ(c.signature_algorithm, "ecdsa-with-SHA256");  // signed by the EC intermediate
  EXPECT_EQ(c.signature_digest, "SHA256");
  EXPECT_EQ(c.sha256_fingerprint.size(), 95u);  // 32 bytes as XX:XX:...
  EXPECT_FALSE(c.serial.empty());
  std::time_t now = std::time(nullptr);
  EXPECT_LT(c.not_before, now);
  EXPECT_GT(c.not_after, now + 29 * kDay);
  EXPECT_FALSE(c.is_ca);
  EXPECT_FALSE(c.self_signed);

  auto r = tls::describe_certificate(root->x509());
  EXPECT_EQ(r.key_type, "EC");
  EXPECT_EQ(r.key_bits, 256);
  EXPECT_EQ(r.key_group, "prime256v1");
  EXPECT_TRUE(r.is_ca);
  EXPECT_TRUE(r.self_signed);
  EXPECT_FALSE(tls::describe_certificate(inter->x509()).self_signed);
}

TEST_F(TlsTest, PeerChainAsSentAfterSuccessAndAfterVerifyFailure) {
  Cert leaf = make_cert(spec(kHost, {kHost}), inter);
  Outcome ok = connect_to(leaf, kHost, {inter});
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  auto chain = tls::peer_chain(ok.client.get());
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].subject, "CN=pbx.example.com,O=exphone test");
  EXPECT_EQ(chain[1].subject, "CN=exphone Test Intermediate CA,O=exphone test");

  // Refused (name mismatch): the chain is still known, as sent.
  Outcome bad = connect_to(leaf, "other.example.com", {inter});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.code(), "tls-name-mismatch");
  chain = tls::peer_chain(bad.client.get());
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0].san, std::vector<std::string>{"DNS:pbx.example.com"});
  EXPECT_EQ(tls::client_auth(bad.client.get()).requested, false);
}

TEST_F(TlsTest, Sha1SignedServerCertificateIsWeak) {
  CertSpec s = spec(kHost, {kHost});
  s.digest = "SHA1";
  Cert leaf = make_cert(s, inter);
  EXPECT_EQ(tls::describe_certificate(leaf.x509()).signature_digest, "SHA1");
  // The test server must be told to serve it at all (OpenSSL 3 refuses SHA-1 from level 1 on).
  CtxPtr sctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_security_level(sctx.get(), 0);
  ASSERT_EQ(SSL_CTX_use_certificate(sctx.get(), leaf.x509()), 1);
  ASSERT_EQ(SSL_CTX_add1_chain_cert(sctx.get(), inter->x509()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(sctx.get(), leaf.pkey()), 1);
  auto cfg = trusting({*root_pem});
  auto cctx = client_ctx(cfg);
  Outcome o = handshake(cctx, sctx.get(), cfg, kHost);
  ASSERT_FALSE(o.ok());
  auto e = o.error();
  EXPECT_EQ(e.code, "tls-weak-certificate") << e.message;
  EXPECT_NE(e.message.find("SHA1"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("SHA-256"), std::string::npos) << e.message;
}

TEST_F(TlsClientCertTest, ClientAuthRequestRecorded) {
  auto cfg = trusting({*root_pem});
  cfg.client_cert = cert_pem;
  cfg.client_key = key_pem;
  Outcome o = run(cfg, 0, root);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  auto a = tls::client_auth(o.client.get());
  EXPECT_TRUE(a.requested);
  EXPECT_TRUE(a.sent);

  Outcome none = run(trusting({*root_pem}), 0, root);
  ASSERT_FALSE(none.ok());
  a = tls::client_auth(none.client.get());
  EXPECT_TRUE(a.requested);
  EXPECT_FALSE(a.sent);
}

}  // namespace
