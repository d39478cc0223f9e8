// [paging] / [[paging.group]] parsing and the group key file (docs/paging.md).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "phone/config.h"
#include "phone/paging_key.h"

using namespace exphone;
using phone::PagePriority;
using phone::parse_config;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/exphone-paging-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& text, int mode = 0600) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    ::chmod(p.c_str(), static_cast<mode_t>(mode));
    return p;
  }
  std::string path;
};

std::string good_key(const TempDir& d, const std::string& name = "group.key") {
  auto key = media::SrtpKey::generate(media::SrtpSuite::kAesCm128HmacSha1_80);
  EXPECT_TRUE(key.ok());
  return d.file(name, phone::format_paging_key(*key));
}

std::string err(const std::string& toml, const std::string& dir) {
  auto c = parse_config(toml, dir, "phone.toml");
  EXPECT_FALSE(c.ok()) << toml;
  return c ? std::string() : c.error().message;
}

}  // namespace

TEST(PagingConfig, Groups) {
  TempDir d;
  good_key(d);
  auto c = parse_config(R"(
[paging]
hold_calls_from = "emergency"
end_after_ms = 1500
record_dir = "pages"

[[paging.group]]
name = "plant-alarm"
address = "239.255.1.1:5004"
codec = "G722"
priority = "emergency"
key_file = "group.key"
interface = "127.0.0.1"
volume = 90

[[paging.group]]
address = "[ff05::1:3]:5006"
codec = "PCMA"
secure = false
)",
                        d.path, "phone.toml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& p = c->paging;
  ASSERT_EQ(p.groups.size(), 2u);
  EXPECT_EQ(p.hold_calls_from, PagePriority::kEmergency);
  EXPECT_EQ(p.end_after.count(), 1500);
  EXPECT_EQ(p.record_dir, d.path + "/pages");
  const auto& a = p.groups[0];
  EXPECT_EQ(a.name, "plant-alarm");
  EXPECT_EQ(a.address, "239.255.1.1");
  EXPECT_EQ(a.port, 5004);
  EXPECT_EQ(a.codec, "G722");
  EXPECT_EQ(a.payload_type, 9);
  EXPECT_EQ(a.priority, PagePriority::kEmergency);
  EXPECT_TRUE(a.secure);
  ASSERT_TRUE(a.key.has_value());
  EXPECT_EQ(a.key->master_key_salt.size(), 30u);
  EXPECT_EQ(a.volume, 90);
  const auto& b = p.groups[1];
  EXPECT_EQ(b.name, "[ff05::1:3]:5006");
  EXPECT_EQ(b.address, "ff05::1:3");
  EXPECT_EQ(b.port, 5006);
  EXPECT_EQ(b.payload_type, 8);
  EXPECT_EQ(b.priority, PagePriority::kNormal);
  EXPECT_FALSE(b.secure);
  EXPECT_FALSE(b.key.has_value());
}

TEST(PagingConfig, Defaults) {
  auto c = parse_config("[paging]\n", "/tmp", "phone.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->paging.hold_calls_from, PagePriority::kHigh);
  EXPECT_EQ(c->paging.end_after.count(), 2000);
  EXPECT_TRUE(c->paging.groups.empty());
  auto off = parse_config("[paging]\nhold_calls_from = \"off\"\n", "/tmp", "phone.toml");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->paging.hold_calls_from.has_value());
}

