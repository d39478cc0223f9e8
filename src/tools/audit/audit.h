// `exphone audit`: lints a device config (docs/config.md) against the security rules of
// `advise` and reports findings — id, severity, the config line, the risk in one sentence and
// the fix. Certificate files the config names are loaded and checked for real (libcrypto).
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "tools/advise/advise.h"

namespace exphone::audit {

enum class Severity { kError, kWarning, kInfo };
std::string_view to_string(Severity s);

struct Finding {
  std::string id;        // stable: "tls-verify-off", "sdes-without-tls", "ca-expired", ...
  Severity severity = Severity::kWarning;
  int line = 0;          // 1-based line in the config; 0 = not tied to a line (a default value)
  std::string key;       // "tls.verify_server", "account[0].transport", ... ("" = the whole file)
  std::string risk;      // one sentence
  std::string fix;
};

struct Options {
  std::optional<advise::Network> network;
  std::time_t now = 0;   // 0 = the current time
  long warn_days = 30;   // certificates expiring sooner are warnings
  // Where this host's time sync is configured (chrony, ntpd, systemd-timesyncd); checked when the
  // config uses TLS. assume_ntp: the device image syncs time (skip the host check).
  std::vector<std::string> time_sync_files = default_time_sync_files();
  bool assume_ntp = false;
  static std::vector<std::string> default_time_sync_files();
};

struct Report {
  std::string source;
  std::optional<advise::Network> network;
  std::vector<Finding> findings;  // errors first, then warnings, then infos; by line within each
  int errors = 0, warnings = 0, infos = 0;
};

// file_mode: the config file's st_mode when it is a file (for the "passwords readable by others"
// rule); base_dir resolves relative file names as the loader does.
Report audit_text(std::string_view text, const std::string& base_dir, const std::string& source, const Options& o,
                  std::optional<unsigned> file_mode = std::nullopt);
// Errors only when the file cannot be read at all (code "audit-io").
Result<Report> audit_file(const std::string& path, const Options& o);

// The TLS <= 1.2 cipher list (OpenSSL syntax) and the TLS 1.3 suites, judged: findings without a
// line (the caller adds it). Uses libssl to expand the list exactly as the phone's TLS stack does.
std::vector<Finding> check_ciphers(const std::string& ciphers, const std::string& ciphersuites);

// Is a time source configured in any of these files (chrony/ntpd "server"/"pool" lines,
// timesyncd "NTP=" with a value)?
bool time_sync_configured(const std::vector<std::string>& files);

}  // namespace exphone::audit
