// The transport layer (RFC 3261 section 18) on one Asio event loop: a UDP socket, client
// TCP/TLS connections with RFC 5626 keepalives, connection reuse, and bounded resources.
// Received messages are parsed and handed up with the flow they arrived on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/result.h"
#include "core/timer.h"
#include "net/flow.h"
#include "net/tls/tls_config.h"
#include "net/tls/tls_context.h"
#include "sip/limits.h"
#include "sip/message.h"

namespace exphone::net {

struct TransportConfig {
  tls::TlsClientConfig tls;
  sip::Limits limits;
  std::size_t max_connections = 32;
  Millis connect_timeout{10000};
  // RFC 5626 section 4.4.1 CRLF keepalive on stream flows; 0 = off. A pong must arrive within
  // pong_timeout, else the flow is declared dead (section 4.4.1: 10 s).
  Millis keepalive_interval{30000};
  Millis pong_timeout{10000};
  // Local address for the UDP socket of that family ("0.0.0.0" / "::"; the other family binds
  // its wildcard), port 0 = any.
  std::string udp_bind = "0.0.0.0";
  std::uint16_t udp_port = 0;
  // Inbound TCP connections (listen_tcp): closed after this long without traffic, or when a
  // started message is not complete in time (slow senders must not hold resources).
  Millis idle_timeout{300000};
  Millis half_message_timeout{10000};
  // SIP over WebSocket (RFC 7118): the request-target of the opening handshake.
  std::string ws_resource = "/";
};

class UdpSocket;
class StreamConnection;

class TransportLayer {
 public:
  using MessageHandler = std::function<void(sip::Message, FlowPtr)>;

  // Fails with "tls-config" when the TLS settings are unusable. The TLS context is built at once
  // when tls_needed (a configured TLS account), else on the first TLS connection.
  static Result<std::unique_ptr<TransportLayer>> create(boost::asio::io_context& io, TimerService& timers,
                                                        TransportConfig config, bool tls_needed = true);
  ~TransportLayer();

  void set_handler(MessageHandler handler) { handler_ = std::move(handler); }

  // Diagnostics (exphone check-server): called after every client TLS handshake, failed or
  // not, with the connection's SSL (only valid during the call; net/tls/tls_inspect.h reads it).
  using TlsObserver = std::function<void(const Target&, SSL*)>;
  void set_tls_observer(TlsObserver observer) { tls_observer_ = std::move(observer); }
  const TlsObserver& tls_observer() const { return tls_observer_; }

  // Opens the UDP socket of [sip] udp_bind / udp_port now instead of on first use, so requests
  // can arrive before we sent anything (a phone that takes peer-to-peer calls over UDP).
  Status listen_udp() {
    boost::system::error_code ec;
    auto a = boost::asio::ip::make_address(config_.udp_bind, ec);
    return open_udp(!ec && a.is_v6());
  }

  // The UDP flow to `remote` (opens the UDP socket on first use).
  Result<FlowPtr> udp_flow(const Endpoint& remote);

  // An open TCP/TLS/WS/WSS connection to the target, reusing one when it exists; `done` runs
  // once. TLS (and WSS) failures carry the tls-* codes of net/tls/tls_verify.h.
  void connect(const Target& target, std::function<void(Result<FlowPtr>)> done);

  // Accepts SIP over TCP on bind:port (port 0 = any); returns the bound endpoint. Inbound
  // connections count against max_connections; beyond it new ones are closed at once.
  Result<Endpoint> listen_tcp(const std::string& bind, std::uint16_t port);
  // The same for TLS, with the device certificate (tls::make_server_context).
  Result<Endpoint> listen_tls(const std::string& bind, std::uint16_t port, bool require_client_cert);

  std::size_t connection_count() const;
  bool keylog_enabled() const { return tls_ctx_ && tls_ctx_.keylog_enabled(); }
  const TransportConfig& config() const { return config_; }
  tls::TlsSessionCache& session_cache() { return sessions_; }

  // internal: called by connections
  void deliver(std::string bytes, FlowPtr flow);
  void forget(Flow* c);

 private:
  TransportLayer(boost::asio::io_context& io, TimerService& timers, TransportConfig config, tls::SslCtx ctx);
  Status open_udp(bool v6);

  boost::asio::io_context& io_;
  TimerService& timers_;
  TransportConfig config_;
  tls::SslCtx tls_ctx_;
  tls::TlsSessionCache sessions_;
  MessageHandler handler_;
  TlsObserver tls_observer_;
  std::shared_ptr<UdpSocket> udp_;   // IPv4
  std::shared_ptr<UdpSocket> udp6_;  // IPv6, opened when an IPv6 peer is first addressed
  struct Listener {
    Protocol protocol;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
  };
  Result<Endpoint> listen(Protocol p, const std::string& bind, std::uint16_t port);
  void accept_next(Listener& l);
  bool shed_inbound();  // closes the inbound connection to shed first; false when there is none
  std::map<std::string, std::shared_ptr<Flow>> connections_;  // key: proto|endpoint|name
  std::vector<std::unique_ptr<Listener>> listeners_;
  tls::SslCtx tls_server_ctx_;
  std::uint64_t inbound_seq_ = 0;
};

}  // namespace exphone::net
