// Files that survive a power cut whole or not at all: written under a temp name in the same folder,
// fsynced, renamed over the old one (rename(2) is atomic), and the folder fsynced. Used for the
// device config (provisioning, the web admin page) and everything written beside it.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace exphone {

// `error_code` is the machine code of every error (errno text in the message).
// A new file (O_EXCL) with `data`, `mode` from creation, fsynced.
Status write_new_file(const std::string& path, std::string_view data, unsigned mode, const std::string& error_code = "io");
Status fsync_dir(const std::string& dir, const std::string& error_code = "io");
// Write data to path via a temp file in the same folder: write, fsync, rename, fsync the folder.
Status write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0600,
                         const std::string& error_code = "io");
// "<ns since epoch>-<pid>": temp names that do not collide.
std::string unique_suffix();

}  // namespace exphone
