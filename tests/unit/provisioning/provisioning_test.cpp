#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "phone/config.h"
#include "provisioning/apply.h"
#include "provisioning/bundle.h"
#include "provisioning/fetch.h"
#include "provisioning/provision.h"
#include "tools/pki/fleet.h"
#include "tools/pki/site.h"
#include "tools_test_util.h"

using namespace exphone;
namespace fs = std::filesystem;

namespace {

// A ustar archive written here byte by byte (independent of the parser under test).
std::string tar_header(const std::string& name, std::size_t size, char type = '0') {
  std::string h(512, '\0');
  std::copy(name.begin(), name.end(), h.begin());
  std::snprintf(&h[100], 8, "%07o", 0600);
  std::snprintf(&h[108], 8, "%07o", 0);
  std::snprintf(&h[116], 8, "%07o", 0);
  std::snprintf(&h[124], 12, "%011zo", size);
  std::snprintf(&h[136], 12, "%011o", 0);
  h[156] = type;
  std::copy_n("ustar\0" "00", 8, h.begin() + 257);
  std::fill(h.begin() + 148, h.begin() + 156, ' ');
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  return h;
}

std::string make_tar(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [n, d] : files) {
    out += tar_header(n, d.size());
    out += d;
    out.append((512 - d.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

constexpr const char* kTemplate =
    "[[account]]\n"
    "registrar = \"sip:pbx.plant.local;transport=tls\"\n"
    "user = \"{{extension}}\"\n"
    "password = \"{{password}}\"\n"
    "domain = \"plant.local\"\n"
    "\n"
    "[tls]\n"
    "ca_files = [\"{{ca_file}}\"]\n"
    "client_cert = \"{{cert_file}}\"\n"
    "client_key = \"{{key_file}}\"\n";

struct Fleet {
  testutil::TempDir t;
  std::map<std::string, std::string> a, b;  // two devices' bundles
  Fleet() {
    pki::InitOptions io;
    io.dir = t / "site";
    io.name = "Plant Root CA";
    EXPECT_TRUE(pki::init_site(io).ok());
    pki::FleetOptions o;
    o.dir = io.dir;
    o.out = t / "out";
    o.config_template = kTemplate;
    o.devices = "id,extension,password\n00:11:22:33:44:01,1001,pw1\n00:11:22:33:44:02,1002,pw2\n";
    auto r = pki::issue_fleet(o);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    for (const char* f : {"exphone.toml", "device.crt", "device.key", "ca.pem"}) {
      a[f] = testutil::slurp(t / ("out/001122334401/" + std::string(f)));
      b[f] = testutil::slurp(t / ("out/001122334402/" + std::string(f)));
    }
  }
  static provisioning::Bundle bundle(const std::map<std::string, std::string>& m) {
    provisioning::Bundle out;
    out.files = m;
    return out;
  }
};

}  // namespace

TEST(ProvisioningBundle, ParsesFlatUstar) {
  std::string tar = make_tar({{"exphone.toml", "x = 1\n"}, {"ca.pem", std::string(700, 'c')}});
  auto b = provisioning::parse_bundle(tar);
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(b->files.size(), 2u);
  EXPECT_EQ(b->files["exphone.toml"], "x = 1\n");
  EXPECT_EQ(b->files["ca.pem"], std::string(700, 'c'));
  // "./name" as `tar -C dir .` writes it, with the folder entry
  std::string dotted = tar_header("./", 0, '5') + make_tar({{"./exphone.toml", "y"}});
  auto d = provisioning::parse_bundle(dotted);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->files.count("exphone.toml"), 1u);
}

TEST(ProvisioningBundle, RejectsDamagedArchives) {
  std::string tar = make_tar({{"exphone.toml", "x = 1\n"}, {"ca.pem", std::string(700, 'c')}});
  // cut anywhere: half a download is never a bundle
  for (std::size_t cut : {std::size_t{0}, std::size_t{100}, std::size_t{512}, std::size_t{1024}, std::size_t{1536},
                          tar.size() - 1024, tar.size() - 1}) {
    auto r = provisioning::parse_bundle(std::string_view(tar).substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_TRUE(r.error().code == "bundle-truncated" || r.error().code == "bundle-invalid") << cut << " " << r.error().code;
  }
  std::string flipped = tar;
  flipped[3] ^= 0x20;  // a name byte: the header checksum no longer matches
  EXPECT_EQ(provisioning::parse_bundle(flipped).error().code, "bundle-format");
  EXPECT_EQ(provisioning::parse_bundle(std::string(2048, 'A')).error().code, "bundle-format");
  EXPECT_EQ(provisioning::parse_bundle(make_tar({{"../etc/passwd", "x"}})).error().code, "bundle-format");
  EXPECT_EQ(provisioning::parse_bundle(make_tar({{"sub/x", "x"}})).error().code, "bundle-format");
  EXPECT_EQ(provisioning::parse_bundle(make_tar({{"a", "1"}, {"a", "2"}})).error().code, "bundle-format");
  std::string link = tar_header("exphone.toml", 0, '2') + std::string(1024, '\0');
  EXPECT_EQ(provisioning::parse_bundle(link).error().code, "bundle-format");
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 17; ++i) many.emplace_back("f" + std::to_string(i), "x");
  EXPECT_EQ(provisioning::parse_bundle(make_tar(many)).error().code, "bundle-too-large");
}

TEST(ProvisioningBundle, ValidatesFleetBundle) {
  Fleet f;
  std::string gen = f.t / "gen";
  auto ok = provisioning::validate_bundle(Fleet::bundle(f.a), gen);
  ASSERT_TRUE(ok.ok()) << ok.error().to_string();
  EXPECT_EQ(ok->accounts[0].user, "1001");
  EXPECT_EQ(ok->transport.tls.client_cert, gen + "/device.crt");

  auto swapped = f.a;
  swapped["device.key"] = f.b["device.key"];  // another device's key
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(swapped), gen).error().code, "bundle-key-mismatch");
  auto bad_cert = f.a;
  bad_cert["device.crt"] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(bad_cert), gen).error().code, "bundle-cert");
  auto bad_ca = f.a;
  bad_ca["ca.pem"] = "not a pem";
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(bad_ca), gen).error().code, "bundle-cert");
  auto bad_key = f.a;
  bad_key["device.key"] = "junk";
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(bad_key), gen).error().code, "bundle-key");
  auto no_key = f.a;
  no_key.erase("device.key");
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(no_key), gen).error().code, "bundle-invalid");
  auto bad_cfg = f.a;
  bad_cfg["exphone.toml"] += "\n[nonsense]\nx = 1\n";
  auto e = provisioning::validate_bundle(Fleet::bundle(bad_cfg), gen);
  EXPECT_EQ(e.error().code, "bundle-config");
  EXPECT_NE(e.error().message.find("nonsense"), std::string::npos) << e.error().message;
  auto no_cfg = f.a;
  no_cfg.erase("exphone.toml");
  EXPECT_EQ(provisioning::validate_bundle(Fleet::bundle(no_cfg), gen).error().code, "bundle-invalid");
}

