// A transaction's channel over a transport flow (net::Flow -> txn::Channel): sends through the
// flow; over an unreliable flow it names the peer, so that T1 is estimated per peer
// (txn/rtt_estimates.h). Every request the user agent sends goes through one of these.
#pragma once

#include <string>

#include "net/flow.h"
#include "txn/channel.h"

namespace exphone::ua {

inline txn::Channel flow_channel(const net::FlowPtr& flow) {
  const bool reliable = flow->reliable();
  return txn::Channel{[flow](const std::string& wire) { return flow->send(wire); }, reliable,
                      reliable ? std::string() : flow->remote().to_string()};
}

}  // namespace exphone::ua
