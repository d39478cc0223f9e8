// The admin page's changes (web/admin.h, phone/config_edit.h) and its form parser (web/multipart.h):
// a change either loads whole and is written atomically with FILE.prev, or nothing is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "phone/config_edit.h"
#include "tools/pki/issuer.h"
#include "web/admin.h"
#include "web/multipart.h"

using namespace exphone;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string pem_of(X509* x) { return pki::cert_pem(x); }

std::string der_of(X509* x) {
  unsigned char* d = nullptr;
  int n = i2d_X509(x, &d);
  std::string out(reinterpret_cast<char*>(d), static_cast<std::size_t>(n));
  OPENSSL_free(d);
  return out;
}

struct Dir {
  std::string path = (fs::temp_directory_path() / ("exphone-admin-" + std::to_string(::getpid()))).string();
  std::string config = path + "/phone.toml";
  Dir() {
    fs::create_directories(path);
    std::ofstream(config) << "# hand-written\n[[account]]\nuser = \"1001\"\npassword = \"s3cret\"\ndomain = \"plant.local\"\n"
                             "registrar = \"sip:10.0.0.1\"\ntransport = \"udp\"\n[phone]\nsrtp = \"optional\"\n";
  }
  ~Dir() { fs::remove_all(path); }
};

}  // namespace

TEST(ConfigEdit, AccountChangeKeepsThePasswordAndWritesAtomically) {
  Dir d;
  phone::AccountChange c;
  c.registrar = "sip:pbx.plant.local";
  c.domain = "plant.local";
  c.user = "1002";
  c.transport = "tcp";
  c.srtp = "mandatory";
  ASSERT_TRUE(web::apply_account(d.config, c));
  auto loaded = phone::load_config(d.config);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->accounts[0].user, "1002");
  EXPECT_EQ(loaded->accounts[0].password, "s3cret");  // no password given: kept
  // the account's own policy; [phone]'s (the device default, for peer-to-peer calls) stays
  EXPECT_EQ(loaded->media_for(0).srtp, ua::SrtpPolicy::kMandatory);
  EXPECT_EQ(loaded->media.srtp, ua::SrtpPolicy::kOptional);
  struct stat st {};
  ASSERT_EQ(::stat(d.config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(slurp(d.config + ".prev").find("# hand-written"), std::string::npos);
  EXPECT_NE(slurp(d.config).find("# hand-written"), std::string::npos);  // only the changed lines were rewritten
  auto j = web::accounts_json(*loaded);
  EXPECT_EQ(j["accounts"][0]["transport"], "tcp");
  EXPECT_EQ(j["accounts"][0]["password_set"], true);
  EXPECT_EQ(j["accounts"][0]["srtp"], "mandatory");
  EXPECT_EQ(j["accounts"][0]["key_exchange"], "");  // follows [phone]
  EXPECT_EQ(j["accounts"][0]["effective_key_exchange"], "auto");
  EXPECT_EQ(j["srtp"], "optional");
  EXPECT_EQ(j.dump().find("s3cret"), std::string::npos);
  // an empty policy removes the account's own: it follows [phone] again
  c.srtp = "";
  ASSERT_TRUE(web::apply_account(d.config, c));
  loaded = phone::load_config(d.config);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->media_for(0).srtp, ua::SrtpPolicy::kOptional);
  EXPECT_EQ(slurp(d.config).find("mandatory"), std::string::npos);
}

TEST(ConfigEdit, WhatDoesNotLoadOrCannotStartIsNeverWritten) {
  Dir d;
  const std::string before = slurp(d.config);
  phone::AccountChange bad;
  bad.domain = "plant.local";
  bad.user = "1001";
  bad.transport = "carrier-pigeon";
  auto s = web::apply_account(d.config, bad);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "config");
  // Loads, but the daemon could not start on it: TLS without trust anchors.
  phone::AccountChange tls;
  tls.registrar = "sips:pbx.plant.local";
  tls.domain = "plant.local";
  tls.user = "1001";
  auto t = web::apply_account(d.config, tls);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, "tls-config");
  phone::AccountChange nobody;
  nobody.index = 3;
  EXPECT_EQ(web::apply_account(d.config, nobody).error().code, "config-edit");
  EXPECT_EQ(slurp(d.config), before);
  EXPECT_FALSE(fs::exists(d.config + ".prev"));
}

