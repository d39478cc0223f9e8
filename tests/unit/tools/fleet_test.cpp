// exphone pki fleet: CSV (RFC 4180), template rendering with TOML escaping, validation of every
// row before anything is written, the bundle's files, modes and certificate.
#include <gtest/gtest.h>

#include <filesystem>

#include "phone/config.h"
#include "tools/pki/fleet.h"
#include "tools_test_util.h"

using namespace exphone;
using testutil::mode_of;

TEST(FleetCsv, Rfc4180) {
  auto rows = pki::parse_csv("\xEF\xBB\xBFid,mac,password\r\n"
                             "A1, 00:11:22:33:44:55 ,\"se,cr\"\"et\"\r\n"
                             "\n"
                             "A2,00:11:22:33:44:56,\"multi\nline\"\n");
  ASSERT_TRUE(rows.ok()) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0], (pki::CsvRow{"id", "mac", "password"}));
  EXPECT_EQ((*rows)[1], (pki::CsvRow{"A1", "00:11:22:33:44:55", "se,cr\"et"}));
  EXPECT_EQ((*rows)[2], (pki::CsvRow{"A2", "00:11:22:33:44:56", "multi\nline"}));
  EXPECT_EQ(pki::parse_csv("a,\"open\n").error().code, "pki-csv");
  EXPECT_EQ(pki::parse_csv("a,b\"c\"\n").error().code, "pki-csv");
  EXPECT_EQ(pki::parse_csv("a,\"b\"x\n").error().code, "pki-csv");
}

