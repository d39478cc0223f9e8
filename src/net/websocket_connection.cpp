#include "net/websocket_connection.h"

#include <openssl/err.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/tls/tls_context.h"
#include "net/transport_layer.h"
#include "net/websocket_sip.h"

namespace exphone::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {
// How long a clean close waits for the server's close frame (RFC 6455 section 7.1.1).
constexpr Millis kCloseGrace{2000};
}  // namespace

WebSocketConnection::WebSocketConnection(asio::io_context& io, TransportLayer& owner, TimerService& timers,
                                         Target target, std::string resource, SSL_CTX* tls_ctx)
    : io_(io), owner_(owner), timers_(timers), target_(std::move(target)), resource_(std::move(resource)) {
  if (target_.protocol == Protocol::kWss && tls_ctx) {
    SSL_CTX_up_ref(tls_ctx);  // asio's context takes ownership of one reference
    asio_ctx_ = std::make_unique<asio::ssl::context>(tls_ctx);
    wss_ = std::make_unique<Secure>(io_, *asio_ctx_);
  } else {
    ws_ = std::make_unique<Plain>(io_);
  }
  with_stream([this](auto& s) {
    // section 5.1: the whole SIP message in one message; bounded like any SIP message
    s.read_message_max(owner_.config().limits.max_message_size);
    s.auto_fragment(false);  // one frame per message: some servers do not reassemble fragments
    s.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      // RFC 7118 section 4.1: the client MUST ask for the "sip" subprotocol
      req.set(beast::http::field::sec_websocket_protocol, std::string(ws::kSubprotocol));
      req.set(beast::http::field::user_agent, "exphone");
    }));
    s.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind != websocket::frame_type::pong) return;  // pings are answered by Beast itself
      if (pong_timer_) timers_.cancel(pong_timer_);
      pong_timer_ = 0;
    });
  });
}

WebSocketConnection::~WebSocketConnection() {
  stop_timers();  // close_timer_ holds only a weak reference: harmless if it fires later
}

tcp::socket& WebSocketConnection::tcp() { return wss_ ? wss_->next_layer().next_layer() : ws_->next_layer(); }

std::string WebSocketConnection::where() const {
  return std::string(to_string(target_.protocol)) + "://" + ws::host_header(target_) + resource_ + " (" +
         target_.endpoint.to_string() + ")";
}

void WebSocketConnection::start(Ready ready) {
  ready_ = std::move(ready);
  auto self = shared_from_this();
  if (target_.protocol == Protocol::kWss && !wss_) {
    fail(make_error("tls-config", "no TLS context for " + where()));
    return;
  }
  // one deadline for TCP, TLS and the opening handshake
  connect_timer_ = timers_.schedule(owner_.config().connect_timeout, [this, self] {
    connect_timer_ = 0;
    fail(make_error("timeout", "no WebSocket connection to " + where() + " within the connect timeout"));
  });
  tcp::endpoint ep(target_.endpoint.address, target_.endpoint.port);
  tcp().async_connect(ep, [this, self](const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
      fail(make_error("transport-failed", "connect to " + where() + ": " + ec.message()));
      return;
    }
    on_connected();
  });
}

void WebSocketConnection::on_connected() {
  boost::system::error_code ec;
  tcp().set_option(tcp::no_delay(true), ec);
  auto le = tcp().local_endpoint(ec);
  local_ = Endpoint{le.address(), le.port()};
  if (!wss_) {
    ws_handshake();
    return;
  }
  // The TLS of SIP-TLS (RFC 7118 section 5: wss is TLS like SIP over TLS): same context,
  // SNI, server identity check, session cache.
  SSL* ssl = wss_->next_layer().native_handle();
  Status prep = tls::prepare_client_ssl(ssl, owner_.config().tls, target_.server_name, &owner_.session_cache(),
                                        target_.endpoint.port);
  if (!prep) {
    fail(prep.error());
    return;
  }
  auto self = shared_from_this();
  wss_->next_layer().async_handshake(asio::ssl::stream_base::client,
                                     [this, self](const boost::system::error_code& hec) { on_tls_handshake(hec); });
}

