// exphone check-server: which URIs name a TLS server, and the rules that turn a chain as sent
// into warnings (weak key, SHA-1/MD5 signature, expiring soon) and a legacy TLS finding.
#include <gtest/gtest.h>

#include "tools/check_server/assess.h"
#include "tools/check_server/target.h"

namespace cs = exphone::tools::check_server;
using exphone::net::tls::CertificateInfo;

namespace {

constexpr std::time_t kNow = 1'800'000'000;
constexpr std::time_t kDay = 24 * 3600;

TEST(CheckServerUri, SipsAndTransportTls) {
  auto a = cs::parse_check_uri("sips:pbx.example.com");
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_TRUE(a->sips);
  EXPECT_EQ(a->host, "pbx.example.com");
  EXPECT_FALSE(a->port);  // RFC 3263: SRV, then 5061
  EXPECT_EQ(a->request_uri, "sips:pbx.example.com");

  auto b = cs::parse_check_uri("sip:1001@10.0.0.5:5071;transport=TLS");
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_FALSE(b->sips);
  EXPECT_EQ(b->host, "10.0.0.5");
  EXPECT_EQ(b->port, 5071);
  EXPECT_EQ(b->request_uri, "sip:10.0.0.5:5071;transport=tls");  // the server, not the user

  auto c = cs::parse_check_uri("sips:[::1]:5061");
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->request_uri, "sips:[::1]:5061");

  // RFC 3261 section 26.2.2: sips with transport=tcp is still TLS over TCP.
  EXPECT_TRUE(cs::parse_check_uri("sips:pbx.example.com;transport=tcp").ok());

  // RFC 7118: SIP over secure WebSocket, the same certificate checks
  auto w = cs::parse_check_uri("sip:pbx.example.com:8443;transport=wss");
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  EXPECT_EQ(w->protocol, exphone::net::Protocol::kWss);
  EXPECT_EQ(w->request_uri, "sip:pbx.example.com:8443;transport=wss");
}

TEST(CheckServerUri, NonTlsAndMalformedAreUsageErrors) {
  for (const char* bad : {"sip:pbx.example.com", "sip:pbx.example.com;transport=tcp",
                          "sips:pbx.example.com;transport=udp",
                          "https://pbx.example.com", "pbx.example.com", "sips:", "sips:pbx.example.com:0"}) {
    SCOPED_TRACE(bad);
    auto r = cs::parse_check_uri(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "usage");
    EXPECT_NE(r.error().message.find(std::string(bad)), std::string::npos) << r.error().message;
  }
  EXPECT_NE(cs::parse_check_uri("sip:pbx").error().message.find("transport=tls"), std::string::npos);
  EXPECT_NE(cs::parse_check_uri("sip:pbx;transport=ws").error().message.find("WebSocket"), std::string::npos);
}

CertificateInfo cert(std::string subject, std::string type, int bits, std::string digest = "SHA256",
                     bool ca = false, bool self_signed = false) {
  CertificateInfo c;
  c.subject = std::move(subject);
  c.key_type = std::move(type);
  c.key_bits = bits;
  c.signature_digest = std::move(digest);
  c.signature_algorithm = c.signature_digest == "SHA1" ? "sha1WithRSAEncryption" : "sha256WithRSAEncryption";
  c.is_ca = ca;
  c.self_signed = self_signed;
  c.not_before = kNow - 100 * kDay;
  c.not_after = kNow + 365 * kDay;
  return c;
}

std::vector<std::string> codes(const std::vector<cs::Finding>& f) {
  std::vector<std::string> out;
  for (const auto& x : f) out.push_back(x.code);
  return out;
}

TEST(CheckServerAssess, StrongChainHasNoFindings) {
  std::vector<CertificateInfo> chain{cert("CN=pbx", "RSA", 2048), cert("CN=Inter", "EC", 256, "SHA384", true),
                                     cert("CN=Root", "RSA", 4096, "SHA256", true, true)};
  EXPECT_TRUE(cs::assess_chain(chain, kNow).empty());
}

