// The signaling stack the CLI commands run: one event loop, timers, transport and transaction
// layers, and the minimal UAS behaviour a registered UA owes its peers (answer OPTIONS, refuse
// what it cannot serve with the status validation chose).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "net/asio_timers.h"
#include "net/dns.h"
#include "net/transport_layer.h"
#include "phone/config.h"
#include "txn/transaction_layer.h"

namespace exphone::cli {

struct SignalingStack {
  boost::asio::io_context io;
  net::AsioTimers timers{io};
  std::unique_ptr<net::TransportLayer> transport;
  std::unique_ptr<net::DnsResolver> dns;
  std::unique_ptr<txn::TransactionLayer> txns;

  // Builds the layers from the config; prints the key log warning when TLS secrets are exported.
  Status init(const phone::Config& config);

  // A request no transaction absorbed goes here first (calls); false = default handling.
  std::function<bool(const sip::Message&, const net::FlowPtr&)> on_request;
};

}  // namespace exphone::cli
