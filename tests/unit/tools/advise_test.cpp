// exphone advise: the rules tables, the time-to-ring arithmetic, and the promise that every
// fragment `advise --toml` prints loads with the device's own loader and passes `audit` without
// an error (with the certificate files it names present).
#include <gtest/gtest.h>

#include "phone/config.h"
#include "tools/advise/advise.h"
#include "tools/audit/audit.h"
#include "tools/pki/site.h"
#include "tools_test_util.h"

using namespace exphone;
using advise::Network;
using advise::Pbx;
using advise::Requirement;

TEST(Advise, NetworkTable) {
  EXPECT_EQ(advise::network_rule(Network::kCloud).tls_srtp, Requirement::kMandatory);
  EXPECT_EQ(advise::network_rule(Network::kVpn).tls_srtp, Requirement::kRecommended);
  EXPECT_EQ(advise::network_rule(Network::kSharedLan).tls_srtp, Requirement::kMandatory);
  EXPECT_EQ(advise::network_rule(Network::kAirgappedVlan).tls_srtp, Requirement::kOptional);
  for (auto name : advise::network_names()) EXPECT_EQ(advise::to_string(*advise::parse_network(name)), name);
  for (auto name : advise::pbx_names()) EXPECT_EQ(advise::to_string(*advise::parse_pbx(name)), name);
  EXPECT_FALSE(advise::parse_network("internet").has_value());
  EXPECT_FALSE(advise::parse_pbx("freeswitch").has_value());
  EXPECT_EQ(advise::network_names().size(), 4u);
  EXPECT_EQ(advise::pbx_names().size(), 7u);
}

TEST(Advise, PbxTable) {
  EXPECT_STREQ(advise::pbx_rule(Pbx::kAsteriskChanSip).key_exchange, "SDES");
  EXPECT_NE(std::string(advise::pbx_rule(Pbx::kAsteriskChanSip).notes).find("encryption=yes"), std::string::npos);
  EXPECT_NE(std::string(advise::pbx_rule(Pbx::kAsteriskPjsip).key_exchange).find("DTLS"), std::string::npos);
  EXPECT_NE(std::string(advise::pbx_rule(Pbx::k3cx).notes).find("Secure SIP"), std::string::npos);
  EXPECT_NE(std::string(advise::pbx_rule(Pbx::kAvayaAura).notes).find("TLS 1.2"), std::string::npos);
  EXPECT_STREQ(advise::pbx_rule(Pbx::kWebrtc).key_exchange, "DTLS-SRTP");
  EXPECT_FALSE(advise::pbx_rule(Pbx::kWebrtc).sdes_works);
}

TEST(Advise, RulesAreOneLineEachAndFollowTheTables) {
  for (auto net : advise::network_names())
    for (auto pbx : advise::pbx_names())
      for (bool emergency : {false, true}) {
        advise::Input in;
        in.network = *advise::parse_network(net);
        in.pbx = *advise::parse_pbx(pbx);
        in.emergency = emergency;
        in.rtt_ms = 80;
        advise::Advice a = advise::advise(in);
        EXPECT_FALSE(a.rules.empty());
        for (const auto& r : a.rules) {
          EXPECT_EQ(r.text.find('\n'), std::string::npos) << r.id;
          EXPECT_FALSE(r.id.empty());
        }
        bool has_sdes_rule = false;
        for (const auto& r : a.rules) has_sdes_rule = has_sdes_rule || r.id == "sdes-needs-tls";
        EXPECT_TRUE(has_sdes_rule);
        EXPECT_EQ(a.transport, "tls");
        EXPECT_EQ(a.srtp, in.network == Network::kAirgappedVlan ? "optional" : "mandatory") << net;
        EXPECT_EQ(a.supported, in.pbx != Pbx::kWebrtc);
        EXPECT_EQ(a.keepalive_interval_s, emergency ? 15 : 30);
        EXPECT_GE(a.checklist.size(), 5u);
      }
}

