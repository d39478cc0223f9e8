// `exphone pki fleet`: one provisioning bundle per device from a CSV inventory and a config
// template.
//
// CSV (RFC 4180: comma separated, optional "quoted" fields with "" for a quote, CRLF or LF):
// a header row naming the columns, then one row per device. Column `id` (or, without one, `mac`)
// identifies the device; every column can be used in the template as {{column}}. Built-ins:
// {{id}} (normalized id), {{cert_file}}, {{key_file}}, {{ca_file}} (file names inside the bundle).
// Values are escaped for TOML basic strings (the template quotes them: password = "{{password}}").
//
// Bundle OUT/<id>/: device.crt, device.key (0600), ca.pem (the site chain), exphone.toml (0600:
// it carries passwords). Each rendered config is checked with the device's own loader
// (phone::parse_config) before anything is written; the device certificate is also recorded as
// D/devices/<id>.crt so `pki list` shows it and a second run refuses to re-issue it without --force.
//
// Speed: the CA is loaded once and the template split once; per device only a key, a signature
// and four small files. 500 devices take about a second with ECDSA P-256.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/result.h"
#include "tools/pki/site.h"

namespace exphone::pki {

using CsvRow = std::vector<std::string>;
// Errors: pki-csv with "LINE: ..." messages.
Result<std::vector<CsvRow>> parse_csv(std::string_view text);

// A template split into literal text and {{name}} placeholders, once.
class ConfigTemplate {
 public:
  static Result<ConfigTemplate> parse(std::string_view text);
  // Every placeholder must be in vars; values escaped for a TOML basic string.
  Result<std::string> render(const std::map<std::string, std::string>& vars) const;
  std::vector<std::string> names() const;

 private:
  struct Part {
    bool placeholder = false;
    std::string text;  // literal text or the placeholder's name
    int line = 0;
  };
  std::vector<Part> parts_;
};

// TOML basic-string escaping (TOML 1.0 "Basic strings"): \" \\ and control characters.
std::string toml_escape(std::string_view s);

struct FleetOptions {
  std::string dir;       // site PKI
  std::string devices;   // CSV text
  std::string devices_name = "devices.csv";  // for messages
  std::string config_template;               // template text
  std::string out;
  std::optional<long> pen;
  std::optional<KeyType> key;
  long days = 1825;
  Overwrite overwrite = Overwrite::kNever;
};

struct FleetBundle {
  std::string id, dir, serial;
  std::time_t not_after = 0;
};

struct FleetResult {
  std::vector<FleetBundle> bundles;
  double elapsed_ms = 0;
};

Result<FleetResult> issue_fleet(const FleetOptions& o);

}  // namespace exphone::pki
