#include <gtest/gtest.h>

#include "phone/config.h"

using exphone::phone::parse_config;

namespace {
std::string err(const std::string& toml) {
  auto c = parse_config(toml, "/etc/exphone", "phone.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c ? std::string() : c.error().message;
}
}  // namespace

TEST(Config, FullExample) {
  auto c = parse_config(R"(
[[account]]
user = "1001"
password = "secret"
domain = "pbx.plant.local"
registrar = "sips:pbx.plant.local"
expires = 300

[[account]]
user = "2001"
domain = "10.0.0.5"
transport = "tcp"
backup_registrars = ["sip:10.0.0.6;transport=tcp", "sip:pbx3.plant.local"]

[tls]
ca_files = ["ca/root.pem", "/abs/inter.pem"]
client_cert = "device.crt"
min_version = "1.3"

[sip]
t1_ms = 1000
keepalive_interval_s = 15
dns_servers = ["127.0.0.1:5353"]
)",
                        "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->accounts.size(), 2u);
  EXPECT_EQ(c->accounts[0].expires, 300u);
  EXPECT_EQ(c->accounts[0].name, "1001@pbx.plant.local");
  EXPECT_EQ(c->accounts[1].transport, exphone::net::Protocol::kTcp);
  EXPECT_EQ(c->transport.tls.ca_files[0], "/etc/exphone/ca/root.pem");
  EXPECT_EQ(c->transport.tls.ca_files[1], "/abs/inter.pem");
  EXPECT_EQ(c->transport.tls.client_cert, "/etc/exphone/device.crt");
  EXPECT_EQ(c->transport.tls.min_version, "1.3");
  EXPECT_EQ(c->timers.t1.count(), 1000);
  EXPECT_EQ(c->timers.timer_f().count(), 64000);
  EXPECT_EQ(c->transport.keepalive_interval.count(), 15000);
  EXPECT_EQ(c->accounts[1].backup_registrars.size(), 2u);
  EXPECT_EQ(c->dns_servers, std::vector<std::string>{"127.0.0.1:5353"});
  auto reg = exphone::ua::registrar_address(c->accounts[0]);
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(reg->protocol, exphone::net::Protocol::kTls);
  EXPECT_EQ(reg->port, 0);  // no port in the URI: RFC 3263 (SRV, else 5061) decides
  EXPECT_FALSE(reg->explicit_transport);
}

TEST(Config, ErrorsNameTheLine) {
  EXPECT_EQ(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\npasword = \"x\"\n"),
            "phone.toml:4: unknown key 'pasword' in account[0]");
  EXPECT_EQ(err("[tls]\nverify_server = \"yes\"\n"), "phone.toml:2: tls.verify_server must be true or false");
  EXPECT_NE(err("[tls]\nmin_version = \"1.0\"\n").find("tls.min_version must be"), std::string::npos);
  EXPECT_NE(err("[[account]]\ndomain = \"d\"\n").find("user is required"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\ntransport = \"sctp\"\n").find("phone.toml:4"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nregistrar = \"sips:x;transport=udp\"\n").find("needs transport tls"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nexpires = -5\n").find("between"), std::string::npos);
  EXPECT_NE(err("[sip]\nt1_ms = 1000\nt2_ms = 500\n").find("t2_ms"), std::string::npos);
  EXPECT_NE(err("[oops]\n").find("unknown key 'oops'"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nbackup_registrars = [\"http://x\"]\n").find("phone.toml:4"),
            std::string::npos);
  EXPECT_NE(err("account = 5\n").find("[[account]]"), std::string::npos);
  EXPECT_NE(err("this is not toml").find("phone.toml:1"), std::string::npos);
}

// The keys the calls, the hotline and the diagnostics added: bad values name the line, good
// ones land where the phone reads them.
TEST(Config, CallEmergencyAndDiagnosticsKeys) {
  EXPECT_EQ(err("[phone]\ncodecs = [\"G729\"]\n"), "phone.toml:2: phone.codecs: unknown codec 'G729' (G722, PCMU, PCMA, opus)");
  EXPECT_NE(err("[phone]\ncodecs = []\n").find("non-empty"), std::string::npos);
  EXPECT_NE(err("[phone]\ncodecs = [\"telephone-event\"]\n").find("unknown codec"), std::string::npos);
  EXPECT_NE(err("[phone]\nauto_answer_from = [\"\"]\n").find("phone.toml:2"), std::string::npos);
  EXPECT_NE(err("[emergency]\nfallback = \"udp\"\n").find("phone.toml:2: emergency.fallback must be"), std::string::npos);
  EXPECT_NE(err("[emergency]\nring_timeout_s = 0\n").find("phone.toml:2"), std::string::npos);
  EXPECT_NE(err("[emergency]\ntargets = \"100\"\n").find("emergency.targets must be an array"), std::string::npos);
  EXPECT_NE(err("[diagnostics]\nsrtp_keys = \"x\"\n").find("unknown key 'srtp_keys'"), std::string::npos);
  EXPECT_NE(err("[tls]\nkeylog_file = \"/a\"\n[diagnostics]\ntls_keylog_file = \"/b\"\n").find("different files"),
            std::string::npos);

  auto c = parse_config(
      "[phone]\ncodecs = [\"opus\", \"PCMA\"]\nauto_answer_from = [\"dispatch\"]\nrecord_dir = \"rec\"\n"
      "[emergency]\ntargets = [\"100\", \"sips:d@10.0.0.9\"]\nfallback = \"none\"\nring_timeout_s = 7\n"
      "[diagnostics]\nsrtp_keylog_file = \"keys.log\"\ntls_keylog_file = \"tls.log\"\n",
      "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->media.codecs.size(), 3u);  // the two named, then telephone-event
  EXPECT_EQ(c->media.codecs[0].name, "opus");
  EXPECT_EQ(c->media.codecs[1].name, "PCMA");
  EXPECT_EQ(c->media.codecs[2].name, "telephone-event");
  EXPECT_EQ(c->auto_answer_from, std::vector<std::string>{"dispatch"});
  EXPECT_EQ(c->record_dir, "/etc/exphone/rec");
  EXPECT_EQ(c->emergency.targets.size(), 2u);
  EXPECT_EQ(c->emergency.fallback, "none");
  EXPECT_EQ(c->emergency.ring_timeout, std::chrono::milliseconds(7000));
  EXPECT_EQ(c->srtp_keylog_file, "/etc/exphone/keys.log");
  EXPECT_EQ(c->transport.tls.keylog_file, "/etc/exphone/tls.log");
}

// docs/resilience.md: failback probe, RFC 5626 section 4.5 backoff, start-up jitter.
TEST(Config, ResilienceKeys) {
  auto c = parse_config("[[account]]\nuser = \"1\"\ndomain = \"d\"\n", "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->accounts[0].failback_interval_s, 60u);
  EXPECT_EQ(c->accounts[0].retry.base_all_failed_s, 30u);
  EXPECT_EQ(c->accounts[0].retry.base_some_ok_s, 90u);
  EXPECT_EQ(c->accounts[0].retry.max_s, 1800u);
  EXPECT_EQ(c->accounts[0].startup_jitter_ms, 2000u);
  c = parse_config("[[account]]\nuser = \"1\"\ndomain = \"d\"\nfailback_interval_s = 0\nretry_base_s = 5\n"
                   "retry_max_s = 120\nstartup_jitter_ms = 0\n",
                   "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->accounts[0].failback_interval_s, 0u);
  EXPECT_EQ(c->accounts[0].retry.base_all_failed_s, 5u);
  EXPECT_EQ(c->accounts[0].retry.base_some_ok_s, 15u);
  EXPECT_EQ(c->accounts[0].retry.max_s, 120u);
  EXPECT_EQ(c->accounts[0].startup_jitter_ms, 0u);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nretry_base_s = 0\n").find("phone.toml:4"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nretry_base_s = 60\nretry_max_s = 30\n").find("retry_max_s must not"),
            std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nfailback_interval_s = -1\n").find("between"), std::string::npos);
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nstartup_jitter_ms = \"x\"\n").find("integer"), std::string::npos);
}

// [[account]] srtp / key_exchange override [phone]'s for that account's calls only; peer-to-peer
// calls (media_for past the last account) keep [phone]'s.
TEST(Config, PerAccountMediaPolicy) {
  using exphone::ua::KeyExchange;
  using exphone::ua::SrtpPolicy;
  auto c = parse_config(R"(
[[account]]
user = "1001"
domain = "pbx.plant.local"
registrar = "sips:pbx.plant.local"
srtp = "mandatory"
key_exchange = "sdes"

[[account]]
user = "2001"
domain = "webrtc.plant.local"
key_exchange = "dtls"

[phone]
srtp = "off"
)",
                        "/etc/exphone", "phone.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->account_media.size(), 2u);
  EXPECT_EQ(c->media_for(0).srtp, SrtpPolicy::kMandatory);
  EXPECT_EQ(c->media_for(0).key_exchange, KeyExchange::kSdes);
  EXPECT_EQ(c->media_for(1).srtp, SrtpPolicy::kOff);  // from [phone]
  EXPECT_EQ(c->media_for(1).key_exchange, KeyExchange::kDtls);
  EXPECT_EQ(c->media_for(2).srtp, SrtpPolicy::kOff);  // peer to peer
  EXPECT_EQ(c->media_for(2).key_exchange, KeyExchange::kAuto);
  EXPECT_EQ(c->media.srtp, SrtpPolicy::kOff);
  EXPECT_FALSE(c->uses_dtls());  // account 1 asks for DTLS but its SRTP is off

  auto d = parse_config("[[account]]\nuser = \"1\"\ndomain = \"d\"\nkey_exchange = \"dtls\"\n[phone]\nkey_exchange = \"sdes\"\n",
                        "/etc/exphone", "phone.toml");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_TRUE(d->uses_dtls());  // [phone] srtp defaults to optional

  EXPECT_EQ(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nsrtp = \"required\"\n"),
            "phone.toml:4: account[0].srtp must be \"off\", \"optional\" or \"mandatory\"");
  EXPECT_EQ(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nkey_exchange = \"zrtp\"\n"),
            "phone.toml:4: account[0].key_exchange must be \"sdes\", \"dtls\" or \"auto\"");
  EXPECT_EQ(err("[phone]\nsrtp = \"\"\n"), "phone.toml:2: phone.srtp must be \"off\", \"optional\" or \"mandatory\"");
  EXPECT_NE(err("[[account]]\nuser = \"1\"\ndomain = \"d\"\nsrtp = true\n").find("phone.toml:4"), std::string::npos);
}