TEST(CheckServerAssess, WeakKeysAnywhereInTheChain) {
  std::vector<CertificateInfo> chain{cert("CN=pbx", "RSA", 1024), cert("CN=Inter", "EC", 224, "SHA256", true),
                                     cert("CN=Root", "RSA", 1024, "SHA256", true, true)};
  auto f = cs::assess_chain(chain, kNow);
  EXPECT_EQ(codes(f), (std::vector<std::string>{"weak-key", "weak-key", "weak-key"}));
  EXPECT_NE(f[0].message.find("server certificate 'CN=pbx'"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("1024-bit RSA"), std::string::npos) << f[0].message;
  EXPECT_NE(f[1].message.find("below 256"), std::string::npos) << f[1].message;
  EXPECT_NE(f[2].message.find("root CA certificate"), std::string::npos) << f[2].message;
  // at the limits: no finding
  EXPECT_TRUE(cs::assess_chain({cert("CN=a", "RSA", 2048), cert("CN=b", "EC", 256)}, kNow).empty());
  // Ed25519 has no size knob: never "weak"
  EXPECT_TRUE(cs::assess_chain({cert("CN=a", "ED25519", 253, "")}, kNow).empty());
}

TEST(CheckServerAssess, Sha1AndMd5SignaturesExceptOnTrustAnchors) {
  std::vector<CertificateInfo> chain{cert("CN=pbx", "RSA", 2048, "SHA1"), cert("CN=Inter", "RSA", 2048, "MD5", true),
                                     cert("CN=Root", "RSA", 2048, "SHA1", true, true)};
  auto f = cs::assess_chain(chain, kNow);
  EXPECT_EQ(codes(f), (std::vector<std::string>{"weak-signature", "weak-signature"}));
  EXPECT_NE(f[0].message.find("sha1WithRSAEncryption"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("SHA-256"), std::string::npos) << f[0].message;
  // a self-signed server certificate's own signature is all there is: flagged
  EXPECT_EQ(codes(cs::assess_chain({cert("CN=pbx", "RSA", 2048, "SHA1", false, true)}, kNow)),
            std::vector<std::string>{"weak-signature"});
}

TEST(CheckServerAssess, ExpiresSoonButNotAlreadyExpired) {
  auto soon = cert("CN=pbx", "EC", 256);
  soon.not_after = kNow + 10 * kDay + 60;
  auto f = cs::assess_chain({soon}, kNow);
  ASSERT_EQ(codes(f), std::vector<std::string>{"expires-soon"});
  EXPECT_NE(f[0].message.find("10 days"), std::string::npos) << f[0].message;
  auto gone = cert("CN=pbx", "EC", 256);
  gone.not_after = kNow - kDay;  // the verdict (tls-expired) says it; no duplicate warning
  EXPECT_TRUE(cs::assess_chain({gone}, kNow).empty());
}

TEST(CheckServerAssess, LegacyVersionAndRoles) {
  auto f = cs::legacy_version_finding("TLSv1");
  EXPECT_EQ(f.code, "legacy-tls");
  EXPECT_NE(f.message.find("TLS 1.0"), std::string::npos);
  EXPECT_NE(f.message.find("RFC 8996"), std::string::npos);
  EXPECT_NE(cs::legacy_version_finding("TLSv1.1").message.find("TLS 1.1"), std::string::npos);

  std::vector<CertificateInfo> chain{cert("CN=pbx", "EC", 256), cert("CN=I", "EC", 256, "SHA256", true),
                                     cert("CN=R", "EC", 256, "SHA256", true, true)};
  EXPECT_EQ(cs::chain_role(chain, 0), "server certificate");
  EXPECT_EQ(cs::chain_role(chain, 1), "intermediate CA certificate");
  EXPECT_EQ(cs::chain_role(chain, 2), "root CA certificate");
}

}  // namespace
