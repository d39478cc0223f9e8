#include "net/locator.h"

#include <algorithm>
#include <memory>
#include <random>

#include "core/text.h"

namespace exphone::net {

namespace asio = boost::asio;

namespace {

std::optional<Protocol> protocol_of(std::string_view service, bool sips) {
  if (text::iequals(service, "SIPS+D2T")) return Protocol::kTls;
  if (sips) return std::nullopt;  // a sips URI needs TLS (section 4.1)
  if (text::iequals(service, "SIP+D2T")) return Protocol::kTcp;
  if (text::iequals(service, "SIP+D2U")) return Protocol::kUdp;
  return std::nullopt;
}

std::string srv_name(Protocol p, const std::string& host) {
  switch (p) {
    case Protocol::kTls: return "_sips._tcp." + host;
    case Protocol::kTcp: return "_sip._tcp." + host;
    case Protocol::kUdp: return "_sip._udp." + host;
    case Protocol::kWs:
    case Protocol::kWss: break;  // RFC 7118 defines no SRV names: by address only
  }
  return host;
}

// Resolution state shared by the asynchronous steps.
struct Job : std::enable_shared_from_this<Job> {
  DnsResolver& dns;
  ServerUri uri;
  std::function<void(Result<std::vector<Target>>)> done;
  std::vector<Target> targets;
  Job(DnsResolver& d, ServerUri u, std::function<void(Result<std::vector<Target>>)> f)
      : dns(d), uri(std::move(u)), done(std::move(f)) {}

  Protocol default_protocol() const { return uri.transport.value_or(uri.sips ? Protocol::kTls : Protocol::kUdp); }

  // A/AAAA of `host` for one protocol and port, appended to targets; then next().
  void resolve_host(const std::string& host, Protocol p, std::uint16_t port, std::function<void(std::optional<Error>)> next) {
    auto self = shared_from_this();
    dns.addresses(host, [self, p, port, next](Result<std::vector<asio::ip::address>> r) {
      if (!r) return next(r.error());
      for (const auto& a : *r) self->targets.push_back(Target{p, Endpoint{a, port}, self->uri.host});
      next(std::nullopt);
    });
  }

  // Resolves SRV targets one after another, in RFC 2782 order.
  void resolve_srv_targets(std::vector<SrvRecord> srvs, std::size_t i, Protocol p) {
    if (i >= srvs.size()) return finish(std::nullopt);
    auto self = shared_from_this();
    std::string target = srvs[i].target;
    std::uint16_t port = srvs[i].port;  // read before srvs moves into the callback
    resolve_host(target, p, port, [self, srvs = std::move(srvs), i, p](std::optional<Error>) mutable {
      self->resolve_srv_targets(std::move(srvs), i + 1, p);  // an unresolvable target is skipped
    });
  }

  // SRV lookups in order of `protocols`; the first that has records wins (section 4.1).
  void try_srv(std::vector<Protocol> protocols, std::size_t i, std::function<void()> none) {
    if (i >= protocols.size()) return none();
    auto self = shared_from_this();
    Protocol p = protocols[i];
    dns.srv(srv_name(p, uri.host), [self, protocols, i, p, none](Result<std::vector<SrvRecord>> r) {
      if (r && !r->empty()) return self->resolve_srv_targets(order_srv(std::move(*r)), 0, p);
      self->try_srv(protocols, i + 1, none);
    });
  }

  // The replacement of each usable NAPTR is an SRV name; the first with records wins.
  void try_naptr(std::vector<NaptrRecord> usable, std::size_t i, std::function<void()> none) {
    if (i >= usable.size()) return none();
    auto self = shared_from_this();
    Protocol p = *protocol_of(usable[i].service, uri.sips);
    std::string name = usable[i].replacement;
    dns.srv(name, [self, p, usable = std::move(usable), i, none](Result<std::vector<SrvRecord>> s) mutable {
      if (s && !s->empty()) return self->resolve_srv_targets(order_srv(std::move(*s)), 0, p);
      self->try_naptr(std::move(usable), i + 1, none);
    });
  }

  void finish(std::optional<Error> e) {
    if (targets.empty())
      return done(e ? *e : make_error("dns-failed", "no address found for " + uri.host));
    done(std::move(targets));
  }

  void run() {
    boost::system::error_code ec;
    auto literal = asio::ip::make_address(uri.host, ec);
    Protocol p = default_protocol();
    // section 4.1/4.2: an IP literal or an explicit port skips NAPTR and SRV
    if (!ec) {
      targets.push_back(Target{p, Endpoint{literal, uri.port.value_or(default_port(p))}, uri.host});
      return finish(std::nullopt);
    }
    auto self = shared_from_this();
    auto by_address = [self] {
      Protocol dp = self->default_protocol();
      self->resolve_host(self->uri.host, dp, self->uri.port.value_or(default_port(dp)),
                         [self](std::optional<Error> e) { self->finish(e); });
    };
    if (uri.port || (uri.transport && is_websocket(*uri.transport))) return by_address();
    if (uri.transport) return try_srv({*uri.transport}, 0, by_address);
    // No transport, no port: NAPTR first (section 4.1)
    dns.naptr(uri.host, [self, by_address](Result<std::vector<NaptrRecord>> r) {
      std::vector<NaptrRecord> usable;
      if (r)
        for (auto& n : *r)
          if (text::iequals(n.flags, "s") && protocol_of(n.service, self->uri.sips)) usable.push_back(n);
      std::stable_sort(usable.begin(), usable.end(), [](const NaptrRecord& a, const NaptrRecord& b) {
        return a.order != b.order ? a.order < b.order : a.preference < b.preference;
      });
      if (!usable.empty()) return self->try_naptr(std::move(usable), 0, by_address);
      // No NAPTR: SRV for the transports we support, most secure first (local policy, 4.1)
      std::vector<Protocol> order = self->uri.sips ? std::vector<Protocol>{Protocol::kTls}
                                                   : std::vector<Protocol>{Protocol::kTls, Protocol::kTcp, Protocol::kUdp};
      self->try_srv(order, 0, by_address);
    });
  }
};

}  // namespace

std::vector<SrvRecord> order_srv(std::vector<SrvRecord> records) {
  std::stable_sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) { return a.priority < b.priority; });
  static thread_local std::mt19937 rng{std::random_device{}()};  // load spreading, not security
  std::vector<SrvRecord> out;
  for (std::size_t i = 0; i < records.size();) {
    std::size_t j = i;
    while (j < records.size() && records[j].priority == records[i].priority) ++j;
    std::vector<SrvRecord> group(records.begin() + static_cast<long>(i), records.begin() + static_cast<long>(j));
    while (!group.empty()) {
      std::uint32_t total = 0;
      for (const auto& r : group) total += r.weight;
      std::size_t pick = 0;
      if (total > 0) {
        std::uint32_t x = std::uniform_int_distribution<std::uint32_t>(0, total)(rng);
        std::uint32_t run = 0;
        for (pick = 0; pick < group.size(); ++pick) {
          run += group[pick].weight;
          if (run >= x && (group[pick].weight > 0 || x == 0)) break;
        }
        if (pick == group.size()) pick = group.size() - 1;
      }
      out.push_back(group[pick]);
      group.erase(group.begin() + static_cast<long>(pick));
    }
    i = j;
  }
  return out;
}

void locate(DnsResolver& dns, const ServerUri& uri, std::function<void(Result<std::vector<Target>>)> done) {
  std::make_shared<Job>(dns, uri, std::move(done))->run();
}

}  // namespace exphone::net
