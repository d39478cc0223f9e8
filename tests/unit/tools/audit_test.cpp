// exphone audit: every rule fires on a crafted config, at the right line and severity, and stays
// silent on the good config it is a variation of.
#include <gtest/gtest.h>

#include "tools/audit/audit.h"
#include "tools/pki/site.h"
#include "tools_test_util.h"

using namespace exphone;
using audit::Severity;

namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki::InitOptions io;
    io.dir = t_ / "site";
    io.name = "Plant Root CA";
    ASSERT_TRUE(pki::init_site(io).ok());
    auto site = pki::open_site(io.dir);
    ASSERT_TRUE(site.ok());
    site_ = *site;
    pki::DeviceOptions d;
    d.id = "00:11:22:33:44:55";
    auto dev = pki::issue_device(site_, d);
    ASSERT_TRUE(dev.ok());
    cert_ = dev->cert;
    key_ = dev->key;
    opts_.assume_ntp = true;
  }

  // A clean cloud config; `replace` swaps one line for another (or appends when `from` is "").
  std::string good() const {
    return "[[account]]\n"                                    // 1
           "user = \"1001\"\n"                                // 2
           "password = \"secret\"\n"                          // 3
           "domain = \"pbx.plant.local\"\n"                   // 4
           "registrar = \"sips:pbx.plant.local\"\n"           // 5
           "\n"                                               // 6
           "[tls]\n"                                          // 7
           "ca_files = [\"" + site_.paths.chain() + "\"]\n"   // 8
           "client_cert = \"" + cert_ + "\"\n"                // 9
           "client_key = \"" + key_ + "\"\n"                  // 10
           "verify_server = true\n"                           // 11
           "\n"                                               // 12
           "[phone]\n"                                        // 13
           "srtp = \"mandatory\"\n";                          // 14
  }
  static std::string replace(std::string s, const std::string& from, const std::string& to) {
    if (from.empty()) return s + to;
    std::size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
  }

  audit::Report run(const std::string& toml, std::optional<advise::Network> net = advise::Network::kCloud,
                    unsigned mode = 0600) {
    audit::Options o = opts_;
    o.network = net;
    return audit::audit_text(toml, t_.path(), "phone.toml", o, mode);
  }

  static const audit::Finding* find(const audit::Report& r, const std::string& id) {
    for (const auto& f : r.findings)
      if (f.id == id) return &f;
    return nullptr;
  }

  // the finding exists with this severity and line, and has a risk and a fix
  static void expect(const audit::Report& r, const std::string& id, Severity s, int line) {
    const audit::Finding* f = find(r, id);
    ASSERT_NE(f, nullptr) << "no finding " << id;
    EXPECT_EQ(f->severity, s) << id;
    EXPECT_EQ(f->line, line) << id;
    EXPECT_FALSE(f->risk.empty());
    EXPECT_FALSE(f->fix.empty());
    EXPECT_EQ(f->risk.find('\n'), std::string::npos);
  }

  testutil::TempDir t_;
  pki::Site site_;
  std::string cert_, key_;
  audit::Options opts_;
};

}  // namespace

TEST_F(AuditTest, GoodConfigHasNoFindings) {
  audit::Report r = run(good());
  for (const auto& f : r.findings) ADD_FAILURE() << f.id << ": " << f.risk;
  EXPECT_EQ(r.errors, 0);
}

TEST_F(AuditTest, SdesWithoutTls) {
  std::string udp = replace(good(), "registrar = \"sips:pbx.plant.local\"", "registrar = \"sip:pbx.plant.local\"");
  expect(run(udp), "sdes-without-tls", Severity::kError, 5);  // srtp mandatory: every call would fail
  std::string optional = replace(udp, "srtp = \"mandatory\"", "srtp = \"optional\"");
  expect(run(optional, advise::Network::kAirgappedVlan), "sdes-without-tls", Severity::kInfo, 5);
  std::string tcp = replace(good(), "registrar = \"sips:pbx.plant.local\"", "transport = \"tcp\"");
  expect(run(tcp), "sdes-without-tls", Severity::kError, 5);
  std::string lab = replace(udp, "srtp = \"mandatory\"", "srtp = \"mandatory\"\nallow_sdes_over_insecure_transport = true");
  expect(run(lab), "sdes-over-insecure-transport", Severity::kError, 15);
  std::string off = replace(udp, "srtp = \"mandatory\"", "srtp = \"off\"");
  expect(run(off), "signaling-not-tls", Severity::kError, 5);
  expect(run(off, advise::Network::kVpn), "signaling-not-tls", Severity::kWarning, 5);
}

