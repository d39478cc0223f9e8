#include "apps/exphone/sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

namespace exphone::cli::sd {

namespace {

// The sd_notify(3) protocol without libsystemd (which would map ~1 MiB of libraries into the
// daemon for one datagram): newline-separated KEY=VALUE lines in one datagram to the AF_UNIX
// socket $NOTIFY_SOCKET names ('@' = the abstract namespace), as sd_notify(3) "NOTES" documents
// it for implementations of their own. No variable: not started by systemd, nothing to do. The
// variable stays set (unset_environment = 0) so a re-executed daemon notifies again.
void send(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (env == nullptr) return;
  std::string path(env);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || (path[0] != '/' && path[0] != '@') || path.size() >= sizeof sa.sun_path) return;
  std::memcpy(sa.sun_path, path.data(), path.size());
  if (path[0] == '@') sa.sun_path[0] = '\0';
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  (void)::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sa), len);
  ::close(fd);
}

}  // namespace

void notify_ready(std::string_view status) { send("READY=1\nSTATUS=" + std::string(status)); }
void notify_stopping() { send("STOPPING=1\nSTATUS=unregistering"); }

}  // namespace exphone::cli::sd
