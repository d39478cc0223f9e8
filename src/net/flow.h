// A flow (RFC 5626 section 3): the path a message takes — a UDP 5-tuple or a TCP/TLS
// connection. Requests to the registrar and requests arriving from it use the flow REGISTER
// opened, so a phone behind a firewall still receives calls over TLS.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "net/endpoint.h"
#include "net/tls/tls_verify.h"

namespace exphone::net {

class Flow {
 public:
  virtual ~Flow() = default;
  virtual Protocol protocol() const = 0;
  bool reliable() const { return is_reliable(protocol()); }
  // Queues one serialized message. Fails when the flow is closed.
  virtual Status send(std::string wire) = 0;
  virtual Endpoint local() const = 0;
  virtual Endpoint remote() const = 0;
  virtual bool is_open() const = 0;
  virtual void close() = 0;
  // TLS details after the handshake; nullptr for UDP/TCP.
  virtual const tls::TlsPeerInfo* tls_info() const { return nullptr; }

  // Called once when a connection-oriented flow dies (peer closed, keepalive lost, framing lost).
  std::function<void(const Error&)> on_closed;
};

using FlowPtr = std::shared_ptr<Flow>;

}  // namespace exphone::net
