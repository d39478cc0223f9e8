// Registration client (RFC 3261 section 10.2): REGISTER with digest authentication,
// refresh before expiry, 423 handling, unregister on shutdown, and flow recovery — when the
// TCP/TLS flow REGISTER opened dies, a new one is opened and the binding refreshed
// (RFC 5626 section 4.4). With an instance id the REGISTER asks for an RFC 5626 flow
// (ua/outbound.h).
//
// Resilience (docs/resilience.md): the registrar and the backup_registrars form an ordered list
// (RFC 3263 section 4.3; ua/failover.h). A timeout, 408/480/503, a transport failure or a dead
// flow that cannot be re-opened moves the registration to the next registrar at once; when the
// list is exhausted the client waits the RFC 5626 section 4.5 randomized backoff and starts over
// from the primary. While registered with a backup the primary is probed with OPTIONS every
// failback_interval_s; when it answers, the client registers there again and then removes the
// backup's binding (RFC 3261 section 10.2.2).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "net/locator.h"
#include "net/transport_layer.h"
#include "sip/uri.h"
#include "txn/transaction_layer.h"
#include "ua/digest.h"
#include "ua/failover.h"
#include "ua/outbound.h"

namespace exphone::ua {

struct AccountSettings {
  std::string name;          // label for reports ("account 1" when empty)
  std::string user;          // AoR user part
  std::string auth_user;     // digest username; user when empty
  std::string password;
  std::string domain;        // AoR host
  std::string display_name;
  std::string registrar;     // "sip:pbx.example.com:5061;transport=tls", "sips:..."; sip:<domain> when empty
  std::vector<std::string> backup_registrars;  // tried in order when every target of registrar fails
  std::string outbound_proxy;  // "sip:proxy.plant.local;lr": every request goes there first (RFC 3261 8.1.2)
  std::optional<net::Protocol> transport;  // overrides the registrar URI
  std::uint32_t expires = 600;
  std::string user_agent = "exphone";
  bool recover_flows = true;  // re-open a dead TCP/TLS flow and re-register
  std::optional<OutboundFlow> outbound;  // RFC 5626: +sip.instance, reg-id, ;ob; none = plain RFC 3261
  // Resilience (docs/resilience.md)
  RetrySettings retry;                   // RFC 5626 section 4.5 backoff (retry_base_s, retry_max_s)
  std::uint32_t failback_interval_s = 60;  // probe the primary this often while on a backup; 0 = never
  std::uint32_t startup_jitter_ms = 2000;  // random delay before the first REGISTER (persistent only)
  // The daemon: keep retrying (with backoff) even when the very first attempt fails. Otherwise
  // (exphone register) a failure before the first 2xx is final.
  bool persistent = false;
};

// The registrar URI's parts (RFC 3263 section 4 picks the transport and port from them;
// net::locate() does the DNS part: NAPTR, SRV, A/AAAA).
struct RegistrarAddress {
  std::string host;           // as configured (certificate name for TLS)
  std::uint16_t port = 0;      // 0 when the URI has none (SRV or the default decides)
  net::Protocol protocol = net::Protocol::kUdp;
  bool sips = false;
  bool explicit_transport = false;  // ;transport= or the account's setting (skips NAPTR)
  std::string request_uri;    // "sip:host[:port]" for the Request-URI (section 10.2)
};
Result<RegistrarAddress> registrar_address(const AccountSettings& a);
Result<RegistrarAddress> registrar_address(const AccountSettings& a, const std::string& uri);

class RegistrationClient {
 public:
  enum class State { kIdle, kRegistering, kRegistered, kUnregistering, kUnregistered, kFailed };

  struct Status {
    State state = State::kIdle;
    bool registered = false;
    std::string transport;          // "udp" / "tcp" / "tls"
    std::string registrar;          // host:port used
    std::uint32_t expires = 0;      // granted by the registrar
    long elapsed_ms = 0;            // from start() to the first 2xx (or the failure)
    std::optional<net::tls::TlsPeerInfo> tls;
    std::optional<Error> error;     // auth-failed, timeout, dns-failed, tls-*, transport-failed, registrar-rejected
    int last_status = 0;            // last final response code
    int registrations = 0;          // successful REGISTER transactions (initial + refreshes + recoveries)
    bool outbound = false;          // the last 2xx had Require: outbound (RFC 5626 section 4.2.1)
    // failover (ua/failover.h)
    std::string registrar_uri;      // the configured URI in use (registrar or a backup)
    std::size_t registrar_index = 0;  // 0 = the primary, 1.. = backup_registrars
    std::string failover_reason;    // why a backup is in use (or why the last attempt failed)
    int consecutive_failures = 0;   // failed rounds over the whole list since the last 2xx
    long retry_in_ms = 0;           // the backoff wait scheduled last (0: none pending)
    int failovers = 0;              // switches to another registrar
    int failbacks = 0;              // returns to the primary after a probe
  };

