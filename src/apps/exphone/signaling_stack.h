// The signaling stack the CLI commands run: one event loop, timers, transport and transaction
// layers, and the minimal UAS behaviour a registered UA owes its peers (answer OPTIONS, refuse
// what it cannot serve with the status validation chose).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "clock/sntp_client.h"
#include "core/trusted_clock.h"
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
  // The trusted time of TLS certificate checks ([clock], SNTP-corrected); shared with the TLS
  // client configuration of `transport`.
  std::shared_ptr<TrustedClock> trusted_clock = std::make_shared<TrustedClock>();
  std::unique_ptr<clock::SntpClient> sntp;

  // Builds the layers from the config; prints the key log warning when TLS secrets are exported.
  Status init(const phone::Config& config);

  // [clock]: asks the NTP servers before the first TLS connection (RFC 4330), then runs `then`
  // once synchronized or after sync_timeout_s; at once when no NTP server is configured. Prints
  // one "clock: ..." line (to stderr when quiet, e.g. --json).
  void sync_clock(const phone::Config& config, std::function<void()> then, bool quiet = false);

  // A request no transaction absorbed goes here first (calls); false = default handling.
  std::function<bool(const sip::Message&, const net::FlowPtr&)> on_request;
};

}  // namespace exphone::cli
