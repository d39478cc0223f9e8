// Writing a changed config back without losing its comments and layout: the difference between
// two parses of the file is applied to its text line by line (a key's line replaced, removed or
// added in its table). Only differences it can write exactly are handled (single-line values in
// [table] or [[array]] entries that already exist, new keys, a new [table]); the result is parsed
// again and must equal `after`, else the caller rewrites the whole file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <toml++/toml.h>

namespace exphone::phone {

// `text` is the source `before` was parsed from; nullopt: not patchable this way.
std::optional<std::string> patch_toml_text(std::string_view text, const toml::table& before, const toml::table& after);

}  // namespace exphone::phone