  RegistrationClient(boost::asio::io_context& io, net::TransportLayer& transport, txn::TransactionLayer& txns,
                     net::DnsResolver& dns, AccountSettings settings);
  ~RegistrationClient();

  void start();
  // Sends REGISTER with expires 0 and calls done when answered (or failed / timed out).
  void unregister(std::function<void()> done);

  const Status& status() const { return status_; }
  const AccountSettings& settings() const { return settings_; }
  void on_change(std::function<void(const Status&)> cb) { on_change_ = std::move(cb); }

  // For the transport layer's handler: a request arriving on our flow. While failing back,
  // the backup's flow (its binding is the one in force until the primary took it).
  net::FlowPtr flow() const { return failback_ ? failback_->flow : flow_; }

 private:
  void locate_current();
  void use_target();
  bool fail_over(const Error& e);  // true when another target or registrar is being tried
  void open_flow();
  void send_register(std::uint32_t expires, std::vector<DigestSession::Header> auth);
  void on_response(const sip::Message& m);
  void fail(Error e);
  void registered(const sip::Message& ok);
  void unregistered(std::optional<Error> e);  // the unregister finished (answered or failed)
  void schedule_refresh(std::uint32_t expires);
  void schedule_expiry(std::uint32_t expires);
  void schedule_retry();
  void changed();
  std::string contact_uri() const;
  std::string where_uri(const std::string& uri) const;  // the registrar, or the outbound proxy
  Result<sip::Message> make_register(const net::FlowPtr& flow, const RegistrarAddress& reg, const std::string& route,
                             const std::string& contact, std::uint32_t expires,
                             const std::vector<DigestSession::Header>& auth);
  // failback (ua/failover.h): probe the primary with OPTIONS, then move the binding back
  void schedule_probe();
  void probe();
  void probe_answered();
  void remove_backup_binding();
  // The binding at a backup while the client registers with the primary again.
  struct Leg {
    net::FlowPtr flow;
    RegistrarAddress registrar;
    std::string route;
    std::string contact;
  };

  net::TransportLayer& transport_;
  txn::TransactionLayer& txns_;
  net::DnsResolver& dns_;
  AccountSettings settings_;
  RegistrarAddress registrar_;
  std::vector<std::string> registrar_uris_;  // the registrar, then the backups
  RegistrarFailover failover_;
  std::optional<Leg> failback_;              // the backup binding being replaced
  TimerService::Id probe_timer_ = 0;
  TimerService::Id start_timer_ = 0;
  bool probing_ = false;
  net::FlowPtr probe_flow_;
  std::vector<net::Target> targets_;         // RFC 3263 result for the current URI
  std::size_t target_index_ = 0;
  std::optional<Error> first_error_;         // reported when every target failed
  std::optional<net::Target> target_;
  std::string route_;                        // "<outbound proxy;lr>" or empty
  net::FlowPtr flow_;
  DigestSession digest_;
  std::string call_id_;
  std::string from_tag_;
  std::uint32_t cseq_ = 0;
  std::uint64_t generation_ = 0;             // of the newest REGISTER transaction
  std::uint32_t requested_expires_ = 0;
  int interval_retries_ = 0;
  Status status_;
  Clock::time_point started_;
  TimerService::Id refresh_timer_ = 0;
  TimerService::Id expiry_timer_ = 0;        // the binding's end at the registrar (section 10.2.4)
  bool lapsed_ = false;                      // it ended before a refresh was answered
  TimerService::Id retry_timer_ = 0;
  int retry_count_ = 0;
  std::optional<sip::Message> last_request_;
  std::function<void()> unregister_done_;
  std::function<void(const Status&)> on_change_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::string_view to_string(RegistrationClient::State s);

}  // namespace exphone::ua
