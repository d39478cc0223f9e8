// What the admin pages change (docs/config.md [web]): the SIP account, the trusted CA list and the
// key export switches. Each action edits the config file through phone/config_edit.h (validated
// like the file, written atomically, FILE.prev kept); the daemon then restarts on it (same PID).
// Reads never return a password or a private key.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "phone/config_edit.h"
#include "tools/pki/inspect.h"

namespace exphone::web {

// The accounts and the device-wide media security of the config: what the account page shows.
// "password_set" instead of the password.
nlohmann::ordered_json accounts_json(const phone::Config& c);
// Errors: config, config-edit, config-io.
Status apply_account(const std::string& config_path, const phone::AccountChange& change);

// An uploaded trusted CA: PEM (a root with its intermediates: at most 8) or DER (one), every one
// with basicConstraints cA=TRUE: a server's own certificate (often sent with its chain) is the
// classic mistake and is refused. Errors: web-not-certificate, web-not-ca.
Result<std::vector<pki::CertPtr>> parse_ca_upload(std::string_view bytes);
// Writes the CA(s) as CONFIGDIR/trusted-ca-<first one's fingerprint prefix>.pem and adds the file to
// [tls] ca_files. Returns the first one's description (file, subject, issuer, validity, fingerprint).
Result<nlohmann::ordered_json> add_trusted_ca(const std::string& config_path, std::string_view bytes);
// Removes `file` (as the config names it) from [tls] ca_files; the file itself stays.
Status remove_trusted_ca(const std::string& config_path, const std::string& file);
// Every file of [tls] ca_files with each certificate's description (or the error reading it),
// and the device certificate.
nlohmann::ordered_json certificates_json(const std::string& config_path);

// The phone makes its own key: a new EC P-256 key kept as CONFIGDIR/device-csr.key (0600) and a
// PKCS#10 request for it (PEM) to take to the site CA. Errors: pki-csr, config-io.
Result<std::string> generate_csr(const std::string& config_path, const std::string& common_name);
// The device certificate for mutual TLS: PEM (the leaf first, its chain after it), with its key
// (PEM, unencrypted) or, without one, for the key of the last generate_csr. The key must match
// the certificate; a CA certificate is refused. Written as CONFIGDIR/device-<fingerprint prefix>.crt
// and .key (0600) and set as [tls] client_cert / client_key. Returns the leaf's description.
// Errors: web-not-certificate, web-bad-key, web-key-mismatch, config, config-io.
Result<nlohmann::ordered_json> install_device_certificate(const std::string& config_path, std::string_view cert_pem,
                                                          std::string_view key_pem);

// Key export ([diagnostics] tls_keylog_file / srtp_keylog_file) on: CONFIGDIR/tls-keys.log and
// CONFIGDIR/srtp-keys.log; off: both removed from the config.
Status set_key_export(const std::string& config_path, bool on);

// The audit of the config file (tools/audit): {"errors", "warnings", "findings": [...]}.
nlohmann::ordered_json audit_json(const std::string& config_path);

}  // namespace exphone::web
