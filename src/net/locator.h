// Locating SIP servers (RFC 3263 section 4): transport and port from the URI, NAPTR, SRV
// (RFC 2782 priority and weight) and A/AAAA, giving the ordered list of targets to try.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "net/dns.h"
#include "net/endpoint.h"

namespace exphone::net {

struct ServerUri {
  std::string host;                    // DNS name or IP literal (no brackets)
  std::optional<std::uint16_t> port;
  std::optional<Protocol> transport;   // explicit ;transport= (or the account's setting)
  bool sips = false;
};

// Calls done with the targets in the order to try them (failover walks the list). Each
// target's server_name is the URI host: TLS identity is checked against the SIP domain, not
// the SRV target (RFC 5922 section 4.1).
void locate(DnsResolver& dns, const ServerUri& uri, std::function<void(Result<std::vector<Target>>)> done);

// RFC 2782: ascending priority, weighted random order within a priority.
std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records);

}  // namespace exphone::net