TEST(FleetTemplate, RenderEscapesForToml) {
  auto tpl = pki::ConfigTemplate::parse("[[account]]\nuser = \"{{ extension }}\"\npassword = \"{{password}}\"\ndomain = \"d\"\n");
  ASSERT_TRUE(tpl.ok());
  EXPECT_EQ(tpl->names(), (std::vector<std::string>{"extension", "password"}));
  std::string nasty = "p\"a\\ss\nword\x01";
  auto out = tpl->render({{"extension", "1001"}, {"password", nasty}});
  ASSERT_TRUE(out.ok());
  // the loader reads back exactly the CSV value: no injection of TOML through a field
  auto c = phone::parse_config(*out, "/tmp", "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message << "\n" << *out;
  EXPECT_EQ(c->accounts[0].password, nasty);
  auto missing = tpl->render({{"extension", "1001"}});
  EXPECT_EQ(missing.error().code, "pki-template");
  EXPECT_NE(missing.error().message.find("line 3"), std::string::npos);
  EXPECT_FALSE(pki::ConfigTemplate::parse("x = \"{{oops\"\n").ok());
  EXPECT_FALSE(pki::ConfigTemplate::parse("x = \"{{}}\"\n").ok());
}

namespace {

const char* kTemplate =
    "[[account]]\n"
    "user = \"{{extension}}\"\n"
    "password = \"{{password}}\"\n"
    "domain = \"pbx.plant.local\"\n"
    "registrar = \"sips:pbx.plant.local\"\n"
    "display_name = \"{{location}}\"\n"
    "\n"
    "[tls]\n"
    "ca_files = [\"{{ca_file}}\"]\n"
    "client_cert = \"{{cert_file}}\"\n"
    "client_key = \"{{key_file}}\"\n"
    "\n"
    "[phone]\n"
    "srtp = \"mandatory\"\n";

struct FleetFixture {
  testutil::TempDir t;
  pki::FleetOptions o;
  FleetFixture() {
    pki::InitOptions io;
    io.dir = t / "site";
    io.name = "Plant Root CA";
    io.intermediate = true;
    EXPECT_TRUE(pki::init_site(io).ok());
    o.dir = io.dir;
    o.out = t / "out";
    o.config_template = kTemplate;
  }
};

}  // namespace

TEST(Fleet, BundlesPerDevice) {
  FleetFixture f;
  f.o.devices = "id,extension,password,location\n"
                "00:11:22:33:44:01,1001,pw1,Pump house 1\n"
                "00:11:22:33:44:02,1002,\"pw,2\",\"Tank \"\"B\"\"\"\n";
  auto r = pki::issue_fleet(f.o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->bundles.size(), 2u);
  std::string b = f.t / "out/001122334402";
  EXPECT_EQ(r->bundles[1].dir, b);
  EXPECT_EQ(mode_of(b + "/device.key"), 0600u);
  EXPECT_EQ(mode_of(b + "/exphone.toml"), 0600u);
  EXPECT_EQ(mode_of(b + "/device.crt"), 0644u);
  auto config = phone::load_config(b + "/exphone.toml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->accounts[0].user, "1002");
  EXPECT_EQ(config->accounts[0].password, "pw,2");
  EXPECT_EQ(config->accounts[0].display_name, "Tank \"B\"");
  EXPECT_EQ(config->transport.tls.client_cert, b + "/device.crt");
  // the bundle's certificate is this device's, its key matches, the chain file has root + intermediate
  auto cert = pki::load_certs(b + "/device.crt");
  auto key = pki::load_key(b + "/device.key");
  ASSERT_TRUE(cert.ok() && key.ok());
  EXPECT_TRUE(pki::key_matches(cert->front().get(), key->get()));
  pki::CertInfo info = pki::inspect(cert->front().get());
  EXPECT_EQ(info.common_name, "00:11:22:33:44:02");
  EXPECT_EQ(info.uris, std::vector<std::string>{"urn:dev:mac:001122334402"});
  EXPECT_TRUE(info.eku_client);
  EXPECT_EQ(pki::load_certs(b + "/ca.pem")->size(), 2u);
  // recorded in the site (pki list shows it); its key is only in the bundle
  EXPECT_TRUE(std::filesystem::exists(f.o.dir + "/devices/001122334402.crt"));
  EXPECT_FALSE(std::filesystem::exists(f.o.dir + "/devices/001122334402.key"));
  EXPECT_NE(r->bundles[0].serial, r->bundles[1].serial);

  // a second run refuses to re-issue; --force does
  auto again = pki::issue_fleet(f.o);
  EXPECT_EQ(again.error().code, "pki-exists");
  f.o.overwrite = pki::Overwrite::kForce;
  auto forced = pki::issue_fleet(f.o);
  ASSERT_TRUE(forced.ok());
  EXPECT_NE(forced->bundles[1].serial, r->bundles[1].serial);
}

TEST(Fleet, NothingWrittenWhenARowIsBad) {
  struct Case {
    const char* csv;
    const char* code;
    const char* where;
  };
  for (const Case& c : {Case{"id,extension,password,location\n00:11:22:33:44:01,1001,a,x\n00:11:22:33:44:01,1002,b,y\n",
                             "pki-duplicate", "row 3"},
                        Case{"id,extension,password,location\n00:11:22:33:44:01,1001,a,x\nbad id!,1002,b,y\n", "pki-bad-id", "row 3"},
                        Case{"id,extension,password,location\n00:11:22:33:44:01,1001,a\n", "pki-csv", "row 2"},
                        Case{"mac,password,location\n00:11:22:33:44:01,a,x\n", "pki-template", "row 2"},
                        Case{"id,extension,password,location\n00:11:22:33:44:01,,a,x\n", "pki-template", "row 2"},
                        Case{"extension,password\n1001,a\n", "pki-csv", "no 'id'"},
                        Case{"id,extension,password,location\n", "pki-csv", "at least one"}}) {
    FleetFixture f;
    f.o.devices = c.csv;
    auto r = pki::issue_fleet(f.o);
    ASSERT_FALSE(r.ok()) << c.csv;
    EXPECT_EQ(r.error().code, c.code) << c.csv << r.error().message;
    EXPECT_NE(r.error().message.find(c.where), std::string::npos) << r.error().message;
    EXPECT_FALSE(std::filesystem::exists(f.o.out)) << c.csv;
    EXPECT_FALSE(std::filesystem::exists(f.o.dir + "/devices")) << c.csv;
  }
}
