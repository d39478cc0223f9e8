#include "apps/exphone/sd_notify.h"

#include <string>

#ifdef EXPHONE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace exphone::cli::sd {

#ifdef EXPHONE_HAVE_SYSTEMD

namespace {
// unset_environment = 0: children (none today) could still notify; the return value is
// ignored on purpose, a daemon started outside systemd has no socket and that is fine.
void send(const std::string& state) { (void)sd_notify(0, state.c_str()); }
}  // namespace

void notify_ready(std::string_view status) { send("READY=1\nSTATUS=" + std::string(status)); }
void notify_stopping() { send("STOPPING=1\nSTATUS=unregistering"); }

#else

void notify_ready(std::string_view) {}
void notify_stopping() {}

#endif

}  // namespace exphone::cli::sd