TEST(ProvisioningApply, AtomicWrite) {
  testutil::TempDir t;
  std::string p = t / "state.json";
  ASSERT_TRUE(provisioning::write_file_atomic(p, "one").ok());
  ASSERT_TRUE(provisioning::write_file_atomic(p, "two").ok());
  EXPECT_EQ(testutil::slurp(p), "two");
  EXPECT_EQ(testutil::mode_of(p), 0600u);
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(t.path()); it != fs::directory_iterator(); ++it) ++n;
  EXPECT_EQ(n, 1u);  // no temp files left
  EXPECT_EQ(provisioning::write_file_atomic(t / "no/such/dir/x", "x").error().code, "prov-io");
}

TEST(ProvisioningApply, GenerationsAndLastKnownGood) {
  Fleet f;
  testutil::TempDir d;
  std::string c = d / "exphone.toml";
  testutil::write(c, "# factory config\n");

  auto p1 = provisioning::plan_apply(c);
  ASSERT_TRUE(p1.ok());
  ASSERT_TRUE(provisioning::validate_bundle(Fleet::bundle(f.a), p1->gen_dir).ok());
  ASSERT_TRUE(provisioning::apply_bundle(*p1, Fleet::bundle(f.a)).ok());
  EXPECT_TRUE(fs::is_symlink(c));
  EXPECT_EQ(testutil::slurp(c + ".lkg"), "# factory config\n");  // the old plain file, kept
  auto loaded = phone::load_config(c);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->accounts[0].user, "1001");
  EXPECT_EQ(loaded->transport.tls.client_cert, fs::canonical(p1->gen_dir).string() + "/device.crt");
  EXPECT_EQ(testutil::mode_of(p1->gen_dir + "/device.key"), 0600u);

  auto p2 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p2, Fleet::bundle(f.b)).ok());
  EXPECT_EQ(phone::load_config(c)->accounts[0].user, "1002");
  EXPECT_EQ(phone::load_config(c + ".lkg")->accounts[0].user, "1001");  // last known good

  auto p3 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p3, Fleet::bundle(f.a)).ok());
  EXPECT_EQ(phone::load_config(c + ".lkg")->accounts[0].user, "1002");
  EXPECT_FALSE(fs::exists(p1->gen_dir));  // named by neither: pruned
  EXPECT_TRUE(fs::exists(p2->gen_dir));
  std::size_t gens = 0;
  for (const auto& e : fs::directory_iterator(d / "provisioned")) gens += e.is_directory() ? 1 : 0;
  EXPECT_EQ(gens, 2u);
}