void WebSocketConnection::on_tls_handshake(const boost::system::error_code& ec) {
  if (closed_) return;
  SSL* ssl = wss_->next_layer().native_handle();
  if (owner_.tls_observer()) owner_.tls_observer()(target_, ssl);
  if (ec) {
    unsigned long err = ec.category() == asio::error::get_ssl_category() ? static_cast<unsigned long>(ec.value()) : 0;
    fail(tls::explain_handshake_failure(ssl, err, err ? SSL_ERROR_SSL : SSL_ERROR_SYSCALL, target_.server_name));
    return;
  }
  tls_info_ = tls::peer_info(ssl);
  ws_handshake();
}

void WebSocketConnection::ws_handshake() {
  auto self = shared_from_this();
  with_stream([&](auto& s) {
    s.async_handshake(handshake_response_, ws::host_header(target_), resource_,
                      [this, self](const boost::system::error_code& ec) {
                        if (closed_) return;
                        if (ec) {
                          // With TLS 1.3 a rejected client certificate shows on the first read
                          if (wss_ && ec.category() == asio::error::get_ssl_category()) {
                            fail(tls::explain_handshake_failure(wss_->next_layer().native_handle(),
                                                                static_cast<unsigned long>(ec.value()), SSL_ERROR_SSL,
                                                                target_.server_name));
                            return;
                          }
                          std::string detail = ec.message();
                          if (handshake_response_.result_int() != 0 && handshake_response_.result_int() != 101)
                            detail = "HTTP " + std::to_string(handshake_response_.result_int()) + " " +
                                     std::string(handshake_response_.reason());
                          fail(make_error("ws-handshake", "WebSocket handshake with " + where() + " failed: " + detail));
                          return;
                        }
                        auto proto = handshake_response_[beast::http::field::sec_websocket_protocol];
                        if (!ws::accepts_sip(std::string_view(proto.data(), proto.size()))) {
                          fail(make_error("ws-subprotocol",
                                          where() + " did not accept the WebSocket subprotocol \"sip\" (RFC 7118 section 4.1)" +
                                              (proto.empty() ? std::string() : ": it chose \"" + std::string(proto) + "\"")));
                          return;
                        }
                        became_ready();
                      });
  });
}

void WebSocketConnection::became_ready() {
  if (connect_timer_) timers_.cancel(connect_timer_);
  connect_timer_ = 0;
  open_ = true;
  read();
  write_next();  // anything queued while connecting
  if (owner_.config().keepalive_interval.count() > 0)
    keepalive_timer_ = timers_.schedule(owner_.config().keepalive_interval, [this] {
      keepalive_timer_ = 0;
      keepalive_tick();
    });
  if (ready_) {
    auto r = std::move(ready_);
    ready_ = nullptr;
    r(FlowPtr(shared_from_this()));
  }
}

void WebSocketConnection::stop_timers() {
  for (auto* id : {&connect_timer_, &keepalive_timer_, &pong_timer_}) {
    if (*id) timers_.cancel(*id);
    *id = 0;
  }
}

void WebSocketConnection::shutdown_socket() {
  boost::system::error_code ec;
  tcp().shutdown(tcp::socket::shutdown_both, ec);
  tcp().close(ec);
}

void WebSocketConnection::fail(const Error& e) {
  if (closed_) return;
  bool was_open = open_;
  closed_ = true;
  open_ = false;
  stop_timers();
  shutdown_socket();
  owner_.forget(this);
  if (ready_) {
    auto r = std::move(ready_);
    ready_ = nullptr;
    r(e);
  }
  if (was_open && on_closed) on_closed(e);
}

void WebSocketConnection::close() {
  if (closed_) return;
  bool was_open = open_;
  closed_ = true;
  open_ = false;
  stop_timers();
  owner_.forget(this);
  if (!was_open) {
    shutdown_socket();
    return;
  }
  // RFC 6455 section 7.1.2: send a close frame, wait for the server's, then drop TCP.
  auto self = shared_from_this();
  std::weak_ptr<WebSocketConnection> weak = self;
  close_timer_ = timers_.schedule(kCloseGrace, [weak] {
    if (auto c = weak.lock()) {
      c->close_timer_ = 0;
      c->shutdown_socket();
    }
  });
  with_stream([&](auto& s) {
    s.async_close(websocket::close_code::normal, [this, self](const boost::system::error_code&) {
      if (close_timer_) timers_.cancel(close_timer_);
      close_timer_ = 0;
      shutdown_socket();
    });
  });
}

