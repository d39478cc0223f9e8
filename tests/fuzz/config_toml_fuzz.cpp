// Fuzzes the device configuration reader: arbitrary bytes as a TOML file must give a config or
// a clean "config" error, never a crash, hang or leak. A document that parses also goes through
// the web page's line patcher (phone/toml_patch) with the edits the page makes: whatever text it
// returns must parse to exactly the edited document.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "phone/config.h"
#include "phone/toml_patch.h"

namespace {

void check_patch(std::string_view text, const toml::table& before, const toml::table& after) {
  auto out = exphone::phone::patch_toml_text(text, before, after);
  if (!out) return;
  try {
    if (toml::parse(*out) != after) std::abort();
  } catch (const toml::parse_error&) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = exphone::phone::parse_config(text, "/nonexistent", "fuzz.toml");
  if (!c && c.error().code != "config") std::abort();
  toml::table before;
  try {
    before = toml::parse(text);
  } catch (const toml::parse_error&) {
    return 0;
  }
  toml::table after = before;
  if (toml::array* accounts = after["account"].as_array(); accounts && !accounts->empty())
    if (toml::table* a = accounts->get(0)->as_table()) {
      a->insert_or_assign("transport", "tls");
      a->erase("password");
    }
  if (toml::table* tls = after["tls"].as_table()) tls->insert_or_assign("client_cert", "device.crt");
  toml::table diag;
  diag.insert("srtp_keylog_file", "srtp-keys.log");
  after.insert_or_assign("diagnostics", diag);
  check_patch(text, before, after);
  return 0;
}
