// Readiness and shutdown notifications to systemd (sd_notify(3), Type=notify services).
// A call does nothing unless systemd set $NOTIFY_SOCKET for this process.
#pragma once

#include <string_view>

namespace exphone::cli::sd {

// "READY=1" plus a STATUS= line: the listeners are bound and registration has started.
void notify_ready(std::string_view status);
// "STOPPING=1": shutdown began (unregistering).
void notify_stopping();

}  // namespace exphone::cli::sd
