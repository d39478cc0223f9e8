// The `exphone diag` report as JSON (docs/diagnostics.md "exphone diag") and as text.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "tools/diag/diag.h"

namespace exphone::diag {

nlohmann::ordered_json to_json(const Report& r);
std::string to_text(const Report& r);

}  // namespace exphone::diag