TEST(TrustedCa, OnlyCaCertificatesPemOrDer) {
  Dir d;
  auto ca = pki::make_root_ca("Plant Root CA", 365);
  ASSERT_TRUE(ca);
  pki::LeafSpec spec;
  spec.common_name = "pbx.plant.local";
  auto leaf = pki::make_leaf(spec, *ca);
  ASSERT_TRUE(leaf);
  EXPECT_EQ(web::parse_ca_upload(pem_of(leaf->cert.get())).error().code, "web-not-ca");
  EXPECT_EQ(web::parse_ca_upload(pem_of(leaf->cert.get()) + pem_of(ca->cert.get())).error().code, "web-not-ca");  // a server chain
  EXPECT_EQ(web::parse_ca_upload("").error().code, "web-not-certificate");
  EXPECT_EQ(web::parse_ca_upload("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").error().code, "web-not-certificate");
  EXPECT_EQ(web::parse_ca_upload(der_of(ca->cert.get()) + "x").error().code, "web-not-certificate");  // trailing bytes
  EXPECT_EQ(web::parse_ca_upload(der_of(leaf->cert.get())).error().code, "web-not-ca");

  auto added = web::add_trusted_ca(d.config, der_of(ca->cert.get()));
  ASSERT_TRUE(added) << added.error().message;
  const std::string file = (*added)["file"];
  EXPECT_EQ(file.rfind("trusted-ca-", 0), 0u);
  auto c = phone::load_config(d.config);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->transport.tls.ca_files.size(), 1u);
  EXPECT_EQ(c->transport.tls.ca_files[0], fs::canonical(d.path).string() + "/" + file);
  auto listed = web::certificates_json(d.config);
  EXPECT_EQ(listed["trusted_cas"][0]["certificates"][0]["subject"], (*added)["subject"]);
  EXPECT_TRUE(listed["trusted_cas"][0]["certificates"][0]["is_ca"].get<bool>());
  ASSERT_TRUE(web::add_trusted_ca(d.config, pem_of(ca->cert.get())));  // the same again: listed once
  EXPECT_EQ(phone::load_config(d.config)->transport.tls.ca_files.size(), 1u);
  ASSERT_TRUE(web::remove_trusted_ca(d.config, file));
  EXPECT_TRUE(phone::load_config(d.config)->transport.tls.ca_files.empty());
  EXPECT_EQ(web::remove_trusted_ca(d.config, file).error().code, "config-edit");
}

// A change refused after its files were written (here: FILE.prev cannot be written) leaves
// nothing new beside the config; a file that was already there stays.
TEST(TrustedCa, ARefusedChangeLeavesNoNewFiles) {
  Dir d;
  auto ca = pki::make_root_ca("Plant Root CA", 365);
  ASSERT_TRUE(ca);
  auto listing = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(d.path)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  fs::create_directories(d.config + ".prev");  // the save fails after the CA file was written
  const auto before = listing();
  auto added = web::add_trusted_ca(d.config, pem_of(ca->cert.get()));
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, "config-io");
  EXPECT_EQ(listing(), before);

  pki::LeafSpec spec;
  spec.common_name = "phone-0001";
  auto leaf = pki::make_leaf(spec, *ca);
  ASSERT_TRUE(leaf);
  auto installed = web::install_device_certificate(d.config, pki::cert_pem(leaf->cert.get()), pki::key_pem(leaf->key.get()));
  ASSERT_FALSE(installed);
  EXPECT_EQ(listing(), before);

  fs::remove(d.config + ".prev");
  ASSERT_TRUE(web::add_trusted_ca(d.config, pem_of(ca->cert.get())));
  fs::remove(d.config + ".prev");  // the file the save kept
  fs::create_directories(d.config + ".prev");
  const auto with_ca = listing();
  EXPECT_FALSE(web::add_trusted_ca(d.config, pem_of(ca->cert.get())));  // the same CA again, refused
  EXPECT_EQ(listing(), with_ca);  // its file was there before: kept
}

TEST(KeyExport, OnAndOff) {
  Dir d;
  ASSERT_TRUE(web::set_key_export(d.config, true));
  auto c = phone::load_config(d.config);
  ASSERT_TRUE(c);
  EXPECT_EQ(fs::path(c->transport.tls.keylog_file).filename(), "tls-keys.log");
  EXPECT_EQ(fs::path(c->srtp_keylog_file).filename(), "srtp-keys.log");
  ASSERT_TRUE(web::set_key_export(d.config, false));
  c = phone::load_config(d.config);
  EXPECT_TRUE(c->transport.tls.keylog_file.empty());
  EXPECT_TRUE(c->srtp_keylog_file.empty());
  EXPECT_EQ(slurp(d.config).find("diagnostics"), std::string::npos);
}

