#include "apps/exphone/signaling_stack.h"

#include <iostream>

#include "core/random.h"
#include "core/text.h"
#include "phone/config_edit.h"
#include "sip/validate.h"

namespace exphone::cli {

Status SignalingStack::init(const phone::Config& config) {
  const bool tls_needed = phone::needs_tls_client(config);
  net::TransportConfig transport_config = config.transport;
  trusted_clock->set_ntp_configured(!config.clock.servers.empty());
  if (!transport_config.tls.clock) transport_config.tls.clock = trusted_clock;
  auto t = net::TransportLayer::create(io, timers, transport_config, tls_needed);
  if (!t) return t.error();
  transport = std::move(*t);
  auto d = net::DnsResolver::create(io, config.dns_servers);
  if (!d) return d.error();
  dns = std::move(*d);
  txns = std::make_unique<txn::TransactionLayer>(timers, config.timers);
  if (!config.srtp_keylog_file.empty())
    std::cerr << "WARNING: SRTP key logging is ON (" << config.srtp_keylog_file
              << "): anyone with that file can decrypt captured calls. Turn it off after debugging.\n";
  if (!config.transport.tls.keylog_file.empty())  // also before any TLS context exists (a client opens it lazily)
    std::cerr << "WARNING: TLS key logging is ON (" << config.transport.tls.keylog_file
              << "): anyone with that file can decrypt captured SIP signaling. Turn it off after debugging.\n";
  // "ip:port" (validated by the config reader) -> host and port
  auto split = [](const std::string& hp) {
    std::size_t colon = hp.rfind(':');
    std::string host = hp.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return std::pair{host, static_cast<std::uint16_t>(text::parse_uint(hp.substr(colon + 1), 65535).value_or(0))};
  };
  if (config.transport.udp_port != 0)
    if (Status s = transport->listen_udp(); !s) return s;
  if (!config.tcp_listen.empty()) {
    auto [host, port] = split(config.tcp_listen);
    if (auto ep = transport->listen_tcp(host, port); !ep) return ep.error();
  }
  if (!config.tls_listen.empty()) {
    auto [host, port] = split(config.tls_listen);
    if (auto ep = transport->listen_tls(host, port, config.require_client_cert); !ep) return ep.error();
  }
  std::string to_tag = random_hex(8);
  transport->set_handler([this, to_tag](sip::Message m, net::FlowPtr flow) {
    if (m.is_response()) {
      txns->on_response(m);  // stray responses are dropped
      return;
    }
    if (txns->match_request(m)) return;
    // section 8.2: a request that fails validation never reaches the phone core
    sip::Verdict v = sip::validate(m);
    if (v.valid && on_request && on_request(m, flow)) return;
    if (m.method() == "ACK") return;
    // Everything answered here is answered statelessly (RFC 3261 section 8.2.7): the answer
    // does not depend on state, a retransmission gets it again, and a flood of malformed
    // requests, OPTIONS scans or stray INVITEs holds no transaction (no Timer J/H state).
    auto reply = [&](int code, std::string_view reason) {
      (void)flow->send(sip::serialize(txn::make_response(m, code, reason, to_tag)));
    };
    if (!v.valid && v.response) {
      reply(v.response, v.reason);
    } else if (!v.valid) {
      return;  // not answerable (e.g. no Via): dropped
    } else if (m.method() == "OPTIONS") {
      reply(200, "OK");
    } else {
      // The one-shot tools are no phone: nothing here can take a call.
      reply(480, "Temporarily Unavailable");
    }
  });
  return Ok{};
}

void SignalingStack::sync_clock(const phone::Config& config, std::function<void()> then, bool quiet) {
  if (config.clock.servers.empty()) {
    then();
    return;
  }
  sntp = std::make_unique<clock::SntpClient>(io, *trusted_clock, config.clock);
  auto done = std::make_shared<std::function<void()>>(std::move(then));
  sntp->start([this, done, quiet](const Status& s) {
    std::ostream& out = quiet ? std::cerr : std::cout;
    const TrustedClock& c = *trusted_clock;
    if (s) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(c.last_sync()->offset).count();
      out << "clock: synchronized by " << c.source() << ", offset " << ms << " ms, NTP time "
          << format_utc(std::chrono::system_clock::to_time_t(c.now())) << std::endl;
    } else if (!c.plausible()) {
      out << "clock: clock-unsynchronized: the device clock "
          << format_utc(std::chrono::system_clock::to_time_t(c.system_now())) << " is before this build ("
          << format_utc(build_time()) << ") and no NTP server answered (" << s.error().code << ": "
          << s.error().message << ")" << std::endl;
    } else {
      out << "clock: no NTP answer (" << s.error().code << ": " << s.error().message
          << "), trusting the system clock" << std::endl;
    }
    if (*done) {
      auto f = std::move(*done);
      *done = nullptr;
      f();
    }
  });
}

}  // namespace exphone::cli
