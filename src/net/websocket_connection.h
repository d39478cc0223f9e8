// A client WebSocket connection carrying SIP (RFC 7118), ws or wss: TCP connect, for wss the
// TLS handshake with exactly the verification of SIP-TLS (net/tls, same SSL_CTX, session cache
// and tls-* error codes), the opening handshake asking for the "sip" subprotocol, then one SIP
// message per WebSocket message in both directions (section 5.1, no Content-Length framing).
// Keepalive: WebSocket ping/pong (RFC 6455 section 5.5.2) every keepalive_interval; a missing
// pong declares the flow dead (on_closed). Built on Boost.Beast on the shared event loop.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "core/timer.h"
#include "net/flow.h"

namespace exphone::net {

class TransportLayer;

class WebSocketConnection final : public Flow, public std::enable_shared_from_this<WebSocketConnection> {
 public:
  using Ready = std::function<void(Result<FlowPtr>)>;

  // resource: the request-target of the handshake ("/" by default, ws::resource()).
  WebSocketConnection(boost::asio::io_context& io, TransportLayer& owner, TimerService& timers, Target target,
                      std::string resource, SSL_CTX* tls_ctx /* required for wss */);
  ~WebSocketConnection() override;

  void start(Ready ready);  // connect (+ TLS) + WebSocket handshake, then read; ready runs once

  Protocol protocol() const override { return target_.protocol; }
  Status send(std::string wire) override;
  Endpoint local() const override { return local_; }
  Endpoint remote() const override { return target_.endpoint; }
  bool is_open() const override { return open_; }
  // RFC 6455 section 7.1.2: a clean close (close frame 1000); the TCP connection goes when
  // the server answers, or after a short grace period.
  void close() override;
  const tls::TlsPeerInfo* tls_info() const override { return tls_info_ ? &*tls_info_ : nullptr; }

 private:
  using Plain = boost::beast::websocket::stream<boost::asio::ip::tcp::socket>;
  using Secure = boost::beast::websocket::stream<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>;

  template <class F>
  void with_stream(F&& f) {
    if (wss_) f(*wss_);
    else f(*ws_);
  }
  boost::asio::ip::tcp::socket& tcp();
  void on_connected();
  void on_tls_handshake(const boost::system::error_code& ec);
  void ws_handshake();
  void became_ready();
  void fail(const Error& e);
  void shutdown_socket();
  void stop_timers();
  void read();
  void write_next();
  void keepalive_tick();
  std::string where() const;

  boost::asio::io_context& io_;
  TransportLayer& owner_;
  TimerService& timers_;
  Target target_;
  std::string resource_;
  std::unique_ptr<boost::asio::ssl::context> asio_ctx_;
  std::unique_ptr<Secure> wss_;
  std::unique_ptr<Plain> ws_;
  boost::beast::websocket::response_type handshake_response_;
  boost::beast::flat_buffer read_buf_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool ping_in_flight_ = false;
  Ready ready_;
  Endpoint local_;
  std::optional<tls::TlsPeerInfo> tls_info_;
  TimerService::Id connect_timer_ = 0;
  TimerService::Id keepalive_timer_ = 0;
  TimerService::Id pong_timer_ = 0;
  TimerService::Id close_timer_ = 0;
};

}  // namespace exphone::net
