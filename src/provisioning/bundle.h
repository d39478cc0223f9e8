// A provisioning bundle as the server serves it: one POSIX ustar archive of the folder
// `exphone pki fleet` writes per device (exphone.toml, device.crt, device.key, ca.pem).
// Read with a small bounded parser: flat regular files only, checked header checksums,
// the end-of-archive block required (a truncated download is rejected).
#pragma once

#include <ctime>
#include <map>
#include <string>
#include <string_view>

#include "core/result.h"
#include "phone/config.h"

namespace exphone::provisioning {

inline constexpr std::size_t kMaxBundleFiles = 16;
inline constexpr std::size_t kMaxBundleFileBytes = 1u << 20;

struct Bundle {
  std::map<std::string, std::string> files;  // file name -> contents
};

// Errors: bundle-format (not a ustar archive, bad checksum, unsupported entry, bad name),
// bundle-truncated (cut short), bundle-too-large.
Result<Bundle> parse_bundle(std::string_view tar);

// A flat file name: [A-Za-z0-9._-], 1..64 characters, not starting with '.'.
bool valid_bundle_name(std::string_view name);

// Validation before anything is applied: exphone.toml present and accepted by the phone's own
// loader (relative paths resolved against gen_dir, the folder the bundle will live in); every
// certificate and key it names (tls.client_cert/client_key/ca_files, provisioning.*) parses,
// taken from the bundle when it lies in gen_dir, else from disk; the key matches the
// certificate, which is valid at `now` (the trusted time; 0 = the system clock).
// Errors: bundle-invalid (no config, missing file), bundle-config (parse_config's message),
// bundle-cert, bundle-key, bundle-key-mismatch.
Result<phone::Config> validate_bundle(const Bundle& b, const std::string& gen_dir, std::time_t now = 0);

}  // namespace exphone::provisioning