TEST(ProvisioningApply, RollbackToLastKnownGood) {
  Fleet f;
  testutil::TempDir d;
  std::string c = d / "exphone.toml";
  // Nothing to go back to: an error, and C untouched.
  testutil::write(c, "# factory config\n");
  auto none = provisioning::rollback(c, "test");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "prov-rollback");
  EXPECT_EQ(testutil::slurp(c), "# factory config\n");

  auto p1 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p1, Fleet::bundle(f.a)).ok());
  EXPECT_EQ(provisioning::current_generation(c), "provisioned/" + p1->gen_name);
  // A second bundle while the first has not registered: C.lkg keeps naming the factory config.
  auto p2 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p2, Fleet::bundle(f.b), /*running_is_good=*/false).ok());
  EXPECT_EQ(phone::load_config(c)->accounts[0].user, "1002");
  EXPECT_EQ(testutil::slurp(c + ".lkg"), "# factory config\n");
  EXPECT_FALSE(fs::exists(p1->gen_dir));  // never proven, named by nobody: pruned

  auto st = provisioning::rollback(c, "did not register");
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(testutil::slurp(c), "# factory config\n");
  EXPECT_FALSE(fs::is_symlink(c));
  EXPECT_EQ(st->state, "rolled-back");
  EXPECT_EQ(st->error_code, "prov-rollback");
  EXPECT_NE(st->rollback_reason.find("did not register"), std::string::npos);
  EXPECT_EQ(st->generation, "");
  auto j = nlohmann::json::parse(provisioning::state_json(provisioning::load_state(c)));
  EXPECT_EQ(j["state"], "rolled-back");
  EXPECT_TRUE(j["rollback"].is_object());
  EXPECT_TRUE(j["pending"].is_null());

  // Good then good: C.lkg follows the config that worked; rollback returns to it.
  auto p3 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p3, Fleet::bundle(f.a)).ok());
  auto p4 = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p4, Fleet::bundle(f.b), /*running_is_good=*/true).ok());
  ASSERT_TRUE(provisioning::rollback(c, "x").ok());
  EXPECT_EQ(phone::load_config(c)->accounts[0].user, "1001");
  EXPECT_EQ(provisioning::current_generation(c), "provisioned/" + p3->gen_name);
}

