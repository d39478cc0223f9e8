// Fuzzes what a provisioning server sends (docs/provisioning.md): the ustar bundle parser and,
// for archives it accepts, the full validation before apply (the config through the phone's own
// loader, certificates and keys parsed from the bundle's PEM). Nothing may crash or leak; the
// parser's limits (file count, file size, flat names) must hold for every accepted archive.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "provisioning/bundle.h"

using namespace exphone;

namespace {
[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "provisioning_bundle fuzz invariant broken: %s\n", what);
  std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto b = provisioning::parse_bundle(in);
  if (!b) {
    if (b.error().code.empty()) fail("error without a code");
    return 0;
  }
  if (b->files.empty() || b->files.size() > provisioning::kMaxBundleFiles) fail("file count limit");
  for (const auto& [name, content] : b->files) {
    if (!provisioning::valid_bundle_name(name)) fail("accepted a name that is not flat");
    if (content.size() > provisioning::kMaxBundleFileBytes) fail("file size limit");
  }
  // Files the config names relative to the generation come from the bundle, never from disk.
  auto cfg = provisioning::validate_bundle(*b, "/nonexistent/exphone-fuzz/provisioned/g1");
  if (!cfg && cfg.error().code.empty()) fail("validation error without a code");
  return 0;
}