TEST(PagingConfig, Errors) {
  TempDir d;
  good_key(d);
  const std::string g = "[[paging.group]]\n";
  struct Case { std::string toml, message; };
  const Case cases[] = {
      {g + "address = \"10.0.0.1:5004\"\nsecure = false\n", "phone.toml:2: paging.group[0].address: '10.0.0.1' is not a multicast group"},
      {g + "address = \"239.1.1.1\"\nsecure = false\n", "phone.toml:2: paging.group[0].address must be GROUP:PORT"},
      {g + "address = \"239.1.1.1:0\"\nsecure = false\n", "port must be 1..65535"},
      {g + "address = \"239.1.1.1:99999\"\nsecure = false\n", "port must be 1..65535"},
      {g + "address = \"ff05::1:5004\"\nsecure = false\n", "must be GROUP:PORT"},
      {g + "secure = false\n", "paging.group[0].address is required"},
      {g + "address = \"239.1.1.1:5004\"\n", "a secure group needs key_file"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\nkey_file = \"group.key\"\n", "phone.toml:4: paging.group[0].key_file is set but secure = false"},
      {g + "address = \"239.1.1.1:5004\"\nkey_file = \"missing.key\"\n", "missing.key: cannot open"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\ncodec = \"GSM\"\n", "codec must be PCMU, PCMA, G722 or opus"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\npriority = \"urgent\"\n", "phone.toml:4: paging.group[0].priority must be"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\nvolume = 150\n", "volume must be between 0 and 100"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\ninterface = \"lo\"\n", "interface must be a local IPv4 address"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\nttl = 3\n", "phone.toml:4: unknown key 'ttl' in paging.group[0]"},
      {g + "address = \"239.1.1.1:5004\"\nsecure = false\n" + g + "address = \"239.1.1.1:5004\"\nsecure = false\n", "configured twice"},
      {"[paging]\nhold_calls_from = \"always\"\n", "phone.toml:2: paging.hold_calls_from must be"},
      {"[paging]\nend_after_ms = 10\n", "end_after_ms must be between 100 and 60000"},
      {"[paging]\ngroup = 3\n", "[[paging.group]] tables"},
  };
  for (const auto& c : cases) EXPECT_NE(err(c.toml, d.path).find(c.message), std::string::npos) << c.toml << " -> " << err(c.toml, d.path);
}

TEST(PagingKey, ParseAndRoundTrip) {
  auto key = media::SrtpKey::generate(media::SrtpSuite::kAeadAes128Gcm);
  ASSERT_TRUE(key.ok());
  auto back = phone::parse_paging_key(phone::format_paging_key(*key), "k");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->suite, media::SrtpSuite::kAeadAes128Gcm);
  EXPECT_EQ(back->master_key_salt, key->master_key_salt);
}

TEST(PagingKey, Errors) {
  auto e = [](const std::string& text) {
    auto k = phone::parse_paging_key(text, "k");
    EXPECT_FALSE(k.ok()) << text;
    return k ? std::string() : k.error().code + ": " + k.error().message;
  };
  const std::string b30 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";  // 30 bytes
  EXPECT_NE(e("suite = \"AES_CM_128_HMAC_SHA1_80\"\n").find("key is required"), std::string::npos);
  EXPECT_NE(e("key = \"" + b30 + "\"\n").find("suite is required"), std::string::npos);
  EXPECT_NE(e("suite = \"F8_128_HMAC_SHA1_80\"\nkey = \"" + b30 + "\"\n").find("unknown SRTP suite"), std::string::npos);
  EXPECT_NE(e("suite = \"AES_CM_128_HMAC_SHA1_80\"\nkey = \"!!!\"\n").find("not valid base64"), std::string::npos);
  EXPECT_NE(e("suite = \"AEAD_AES_128_GCM\"\nkey = \"" + b30 + "\"\n").find("paging-key: k:"), std::string::npos);  // 28 needed
  EXPECT_NE(e("suite = \"AES_CM_128_HMAC_SHA1_80\"\nkey = \"" + b30 + "\"\nssrc = 5\n").find("k:3: unknown key 'ssrc'"),
            std::string::npos);
  EXPECT_NE(e("suite = [\n").find("paging-key: k:"), std::string::npos);
}

TEST(PagingKey, FileModeAndNoOverwrite) {
  TempDir d;
  auto key = media::SrtpKey::generate(media::SrtpSuite::kAesCm128HmacSha1_80);
  ASSERT_TRUE(key.ok());
  const std::string p = d.path + "/new.key";
  ASSERT_TRUE(phone::write_paging_key(p, *key).ok());
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = phone::write_paging_key(p, *key);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("exists"), std::string::npos);
  auto loaded = phone::load_paging_key(p);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->master_key_salt, key->master_key_salt);
  ::chmod(p.c_str(), 0644);
  auto open = phone::load_paging_key(p);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.error().message.find("readable by others"), std::string::npos);
}