void WebSocketConnection::read() {
  auto self = shared_from_this();
  with_stream([&](auto& s) {
    s.async_read(read_buf_, [this, self](const boost::system::error_code& ec, std::size_t) {
      if (closed_) return;
      if (ec) {
        if (wss_ && ec.category() == asio::error::get_ssl_category()) {
          fail(tls::explain_handshake_failure(wss_->next_layer().native_handle(), static_cast<unsigned long>(ec.value()),
                                              SSL_ERROR_SSL, target_.server_name));
        } else if (ec == websocket::error::message_too_big || ec == websocket::error::buffer_overflow) {
          fail(make_error("sip-too-long", where() + " sent a message over " +
                                              std::to_string(owner_.config().limits.max_message_size) + " bytes"));
        } else if (ec == websocket::error::closed) {
          std::string why;
          with_stream([&](auto& st) {
            why = "code " + std::to_string(st.reason().code) +
                  (st.reason().reason.empty() ? "" : " " + std::string(st.reason().reason.c_str()));
          });
          fail(make_error("transport-closed", where() + " closed the WebSocket (" + why + ")"));
        } else {
          fail(make_error("transport-closed", "WebSocket " + where() + " closed: " + ec.message()));
        }
        return;
      }
      // section 5.1: each WebSocket message is exactly one SIP message, text or binary
      std::string msg = beast::buffers_to_string(read_buf_.data());
      read_buf_.consume(read_buf_.size());
      owner_.deliver(std::move(msg), self);
      if (!closed_) read();
    });
  });
}

Status WebSocketConnection::send(std::string wire) {
  if (closed_) return make_error("transport-closed", "WebSocket " + where() + " is closed");
  if (queue_.size() >= 256) return make_error("transport-busy", "write queue full");
  if (wire.size() > owner_.config().limits.max_message_size)
    return make_error("sip-too-long", "message of " + std::to_string(wire.size()) + " bytes over the limit");
  queue_.push_back(std::move(wire));
  if (open_ && !writing_) write_next();
  return Ok{};
}

void WebSocketConnection::write_next() {
  if (writing_) return;
  if (queue_.empty() || closed_) return;
  writing_ = true;
  auto self = shared_from_this();
  with_stream([&](auto& s) {
    s.text(ws::is_text(queue_.front()));  // section 5.1: text frames for UTF-8, else binary
    s.async_write(asio::buffer(queue_.front()), [this, self](const boost::system::error_code& ec, std::size_t) {
      writing_ = false;
      if (closed_) return;
      if (ec) {
        fail(make_error("transport-failed", "write to " + where() + ": " + ec.message()));
        return;
      }
      queue_.pop_front();
      write_next();
    });
  });
}

// RFC 7118 section 6 leaves keepalive to the WebSocket layer: a ping (RFC 6455 5.5.2) each
// keepalive_interval; no pong (or any control frame answer) within pong_timeout = dead flow.
void WebSocketConnection::keepalive_tick() {
  if (closed_) return;
  auto self = shared_from_this();
  if (!ping_in_flight_) {
    ping_in_flight_ = true;
    with_stream([&](auto& s) {
      s.async_ping({}, [this, self](const boost::system::error_code& ec) {
        ping_in_flight_ = false;
        if (closed_) return;
        if (ec) fail(make_error("transport-failed", "ping to " + where() + ": " + ec.message()));
      });
    });
  }
  if (!pong_timer_)
    pong_timer_ = timers_.schedule(owner_.config().pong_timeout, [this, self] {
      pong_timer_ = 0;
      fail(make_error("keepalive-timeout", "no WebSocket pong from " + where()));
    });
  keepalive_timer_ = timers_.schedule(owner_.config().keepalive_interval, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
}

}  // namespace exphone::net