TEST_F(AuditTest, VerifyServerOff) {
  expect(run(replace(good(), "verify_server = true", "verify_server = false")), "tls-verify-off", Severity::kError, 11);
}

TEST_F(AuditTest, OldTlsVersionAndWeakCiphers) {
  audit::Report r = run(replace(good(), "verify_server = true", "min_version = \"1.0\""));
  expect(r, "tls-min-version-old", Severity::kError, 11);
  expect(r, "config-invalid", Severity::kError, 11);  // the loader refuses it too
  expect(run(replace(good(), "verify_server = true", "ciphers = \"ECDHE-RSA-NULL-SHA:ECDHE-RSA-AES128-GCM-SHA256\"")),
         "tls-weak-ciphers", Severity::kError, 11);
  expect(run(replace(good(), "verify_server = true", "ciphers = \"aNULL\"")), "tls-weak-ciphers", Severity::kError, 11);
  expect(run(replace(good(), "verify_server = true", "ciphers = \"AES128-GCM-SHA256\"")), "tls-ciphers-no-forward-secrecy",
         Severity::kWarning, 11);
  expect(run(replace(good(), "verify_server = true", "ciphers = \"ECDHE-RSA-AES128-SHA\"")), "tls-ciphers-cbc",
         Severity::kWarning, 11);
  expect(run(replace(good(), "verify_server = true", "ciphers = \"NO-SUCH-CIPHER\"")), "tls-bad-ciphers", Severity::kError, 11);
  // the built-in default list and an explicit AEAD+ECDHE list are clean
  EXPECT_TRUE(audit::check_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305", "").empty());
  EXPECT_TRUE(audit::check_ciphers("", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256").empty());
  EXPECT_EQ(audit::check_ciphers("", "TLS_AES_128_CCM_8_SHA256").size(), 1u);
}

TEST_F(AuditTest, SrtpAgainstTheNetwork) {
  std::string optional = replace(good(), "srtp = \"mandatory\"", "srtp = \"optional\"");
  expect(run(optional, advise::Network::kCloud), "srtp-optional", Severity::kError, 14);
  expect(run(optional, advise::Network::kSharedLan), "srtp-optional", Severity::kError, 14);
  expect(run(optional, advise::Network::kVpn), "srtp-optional", Severity::kWarning, 14);
  expect(run(optional, advise::Network::kAirgappedVlan), "srtp-optional", Severity::kInfo, 14);
  std::string off = replace(good(), "srtp = \"mandatory\"", "srtp = \"off\"");
  expect(run(off, advise::Network::kCloud), "srtp-off", Severity::kError, 14);
  expect(run(off, std::nullopt), "srtp-off", Severity::kWarning, 14);
  // no [phone] table: the default (optional) is reported without a line
  std::string none = replace(good(), "[phone]\nsrtp = \"mandatory\"\n", "");
  expect(run(none, advise::Network::kCloud), "srtp-optional", Severity::kError, 0);
}

TEST_F(AuditTest, NtpMissingWhileTlsUsed) {
  opts_.assume_ntp = false;
  opts_.time_sync_files = {t_ / "chrony.conf"};
  testutil::write(t_ / "chrony.conf", "# pool 2.debian.pool.ntp.org iburst\n");
  expect(run(good()), "ntp-missing", Severity::kWarning, 0);
  testutil::write(t_ / "chrony.conf", "pool ntp.plant.local iburst\n");
  EXPECT_EQ(find(run(good()), "ntp-missing"), nullptr);
  testutil::write(t_ / "timesyncd.conf", "[Time]\nNTP=\n");
  EXPECT_FALSE(audit::time_sync_configured({t_ / "timesyncd.conf"}));
  testutil::write(t_ / "timesyncd.conf", "[Time]\nNTP=10.0.0.1\n");
  EXPECT_TRUE(audit::time_sync_configured({t_ / "timesyncd.conf"}));
}

TEST_F(AuditTest, CaFileProblems) {
  expect(run(replace(good(), site_.paths.chain(), t_ / "missing.pem")), "ca-file-missing", Severity::kError, 8);
  testutil::write(t_ / "junk.pem", "hello\n", 0644);
  expect(run(replace(good(), site_.paths.chain(), t_ / "junk.pem")), "ca-file-unreadable", Severity::kError, 8);
  // the server (or device) certificate uploaded instead of the CA
  expect(run(replace(good(), site_.paths.chain(), cert_)), "ca-not-ca", Severity::kError, 8);
  // an expired CA and one about to expire: judged at a later "now"
  audit::Report later;
  {
    auto ca = pki::make_root_ca("Short CA", 20);
    ASSERT_TRUE(ca.ok());
    ASSERT_TRUE(pki::write_pem(*ca, t_ / "short.crt", t_ / "short.key").ok());
    std::string cfg = replace(good(), site_.paths.chain(), t_ / "short.crt");
    expect(run(cfg), "ca-expiring", Severity::kWarning, 8);
    opts_.now = std::time(nullptr) + 30 * 86400;
    expect(run(cfg), "ca-expired", Severity::kError, 8);
  }
  std::string no_ca = replace(good(), "ca_files = [\"" + site_.paths.chain() + "\"]\n", "");
  expect(run(no_ca), "tls-no-trust-store", Severity::kError, 7);
}

TEST_F(AuditTest, ClientCertificateProblems) {
  // key of another device
  pki::DeviceOptions d;
  d.id = "00:11:22:33:44:66";
  auto other = pki::issue_device(site_, d);
  ASSERT_TRUE(other.ok());
  expect(run(replace(good(), "client_key = \"" + key_ + "\"", "client_key = \"" + other->key + "\"")), "client-key-mismatch",
         Severity::kError, 10);
  // expiring within 30 days, then expired
  d.id = "00:11:22:33:44:77";
  d.days = 10;
  auto soon = pki::issue_device(site_, d);
  ASSERT_TRUE(soon.ok());
  std::string cfg = replace(replace(good(), cert_, soon->cert), key_, soon->key);
  expect(run(cfg), "client-cert-expiring", Severity::kWarning, 9);
  opts_.now = std::time(nullptr) + 11 * 86400;
  expect(run(cfg), "client-cert-expired", Severity::kError, 9);
  opts_.now = 0;
  // a key others can read
  ::chmod(key_.c_str(), 0644);
  expect(run(good()), "client-key-readable", Severity::kError, 10);
  ::chmod(key_.c_str(), 0600);
  expect(run(replace(good(), key_, t_ / "nokey.pem")), "client-key-missing", Severity::kError, 10);
  expect(run(replace(good(), cert_, t_ / "nocert.pem")), "client-cert-missing", Severity::kError, 9);
  // a server-only certificate used as the client certificate
  pki::ServerOptions so;
  so.hosts = {"pbx.plant.local"};
  auto server = pki::issue_server(site_, so);
  ASSERT_TRUE(server.ok());
  pki::LeafSpec spec;
  spec.common_name = "server only";
  spec.client = false;
  auto srv_only = pki::make_leaf(spec, site_.signer);
  ASSERT_TRUE(srv_only.ok());
  ASSERT_TRUE(pki::write_pem(*srv_only, t_ / "srv.crt", t_ / "srv.key").ok());
  expect(run(replace(replace(good(), cert_, t_ / "srv.crt"), key_, t_ / "srv.key")), "client-cert-no-client-auth",
         Severity::kError, 9);
}

TEST_F(AuditTest, KeyExportEnabled) {
  expect(run(replace(good(), "verify_server = true", "keylog_file = \"/tmp/keys.log\"")), "tls-keylog-enabled",
         Severity::kError, 11);
  // issue 6's [diagnostics] keys, recognised before the loader knows them
  audit::Report r = run(good() + "\n[diagnostics]\nsrtp_keylog_file = \"/tmp/srtp.log\"\n");
  expect(r, "srtp-key-export-enabled", Severity::kError, 17);
}

TEST_F(AuditTest, WhoMayCall) {
  expect(run(good() + "allow_peers = [\"10.0.0.7\", \"0.0.0.0\"]\n"), "p2p-any-address", Severity::kError, 15);
  expect(run(good() + "allow_peers = [\"10.0.0.0/8\"]\n"), "p2p-any-address", Severity::kError, 15);
  EXPECT_EQ(find(run(good() + "allow_peers = [\"10.0.0.7\"]\n"), "p2p-any-address"), nullptr);
  expect(run(good() + "auto_answer = true\n"), "auto-answer-no-allowlist", Severity::kError, 15);
  EXPECT_EQ(find(run(good() + "auto_answer = true\nallow_peers = [\"10.0.0.7\"]\n"), "auto-answer-no-allowlist"), nullptr);
  EXPECT_EQ(find(run(good() + "auto_answer = true\nauto_answer_from = [\"dispatch\"]\n"), "auto-answer-no-allowlist"), nullptr);
  expect(run(good() + "auto_answer = true\nauto_answer_from = [\"dispatch\"]\nauto_answer_unauthenticated = true\n"),
         "auto-answer-unauthenticated", Severity::kError, 17);
  std::string listen = replace(good(), "verify_server = true", "verify_server = true\nuse_system_store = true") +
                       "\n[sip]\ntls_listen = \"0.0.0.0:5061\"\n";
  expect(run(listen), "p2p-any-certificate", Severity::kError, 12);
  expect(run(good() + "\n[sip]\ntcp_listen = \"0.0.0.0:5060\"\n"), "p2p-plaintext-listener", Severity::kError, 17);
}

TEST_F(AuditTest, PasswordPlaceholderFromAdvise) {
  expect(run(replace(good(), "password = \"secret\"", "password = \"CHANGE-ME\"")), "password-placeholder",
         Severity::kWarning, 3);
  EXPECT_EQ(find(run(good()), "password-placeholder"), nullptr);
}

TEST_F(AuditTest, EmergencyFallback) {
  std::string em = good() + "\n[emergency]\ntargets = [\"100\", \"sips:dispatch@10.0.0.9\"]\n";  // lines 16, 17
  EXPECT_EQ(find(run(em), "emergency-cleartext-fallback"), nullptr);  // next-target: the default
  expect(run(em + "fallback = \"cleartext\"\n"), "emergency-cleartext-fallback", Severity::kWarning, 18);
  expect(run(em + "fallback = \"none\"\n"), "emergency-fallback-none", Severity::kInfo, 18);
}

TEST_F(AuditTest, PlainRtpPaging) {
  std::string pg = good() + "\n[[paging.group]]\naddress = \"239.255.1.1:5004\"\nsecure = false\n";  // lines 16-18
  expect(run(pg), "paging-plain-rtp", Severity::kWarning, 18);
  expect(run(pg + "priority = \"emergency\"\n"), "paging-plain-rtp", Severity::kError, 18);
  EXPECT_EQ(find(run(good()), "paging-plain-rtp"), nullptr);
}

TEST_F(AuditTest, PasswordsInAReadableFile) {
  expect(run(good(), advise::Network::kCloud, 0644), "password-file-readable", Severity::kError, 0);
  expect(run(good(), advise::Network::kCloud, 0640), "password-file-readable", Severity::kError, 0);
  EXPECT_EQ(find(run(good(), advise::Network::kCloud, 0600), "password-file-readable"), nullptr);
  std::string no_password = replace(good(), "password = \"secret\"\n", "");
  EXPECT_EQ(find(run(no_password, advise::Network::kCloud, 0644), "password-file-readable"), nullptr);
}

TEST_F(AuditTest, BrokenFilesAreFindingsNotCrashes) {
  audit::Report r = run("[[account]\nuser = 1\n");
  expect(r, "config-invalid", Severity::kError, 1);
  audit::Report unknown = run(good() + "pasword = \"x\"\n");
  expect(unknown, "config-invalid", Severity::kError, 15);
  EXPECT_EQ(audit::audit_file(t_ / "nope.toml", opts_).error().code, "audit-io");
  // audit_file reads the mode itself
  testutil::write(t_ / "phone.toml", good(), 0644);
  auto f = audit::audit_file(t_ / "phone.toml", opts_);
  ASSERT_TRUE(f.ok());
  EXPECT_NE(find(*f, "password-file-readable"), nullptr);
}

TEST_F(AuditTest, FindingsSortedErrorsFirst) {
  std::string bad = replace(replace(good(), "verify_server = true", "verify_server = false"), "srtp = \"mandatory\"",
                            "srtp = \"optional\"");
  audit::Report r = run(bad, advise::Network::kVpn);
  ASSERT_GE(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].severity, Severity::kError);
  EXPECT_EQ(r.errors, 1);
  EXPECT_EQ(r.warnings, 1);
}
