// exphone pki: every product parsed back and its fields checked; chains verified by OpenSSL's
// own verifier (X509_verify_cert) with the TLS purposes; overwrite protection and file modes.
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tools_test_util.h"
#include "tools/pki/site.h"

using namespace exphone;
using exphone::testutil::mode_of;
using exphone::testutil::TempDir;

namespace {

// X509_verify_cert against root as the only anchor, untrusted intermediates, and a purpose
// (X509_PURPOSE_SSL_SERVER / _SSL_CLIENT also checks the extendedKeyUsage).
int verify(X509* leaf, X509* root, X509* inter, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root);
  STACK_OF(X509)* chain = sk_X509_new_null();
  if (inter) sk_X509_push(chain, inter);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, chain);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  int ok = X509_verify_cert(ctx);
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(chain);
  X509_STORE_free(store);
  return err;
}

pki::Site init(const TempDir& t, bool intermediate, pki::KeyType key = pki::KeyType::kEcP256) {
  pki::InitOptions o;
  o.dir = t.path();
  o.name = "Plant Root CA";
  o.intermediate = intermediate;
  o.key = key;
  auto files = pki::init_site(o);
  EXPECT_TRUE(files.ok()) << files.error().to_string();
  auto site = pki::open_site(t.path());
  EXPECT_TRUE(site.ok()) << site.error().to_string();
  return *site;
}

}  // namespace

TEST(PkiIssuer, RootCaFields) {
  TempDir t;
  pki::Site site = init(t, false);
  pki::CertInfo i = pki::inspect(site.root.get());
  EXPECT_EQ(i.common_name, "Plant Root CA");
  EXPECT_TRUE(i.is_ca);
  EXPECT_TRUE(i.self_signed);
  EXPECT_TRUE(i.key_usage_cert_sign);
  EXPECT_EQ(i.path_length, 0);  // no intermediate: the root signs leaves only
  EXPECT_EQ(i.key_type, "EC P-256");
  EXPECT_EQ(i.signature, "ecdsa-with-SHA256");
  EXPECT_GT(pki::days_until(i.not_after, std::time(nullptr)), 7000);
  EXPECT_FALSE(site.intermediate.has_value());
  EXPECT_EQ(mode_of(site.paths.root_key()), 0600u);
  EXPECT_EQ(mode_of(site.paths.ca_dir()), 0700u);
  EXPECT_EQ(mode_of(site.paths.root_cert()), 0644u);
}

TEST(PkiIssuer, RsaKeysForLegacyPbx) {
  for (auto [type, bits] : {std::pair{pki::KeyType::kRsa2048, 2048}, {pki::KeyType::kRsa3072, 3072}}) {
    TempDir t;
    pki::Site site = init(t, false, type);
    pki::CertInfo ca = pki::inspect(site.root.get());
    EXPECT_EQ(ca.key_bits, bits);
    EXPECT_EQ(ca.signature, "sha256WithRSAEncryption");
    pki::ServerOptions so;
    so.hosts = {"pbx.plant.local"};
    auto f = pki::issue_server(site, so);
    ASSERT_TRUE(f.ok()) << f.error().to_string();
    EXPECT_EQ(f->info.key_type, "RSA " + std::to_string(bits));  // leaves inherit the site's key type
  }
  EXPECT_EQ(pki::parse_key_type("rsa2048"), pki::KeyType::kRsa2048);
  EXPECT_EQ(pki::parse_key_type("ec-p256"), pki::KeyType::kEcP256);
  EXPECT_FALSE(pki::parse_key_type("rsa1024").has_value());
}

