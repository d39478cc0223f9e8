// The JSON of a check-server report (docs/tools.md: `exphone check-server --json`), shared by the
// CLI and the web admin page.
#pragma once

#include <nlohmann/json.hpp>

#include "tools/check_server/checker.h"

namespace exphone::tools::check_server {

nlohmann::ordered_json report_json(const CheckReport& r);

}  // namespace exphone::tools::check_server
