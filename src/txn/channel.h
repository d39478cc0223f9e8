// How a transaction reaches the wire: the transport layer binds one Channel per transaction
// (the flow or destination chosen by RFC 3263 / section 18), so this layer needs no sockets.
#pragma once

#include <functional>
#include <string>

#include "core/result.h"

namespace exphone::txn {

struct Channel {
  // Sends one message. An error is a transport error (section 17.1.4 / 17.2.4).
  std::function<Status(const std::string& wire)> send;
  // Reliable transports (TCP, TLS, WS) need no retransmissions and zero-length wait timers.
  bool reliable = false;
  // The far end of an unreliable channel ("ip:port"): T1 is estimated per peer (rtt_estimates.h);
  // "" = the configured T1.
  std::string peer;
};

}  // namespace exphone::txn