TEST(PkiIssuer, IntermediateChainVerifies) {
  TempDir t;
  pki::Site site = init(t, true);
  ASSERT_TRUE(site.intermediate.has_value());
  pki::CertInfo root = pki::inspect(site.root.get());
  pki::CertInfo inter = pki::inspect(site.intermediate->cert.get());
  EXPECT_EQ(root.path_length, 1);
  EXPECT_EQ(inter.path_length, 0);
  EXPECT_TRUE(inter.is_ca);
  EXPECT_FALSE(inter.self_signed);
  EXPECT_EQ(inter.issuer, root.subject);
  EXPECT_LE(inter.not_after, root.not_after);
  EXPECT_EQ(mode_of(site.paths.intermediate_key()), 0600u);

  pki::ServerOptions so;
  so.hosts = {"pbx.plant.local", "pbx2.plant.local"};
  so.ips = {"10.20.0.5"};
  auto server = pki::issue_server(site, so);
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  auto leaf = pki::load_certs(server->cert);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(verify(leaf->front().get(), site.root.get(), site.intermediate->cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  // without the intermediate the chain does not build: the fullchain file must carry it
  EXPECT_EQ(verify(leaf->front().get(), site.root.get(), nullptr, X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  auto full = pki::load_certs(server->fullchain);
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->size(), 2u);
  EXPECT_EQ(pki::inspect((*full)[1].get()).subject, inter.subject);
  // the trust bundle holds root and intermediate
  auto chain = pki::load_certs(site.paths.chain());
  ASSERT_TRUE(chain.ok());
  EXPECT_EQ(chain->size(), 2u);
}

TEST(PkiIssuer, ServerCertificateNames) {
  TempDir t;
  pki::Site site = init(t, false);
  pki::ServerOptions so;
  so.hosts = {"PBX.plant.local", "10.20.0.5"};
  so.ips = {"10.20.0.6", "10.20.0.5", "fd00::5"};
  auto f = pki::issue_server(site, so);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(f->info.common_name, "PBX.plant.local");  // CN = the primary address as configured
  EXPECT_EQ(f->info.dns, std::vector<std::string>{"pbx.plant.local"});
  EXPECT_EQ(f->info.ips, (std::vector<std::string>{"10.20.0.5", "10.20.0.6", "fd00::5"}));
  EXPECT_TRUE(f->info.eku_server);
  EXPECT_FALSE(f->info.is_ca);
  EXPECT_EQ(mode_of(f->key), 0600u);
  EXPECT_EQ(verify(pki::load_certs(f->cert)->front().get(), site.root.get(), nullptr, X509_PURPOSE_SSL_SERVER), X509_V_OK);

  pki::ServerOptions bad;
  bad.hosts = {"*.plant.local"};
  EXPECT_EQ(pki::server_spec(bad).error().code, "pki-bad-name");  // RFC 5922: wildcards never match
  bad.hosts = {"pbx..plant"};
  EXPECT_FALSE(pki::server_spec(bad).ok());
  bad.hosts = {"pbx.plant.local"};
  bad.ips = {"10.0.0.300"};
  EXPECT_EQ(pki::server_spec(bad).error().code, "pki-bad-name");
  bad.hosts = {};
  bad.ips = {};
  EXPECT_EQ(pki::server_spec(bad).error().code, "pki-usage");
}

TEST(PkiIssuer, DeviceIdsAndUniqueness) {
  for (const char* mac : {"00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001A.2B3C.4D5E", "001a2b3c4d5e"}) {
    auto id = pki::parse_device_id(mac, std::nullopt);
    ASSERT_TRUE(id.ok()) << mac;
    EXPECT_TRUE(id->mac);
    EXPECT_EQ(id->cn, "00:1a:2b:3c:4d:5e");
    EXPECT_EQ(id->file, "001a2b3c4d5e");
    EXPECT_EQ(id->urn, "urn:dev:mac:001a2b3c4d5e");
  }
  EXPECT_EQ(pki::parse_device_id("SN-0042", std::nullopt).error().code, "pki-bad-id");  // a serial needs --pen
  auto serial = pki::parse_device_id("SN-0042", 99999);
  ASSERT_TRUE(serial.ok());
  EXPECT_EQ(serial->urn, "urn:dev:os:99999-SN-0042");
  EXPECT_FALSE(pki::parse_device_id("../etc/passwd", 1).ok());
  EXPECT_FALSE(pki::parse_device_id("a b", 1).ok());
  EXPECT_FALSE(pki::parse_device_id("", 1).ok());

  TempDir t;
  pki::Site site = init(t, true);
  pki::DeviceOptions d;
  d.id = "00:1A:2B:3C:4D:5E";
  auto a = pki::issue_device(site, d);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->info.common_name, "00:1a:2b:3c:4d:5e");
  EXPECT_EQ(a->info.uris, std::vector<std::string>{"urn:dev:mac:001a2b3c4d5e"});
  EXPECT_TRUE(a->info.eku_client);
  EXPECT_TRUE(a->info.eku_server);  // the phone is the TLS server of its P2P listener
  EXPECT_EQ(mode_of(a->key), 0600u);
  auto leaf = pki::load_certs(a->cert);
  EXPECT_EQ(verify(leaf->front().get(), site.root.get(), site.intermediate->cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  // the same device again (any spelling of its MAC): refused, the first key stays
  std::string key_before = testutil::slurp(a->key);
  d.id = "00-1a-2b-3c-4d-5e";
  EXPECT_EQ(pki::issue_device(site, d).error().code, "pki-exists");
  EXPECT_EQ(testutil::slurp(a->key), key_before);
  d.overwrite = pki::Overwrite::kForce;
  auto b = pki::issue_device(site, d);
  ASSERT_TRUE(b.ok());
  EXPECT_NE(testutil::slurp(b->key), key_before);
  EXPECT_NE(b->info.serial_hex, a->info.serial_hex);
  EXPECT_EQ(mode_of(b->key), 0600u);

  pki::DeviceOptions client_only;
  client_only.id = "00:00:00:00:00:01";
  client_only.server_auth = false;
  auto c = pki::issue_device(site, client_only);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->info.eku_client);
  EXPECT_FALSE(c->info.eku_server);
  EXPECT_EQ(verify(pki::load_certs(c->cert)->front().get(), site.root.get(), site.intermediate->cert.get(), X509_PURPOSE_SSL_SERVER),
            X509_V_ERR_INVALID_PURPOSE);
}

TEST(PkiIssuer, InitNeverOverwritesWithoutForce) {
  TempDir t;
  pki::Site first = init(t, false);
  std::string key_before = testutil::slurp(first.paths.root_key());
  pki::InitOptions o;
  o.dir = t.path();
  o.name = "Second Root";
  auto again = pki::init_site(o);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "pki-exists");
  EXPECT_EQ(testutil::slurp(first.paths.root_key()), key_before);
  o.overwrite = pki::Overwrite::kForce;
  ASSERT_TRUE(pki::init_site(o).ok());
  EXPECT_NE(testutil::slurp(first.paths.root_key()), key_before);
  EXPECT_EQ(mode_of(first.paths.root_key()), 0600u);
  EXPECT_EQ(pki::inspect(pki::open_site(t.path())->root.get()).common_name, "Second Root");
}

TEST(PkiIssuer, LeafNeverOutlivesItsCa) {
  auto ca = pki::make_root_ca("short CA", 10);
  ASSERT_TRUE(ca.ok());
  pki::LeafSpec spec;
  spec.common_name = "leaf";
  spec.days = 400;
  auto leaf = pki::make_leaf(spec, *ca);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(pki::inspect(leaf->cert.get()).not_after, pki::inspect(ca->cert.get()).not_after);
}

TEST(PkiIssuer, ListFlagsExpiringAndExpired) {
  TempDir t;
  pki::Site site = init(t, false);
  pki::DeviceOptions d;
  d.id = "00:00:00:00:00:02";
  d.days = 20;
  ASSERT_TRUE(pki::issue_device(site, d).ok());
  std::time_t now = std::time(nullptr) + 3600;  // an hour later: 19 whole days left
  auto list = pki::list_site(t.path(), now);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);  // ca/root.crt, devices/000000000002.crt
  EXPECT_EQ((*list)[0].status, "ok");
  EXPECT_EQ((*list)[1].status, "expiring");
  EXPECT_EQ((*list)[1].days_left, 19);
  auto later = pki::list_site(t.path(), now + 21 * 86400);
  EXPECT_EQ((*later)[1].status, "expired");
  EXPECT_LT((*later)[1].days_left, 0);
  EXPECT_EQ(pki::list_site(t / "nope", now).error().code, "pki-no-site");
}

TEST(PkiInspect, KeyMatchAndBadFiles) {
  TempDir t;
  pki::Site site = init(t, false);
  pki::DeviceOptions d;
  d.id = "00:00:00:00:00:03";
  auto a = pki::issue_device(site, d);
  ASSERT_TRUE(a.ok());
  auto cert = pki::load_certs(a->cert);
  auto key = pki::load_key(a->key);
  ASSERT_TRUE(cert.ok() && key.ok());
  EXPECT_TRUE(pki::key_matches(cert->front().get(), key->get()));
  EXPECT_FALSE(pki::key_matches(cert->front().get(), site.signer.key.get()));
  testutil::write(t / "junk.pem", "not a certificate\n");
  EXPECT_EQ(pki::load_certs(t / "junk.pem").error().code, "pki-parse");
  EXPECT_EQ(pki::load_key(t / "junk.pem").error().code, "pki-parse");
  EXPECT_EQ(pki::load_certs(t / "missing.pem").error().code, "pki-io");
  EXPECT_EQ(pki::open_site(t / "empty").error().code, "pki-no-site");
}
