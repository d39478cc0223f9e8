// Atomic, power-safe apply of a validated bundle (docs/provisioning.md).
//
// The bundle's files go to a new generation folder DIR/provisioned/g<N>/ (temp folder, every file
// written and fsynced, the folder fsynced, renamed into place, the parent fsynced). The config
// path C then becomes a symlink to provisioned/g<N>/exphone.toml, switched with one rename(2) of a
// temp symlink (and DIR fsynced): a crash at any moment leaves C pointing at the old or the new
// generation, whole. Before the switch C.lkg is made to name the running config (the same symlink
// target, or a hard link when C was a plain file). Generations named by neither are removed.
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
// Errors prov-io. On error nothing visible changed (C still names the old config).
Status apply_bundle(const ApplyPlan& plan, const Bundle& b);

}  // namespace exphone::provisioning