TEST(Multipart, WhatBrowsersSend) {
  auto b = web::multipart_boundary("multipart/form-data; boundary=----WebKitFormBoundaryAbC123");
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "----WebKitFormBoundaryAbC123");
  EXPECT_EQ(*web::multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(web::multipart_boundary("application/x-www-form-urlencoded"));
  EXPECT_FALSE(web::multipart_boundary("multipart/form-data"));
  static const char raw[] =
      "preamble\r\n------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n0123\r\n"
      "------WebKitFormBoundaryAbC123\r\nContent-Disposition: form-data; name=\"ca\"; filename=\"root.der\"\r\n"
      "Content-Type: application/x-x509-ca-cert\r\n\r\n\x30\x82\r\n\x00\x01\r\n------WebKitFormBoundaryAbC123--\r\nepilogue";
  const std::string body(raw, sizeof raw - 1);  // NUL inside
  auto parts = web::parse_multipart(body, *b);
  ASSERT_TRUE(parts) << parts.error().message;
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ(web::find_part(*parts, "csrf")->data, "0123");
  const auto* ca = web::find_part(*parts, "ca");
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->filename, "root.der");
  EXPECT_EQ(ca->content_type, "application/x-x509-ca-cert");
  EXPECT_EQ(ca->data, std::string("\x30\x82\r\n\x00\x01", 6));  // binary, CRLF inside kept
  for (const std::string& bad :
       {std::string("no boundary here"), std::string("--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"),
        std::string("--B\r\nX: y\r\n\r\ndata\r\n--B--"), std::string("--B\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nd\r\n--B--"),
        std::string("--Bjunk")}) {
    auto r = web::parse_multipart(bad, "B");
    EXPECT_FALSE(r) << bad;
    if (!r) EXPECT_EQ(r.error().code, "web-bad-form");
  }
  std::string many;
  for (int i = 0; i < 9; ++i) many += "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n";
  many += "--B--";
  EXPECT_FALSE(web::parse_multipart(many, "B"));
}

namespace {

// What the site CA does with the phone's CSR (openssl x509 -req): a leaf for the requested key.
std::string sign_csr(const std::string& csr_pem, const pki::Issued& ca) {
  BIO* b = BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(b, nullptr, nullptr, nullptr);
  BIO_free(b);
  EXPECT_NE(req, nullptr);
  EVP_PKEY* pub = X509_REQ_get0_pubkey(req);
  EXPECT_EQ(X509_REQ_verify(req, pub), 1);  // signed with the key it asks for
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get()));
  X509_set_subject_name(x, X509_REQ_get_subject_name(req));
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, pub);
  X509_sign(x, ca.key.get(), EVP_sha256());
  std::string pem = pki::cert_pem(x);
  X509_free(x);
  X509_REQ_free(req);
  return pem;
}

}  // namespace

TEST(DeviceCertificate, CsrMadeOnThePhoneThenTheSignedCertificateWithoutAKey) {
  Dir d;
  auto ca = pki::make_root_ca("Plant Root CA", 365);
  ASSERT_TRUE(ca);
  EXPECT_EQ(web::generate_csr(d.config, "").error().code, "pki-csr");
  auto csr = web::generate_csr(d.config, "phone-1001");
  ASSERT_TRUE(csr) << csr.error().message;
  EXPECT_EQ(csr->rfind("-----BEGIN CERTIFICATE REQUEST-----", 0), 0u);
  EXPECT_EQ(csr->find("PRIVATE KEY"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((d.path + "/device-csr.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string cert = sign_csr(*csr, *ca);

  // someone else's certificate is not taken for this key
  pki::LeafSpec spec;
  spec.common_name = "other";
  auto other = pki::make_leaf(spec, *ca);
  ASSERT_TRUE(other);
  EXPECT_EQ(web::install_device_certificate(d.config, pki::cert_pem(other->cert.get()), "").error().code, "web-key-mismatch");
  EXPECT_EQ(web::install_device_certificate(d.config, cert, pki::key_pem(other->key.get())).error().code, "web-key-mismatch");
  EXPECT_EQ(web::install_device_certificate(d.config, pki::cert_pem(ca->cert.get()), "").error().code, "web-not-certificate");
  EXPECT_EQ(web::install_device_certificate(d.config, cert, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").error().code,
            "web-bad-key");

  auto installed = web::install_device_certificate(d.config, cert, "");
  ASSERT_TRUE(installed) << installed.error().message;
  auto c = phone::load_config(d.config);
  ASSERT_TRUE(c);
  EXPECT_EQ(fs::path(c->transport.tls.client_cert).filename(), (*installed)["file"].get<std::string>());
  auto key = pki::load_key(c->transport.tls.client_key);
  ASSERT_TRUE(key);
  auto certs = pki::load_certs(c->transport.tls.client_cert);
  ASSERT_TRUE(certs);
  EXPECT_TRUE(pki::key_matches((*certs)[0].get(), key->get()));
  ASSERT_EQ(::stat(c->transport.tls.client_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(d.path + "/device-csr.key"));  // it is the device key now
  auto listed = web::certificates_json(d.config);
  EXPECT_NE(listed["device_certificate"]["certificates"][0]["subject"].get<std::string>().find("phone-1001"), std::string::npos);
  EXPECT_EQ(listed.dump().find("PRIVATE"), std::string::npos);

  // and a certificate uploaded with its own key
  auto own = web::install_device_certificate(d.config, pki::cert_pem(other->cert.get()) + pki::cert_pem(ca->cert.get()),
                                             pki::key_pem(other->key.get()));
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_EQ(phone::load_config(d.config)->transport.tls.client_cert.find("device-"), c->transport.tls.client_cert.find("device-"));
}
