// Changing the device config from the phone itself (the web admin page, docs/web.md): a change is
// made on the TOML document, the result is loaded exactly like the config file (parse_config),
// and only a config that loads whole is written, atomically (core/durable_file.h), the previous
// one kept as FILE.prev. Comments in the file are not kept: a file edited here is machine-written.
#pragma once

#include <functional>
#include <toml++/toml.h>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "phone/config.h"

namespace exphone::phone {

// The config file as it is now: its real path (symlinks resolved), text and folder.
struct ConfigDocument {
  std::string path;      // as given
  std::string real_path; // what it names
  std::string base_dir;  // where relative file names resolve
  std::string text;
};
// Errors: config-io.
Result<ConfigDocument> read_config_document(const std::string& path);

// Apply `change` to the document and load the result like the config file, then build the TLS
// contexts the daemon would build from it. Errors: config (the result does not load; the message
// names what), tls-config (it loads but the daemon could not start on it, e.g. a TLS account
// without trust anchors), config-edit (what `change` returned).
using TomlChange = std::function<Status(toml::table&)>;
Result<std::string> edit_config(const ConfigDocument& doc, const TomlChange& change);

// Does any account register over TLS (the daemon then needs a TLS client context)?
bool needs_tls_client(const Config& c);

// Writes an edited text over doc.real_path (mode 0600), keeping the old file as real_path.prev.
// The text is loaded once more first: nothing that does not load is ever written. Errors: config,
// config-io.
Status save_config(const ConfigDocument& doc, const std::string& text);

// What the account page changes. Empty strings mean "remove the key" (its default applies),
// except password: nullopt keeps the stored one, "" removes it.
struct AccountChange {
  std::size_t index = 0;
  std::string registrar, domain, user, auth_user, transport;
  std::optional<std::string> password;
  std::string srtp, key_exchange;  // the account's own; "" = [phone]'s (the device default)
};
TomlChange account_change(const AccountChange& c);

// [tls] ca_files: add a file name (kept relative when it is in the config's folder) / remove one.
TomlChange add_ca_file(const std::string& file);
TomlChange remove_ca_file(const std::string& file);
// [tls] client_cert / client_key.
TomlChange set_device_certificate(const std::string& cert_file, const std::string& key_file);
// [tls] keylog_file and [diagnostics] srtp_keylog_file ("" = off).
TomlChange set_key_export(const std::string& tls_keylog_file, const std::string& srtp_keylog_file);
// How the config names a file: relative to its folder when inside it, else as given.
std::string config_relative(const ConfigDocument& doc, const std::string& file);

}  // namespace exphone::phone