TEST(Advise, TimeToRing) {
  auto t = advise::time_to_ring(100, false);
  EXPECT_EQ(t.kept_alive_ms, 100);   // INVITE -> 180
  EXPECT_EQ(t.cold_tls13_ms, 300);   // + TCP 1 RTT + TLS 1.3 1 RTT
  EXPECT_EQ(t.cold_tls12_ms, 400);   // + TCP 1 RTT + TLS 1.2 2 RTT
  auto c = advise::time_to_ring(250, true);
  EXPECT_EQ(c.kept_alive_ms, 500);   // + 407 and the re-sent INVITE
  EXPECT_EQ(c.cold_tls12_ms - c.kept_alive_ms, 750);
  EXPECT_EQ(c.cold_tls13_ms - c.kept_alive_ms, 500);
  advise::Input in;
  in.pbx = Pbx::k3cx;  // challenges INVITEs
  in.rtt_ms = 40;
  advise::Advice a = advise::advise(in);
  EXPECT_EQ(a.ttr.kept_alive_ms, 80);
  EXPECT_EQ(a.ttr.cold_tls12_ms, 200);
}

// RFC 3261 section 17.1.1.1: above 500 ms RTT the advised T1 covers the RTT, so UDP requests are not
// sent twice before their answer can arrive (measured: bench/time_to_ring.py); below, the default.
TEST(Advise, T1FollowsTheRtt) {
  advise::Input in;
  in.pbx = Pbx::kKamailio;
  for (auto [rtt, t1] : {std::pair{0, 0}, {40, 0}, {500, 0}, {501, 700}, {600, 800}, {1000, 1300}, {5000, 4000}}) {
    in.rtt_ms = rtt;
    advise::Advice a = advise::advise(in);
    EXPECT_EQ(a.t1_ms, t1) << rtt;
    bool rule = false;
    for (const auto& r : a.rules) rule = rule || r.id == "t1-rtt";
    EXPECT_EQ(rule, t1 != 0) << rtt;
    std::string toml = advise::toml_fragment(in, a);
    EXPECT_EQ(toml.find("t1_ms = ") != std::string::npos, t1 != 0) << toml;
  }
  in.rtt_ms.reset();
  EXPECT_EQ(advise::advise(in).t1_ms, 0);
}

// The promise of `advise --toml`: the loader takes it and audit finds no error, for every
// network x PBX x emergency combination (certificate files present, config file mode 0600).
TEST(Advise, TomlFragmentPassesLoaderAndAudit) {
  testutil::TempDir t;
  pki::InitOptions io;
  io.dir = t / "site";
  io.name = "Plant Root CA";
  ASSERT_TRUE(pki::init_site(io).ok());
  auto site = pki::open_site(io.dir);
  ASSERT_TRUE(site.ok());
  pki::DeviceOptions d;
  d.id = "00:11:22:33:44:55";
  auto dev = pki::issue_device(*site, d);
  ASSERT_TRUE(dev.ok());

  audit::Options ao;
  ao.assume_ntp = true;
  for (auto net : advise::network_names())
    for (auto pbx : advise::pbx_names())
      for (bool emergency : {false, true})
        for (bool mtls : {false, true}) {
          advise::Input in;
          in.network = *advise::parse_network(net);
          in.pbx = *advise::parse_pbx(pbx);
          in.emergency = emergency;
          if (mtls) in.rtt_ms = 600;  // a satellite link: the fragment carries t1_ms
          in.ca_file = site->paths.chain();
          if (mtls) {
            in.client_cert = dev->cert;
            in.client_key = dev->key;
          }
          std::string toml = advise::toml_fragment(in, advise::advise(in));
          auto config = phone::parse_config(toml, t.path(), "advised.toml");
          ASSERT_TRUE(config.ok()) << net << " " << pbx << ": " << config.error().message << "\n" << toml;
          EXPECT_EQ(config->accounts.size(), 1u);
          EXPECT_EQ(config->timers.t1.count(), mtls ? 800 : 500);
          EXPECT_TRUE(config->accounts[0].transport == net::Protocol::kTls);
          EXPECT_EQ(config->media.srtp, in.network == Network::kAirgappedVlan ? ua::SrtpPolicy::kOptional
                                                                             : ua::SrtpPolicy::kMandatory);
          ao.network = in.network;
          audit::Report r = audit::audit_text(toml, t.path(), "advised.toml", ao, 0600u);
          EXPECT_EQ(r.errors, 0) << net << " " << pbx << "\n" << toml << "\nfirst: " << (r.findings.empty() ? "" : r.findings[0].id);
          if (mtls) {
            EXPECT_EQ(config->transport.tls.client_cert, dev->cert);
          }
        }
}
