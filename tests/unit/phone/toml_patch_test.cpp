#include "phone/toml_patch.h"

#include <gtest/gtest.h>

using exphone::phone::patch_toml_text;

namespace {

const char* kConfig = R"(# Pump house 3, north wall. Ask J. Smith before changing anything.
[[account]]
user = "1001"       # the control room extension
password = "s3cret"
domain = "plant.local"
transport = "udp"

[[account]]
user = "2001"
domain = "webrtc.plant.local"

[tls]
# the site root, renewed 2026
ca_files = ["root.pem"]

[phone]
srtp = "optional"   # TODO: mandatory once the PBX is upgraded
)";

// The edit the web page makes, then what the patched text parses to.
std::string patched(const std::function<void(toml::table&)>& edit, const char* text = kConfig) {
  toml::table before = toml::parse(text);
  toml::table after = before;
  edit(after);
  auto out = patch_toml_text(text, before, after);
  if (!out) return "<not patched>";
  toml::table again = toml::parse(*out);
  EXPECT_EQ(again, after) << *out;
  return *out;
}

}  // namespace

TEST(TomlPatch, KeepsCommentsWhenKeysChange) {
  std::string out = patched([](toml::table& t) {
    auto* a = t["account"].as_array()->get(0)->as_table();
    a->insert_or_assign("transport", "tls");
    a->insert_or_assign("registrar", "sips:pbx.plant.local");
    a->insert_or_assign("srtp", "mandatory");
    t["account"].as_array()->get(1)->as_table()->insert_or_assign("key_exchange", "dtls");
    t["tls"].as_table()->get("ca_files")->as_array()->push_back("trusted-ca-0011.pem");
  });
  EXPECT_NE(out.find("# Pump house 3, north wall."), std::string::npos) << out;
  EXPECT_NE(out.find("# the site root, renewed 2026"), std::string::npos) << out;
  EXPECT_NE(out.find("# TODO: mandatory once the PBX is upgraded"), std::string::npos) << out;
  EXPECT_NE(out.find("transport = \"tls\"\n"), std::string::npos) << out;
  EXPECT_NE(out.find("ca_files = [ \"root.pem\", \"trusted-ca-0011.pem\" ]"), std::string::npos) << out;
  // new keys go after the last key of their own [[account]], not into the next one
  EXPECT_LT(out.find("srtp = \"mandatory\""), out.find("user = \"2001\"")) << out;
  EXPECT_GT(out.find("key_exchange = \"dtls\""), out.find("user = \"2001\"")) << out;
}

TEST(TomlPatch, RemovesKeysAndAddsTables) {
  std::string out = patched([](toml::table& t) {
    t["account"].as_array()->get(0)->as_table()->erase("password");
    toml::table diag;
    diag.insert("tls_keylog_file", "tls-keys.log");
    t.insert("diagnostics", diag);
  });
  EXPECT_EQ(out.find("s3cret"), std::string::npos) << out;
  EXPECT_NE(out.find("user = \"1001\"       # the control room extension"), std::string::npos) << out;  // untouched line
  EXPECT_NE(out.find("[diagnostics]\ntls_keylog_file = \"tls-keys.log\"\n"), std::string::npos) << out;
}

TEST(TomlPatch, FallsBackWhenItCannotWriteTheChangeExactly) {
  // a value over several lines, and an [[account]] added: the caller rewrites the whole file
  const char* multi = "[tls]\nca_files = [\n  \"a.pem\",\n]\n";
  EXPECT_EQ(patched([](toml::table& t) { t["tls"].as_table()->get("ca_files")->as_array()->push_back("b.pem"); }, multi),
            "<not patched>");
  EXPECT_EQ(patched([](toml::table& t) {
              toml::table a;
              a.insert("user", "3001");
              t["account"].as_array()->push_back(a);
            }),
            "<not patched>");
  // nothing changed: the text as it was
  EXPECT_EQ(patched([](toml::table&) {}), kConfig);
}
