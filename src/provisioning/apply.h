// Atomic, power-safe apply of a validated bundle (docs/provisioning.md).
//
// The bundle's files go to a new generation folder DIR/provisioned/g<N>/ (temp folder, every file
// written and fsynced, the folder fsynced, renamed into place, the parent fsynced). The config
// path C then becomes a symlink to provisioned/g<N>/exphone.toml, switched with one rename(2) of a
// temp symlink (and DIR fsynced): a crash at any moment leaves C pointing at the old or the new
// generation, whole. Before the switch C.lkg is made to name the running config (the same symlink
// target, or a hard link when C was a plain file). Generations named by neither are removed.
// Rollback is the same switch the other way: C.lkg's entry renamed over C.
#pragma once

#include <string>

#include "core/result.h"
#include "provisioning/bundle.h"

namespace exphone::provisioning {

// Write data to path via a temp file in the same folder: write, fsync, rename, fsync the folder.
// mode applies from creation (0600 for keys and configs). Error code prov-io.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0600);

struct ApplyPlan {
  std::string config_path;  // C as given (may be a symlink)
  std::string root;         // DIR/provisioned
  std::string gen_name;     // g<N>
  std::string gen_dir;      // absolute DIR/provisioned/g<N>: validate_bundle resolves against it
};

Result<ApplyPlan> plan_apply(const std::string& config_path);
// running_is_good: C's config has registered (or is the factory one) and becomes C.lkg; false while
// C's generation is still pending, so C.lkg keeps naming the last config that worked.
// Errors prov-io. On error nothing visible changed (C still names the old config).
Status apply_bundle(const ApplyPlan& plan, const Bundle& b, bool running_is_good = true);

// Rollback: C names what C.lkg names again (a temp symlink, or hard link for a plain factory file,
// renamed over C; DIR fsynced). Errors prov-no-lkg, prov-io; on error C is unchanged.
Status restore_last_known_good(const std::string& config_path);

// The generation C (a provisioned symlink) names, "provisioned/g..."; "" for a plain file.
std::string current_generation(const std::string& config_path);

}  // namespace exphone::provisioning