TEST(ProvisioningState, PendingUntilConfirmed) {
  Fleet f;
  testutil::TempDir d;
  std::string c = d / "exphone.toml";
  testutil::write(c, "# factory config\n");
  auto p = provisioning::plan_apply(c);
  ASSERT_TRUE(provisioning::apply_bundle(*p, Fleet::bundle(f.a)).ok());
  std::string gen = "provisioned/" + p->gen_name;
  testutil::write(provisioning::state_path(c),
                  nlohmann::json{{"state", "applied"}, {"generation", gen}, {"pending", {{"since", "x"}}},
                                 {"pending_since_unix", 1000}}.dump());
  auto s = provisioning::load_state(c);
  EXPECT_TRUE(s.pending);
  EXPECT_EQ(s.pending_since, 1000);
  auto done = provisioning::confirm(c);
  EXPECT_FALSE(done.pending);
  EXPECT_FALSE(provisioning::load_state(c).pending);
  EXPECT_TRUE(nlohmann::json::parse(provisioning::state_json(done))["pending"].is_null());
  // A state file that names another generation than C (a crash between switch and state write):
  // what C names wins and is not on trial.
  testutil::write(provisioning::state_path(c),
                  nlohmann::json{{"state", "applied"}, {"generation", "provisioned/gold"}, {"pending", {{"since", "x"}}}}.dump());
  auto s2 = provisioning::load_state(c);
  EXPECT_EQ(s2.generation, gen);
  EXPECT_FALSE(s2.pending);
}

TEST(ProvisioningFetch, UrlTemplate) {
  phone::ProvisioningSettings s;
  s.mac = "00:1A:2B:3C:4D:5E";
  s.serial = "SN 1/2";
  s.model = "x100";
  EXPECT_EQ(*provisioning::expand_url("https://p/{model}/{mac}.tar?s={serial}", s), "https://p/x100/001a2b3c4d5e.tar?s=SN%201%2F2");
  EXPECT_EQ(provisioning::expand_url("https://p/{nope}", s).error().code, "prov-url");
  EXPECT_EQ(provisioning::expand_url("https://p/{mac", s).error().code, "prov-url");
  s.mac = "00:1A:2B";
  EXPECT_EQ(provisioning::expand_url("https://p/{mac}", s).error().code, "prov-url");
  s.serial.clear();
  EXPECT_EQ(provisioning::expand_url("https://p/{serial}", s).error().code, "prov-url");
}

TEST(ProvisioningConfig, Section) {
  auto c = phone::parse_config("[provisioning]\nurl = \"https://p/{mac}.tar\"\nca_file = \"prov-ca.pem\"\nmac = \"00:11:22:33:44:55\"\n"
                               "interval_s = 0\n",
                               "/etc/exphone", "t.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->provisioning.ca_file, "/etc/exphone/prov-ca.pem");
  EXPECT_EQ(c->provisioning.interval_s, 0);
  EXPECT_EQ(c->provisioning.timeout_s, 30);
  EXPECT_EQ(c->provisioning.max_bytes, 1L << 20);
  EXPECT_EQ(c->provisioning.rollback_after_s, 300);
  EXPECT_FALSE(phone::parse_config("[provisioning]\nrollback_after_s = -1\n", "/", "t").ok());
  EXPECT_FALSE(phone::parse_config("[provisioning]\nurl = \"http://p/x\"\nca_file = \"a\"\n", "/", "t").ok());
  EXPECT_FALSE(phone::parse_config("[provisioning]\nurl = \"https://p/x\"\n", "/", "t").ok());
  EXPECT_FALSE(phone::parse_config("[provisioning]\nbogus = 1\n", "/", "t").ok());
  EXPECT_FALSE(phone::parse_config("[provisioning]\ntimeout_s = 0\n", "/", "t").ok());
}
