#include "net/stream_connection.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "net/tls/tls_context.h"
#include "net/transport_layer.h"

namespace exphone::net {

namespace asio = boost::asio;
using asio::ip::tcp;

StreamConnection::StreamConnection(asio::io_context& io, TransportLayer& owner, TimerService& timers,
                                   Target target, SSL_CTX* tls_ctx)
    : io_(io),
      owner_(owner),
      timers_(timers),
      target_(std::move(target)),
      framer_(true, owner.config().limits) {
  if (target_.protocol == Protocol::kTls && tls_ctx) {
    SSL_CTX_up_ref(tls_ctx);  // asio's context takes ownership of one reference
    asio_ctx_ = std::make_unique<asio::ssl::context>(tls_ctx);
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io_, *asio_ctx_);
  } else {
    plain_ = std::make_unique<tcp::socket>(io_);
  }
  read_buf_.resize(16384);
}

StreamConnection::~StreamConnection() {
  if (idle_timer_) timers_.cancel(idle_timer_);
  if (connect_timer_) timers_.cancel(connect_timer_);
  if (keepalive_timer_) timers_.cancel(keepalive_timer_);
  if (pong_timer_) timers_.cancel(pong_timer_);
}

tcp::socket& StreamConnection::tcp() { return tls_ ? tls_->next_layer() : *plain_; }

void StreamConnection::start(Ready ready) {
  ready_ = std::move(ready);
  auto self = shared_from_this();
  connect_timer_ = timers_.schedule(owner_.config().connect_timeout, [this, self] {
    connect_timer_ = 0;
    fail(make_error("timeout", "no connection to " + target_.endpoint.to_string() + " within the connect timeout"));
  });
  tcp::endpoint ep(target_.endpoint.address, target_.endpoint.port);
  tcp().async_connect(ep, [this, self](const boost::system::error_code& ec) {
    if (closed_) return;
    if (ec) {
      fail(make_error("transport-failed", std::string(to_string(target_.protocol)) + " connect to " +
                                              target_.endpoint.to_string() + ": " + ec.message()));
      return;
    }
    on_connected();
  });
}

void StreamConnection::accept(tcp::socket socket) {
  inbound_ = true;
  framer_ = sip::StreamFramer(false, owner_.config().limits);  // server side: waits for whole pings
  tcp() = std::move(socket);
  boost::system::error_code ec;
  tcp().set_option(tcp::no_delay(true), ec);
  auto le = tcp().local_endpoint(ec);
  local_ = Endpoint{le.address(), le.port()};
  arm_idle();  // the handshake counts as a half message: it must finish in time
  if (!tls_) {
    open_ = true;
    read();
    return;
  }
  auto self = shared_from_this();
  tls_->async_handshake(asio::ssl::stream_base::server, [this, self](const boost::system::error_code& hec) {
    if (closed_) return;
    if (hec) {
      fail(make_error("tls-handshake", "TLS handshake from " + target_.endpoint.to_string() + " failed: " + hec.message()));
      return;
    }
    SSL* ssl = tls_->native_handle();
    tls_info_ = tls::peer_info(ssl);
    // server side: "verified" means the peer presented a certificate that chains to ca_files
    tls_info_->verified = SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
    open_ = true;
    half_deadline_ = false;  // handshake done: from now on the idle clock
    arm_idle();
    read();
  });
}

// An inbound connection must carry traffic: after idle_timeout without a byte it is closed, and
// a half message may not linger longer than half_message_timeout (slowloris, section 18.3).
// The half-message deadline runs from the first byte of a message (or the start of the TLS
// handshake) and more bytes of the same message do not extend it: a slow sender dripping a byte
// every few seconds is closed after half_message_timeout, not kept forever.
void StreamConnection::arm_idle() {
  if (!inbound_) return;
  bool half = framer_.buffered() > 0 || (tls_ && !open_);
  if (half && half_deadline_ && idle_timer_) return;  // this message's deadline stands
  if (idle_timer_) timers_.cancel(idle_timer_);
  half_deadline_ = half;
  Millis limit = half ? owner_.config().half_message_timeout : owner_.config().idle_timeout;
  auto self = shared_from_this();
  idle_timer_ = timers_.schedule(limit, [this, self, half] {
    idle_timer_ = 0;
    fail(make_error(half ? "transport-incomplete" : "transport-idle",
                    "closing connection from " + target_.endpoint.to_string() +
                        (half ? (open_ ? ": incomplete message" : ": TLS handshake not finished") : ": idle")));
  });
}

void StreamConnection::on_connected() {
  boost::system::error_code ec;
  // No Nagle: a SIP message is written whole, and waiting for an ACK costs a round trip per
  // message on slow links (time-to-ring).
  tcp().set_option(tcp::no_delay(true), ec);
  // RFC 5626 section 4.4.1 wants a pong within pong_timeout, but only a peer that has answered a
  // ping before is held to it (keepalive_tick: servers without outbound support never pong). A
  // flow that dies before its first pong - the link going down in the first keepalive interval -
  // would go unnoticed until a REGISTER refresh fails (Timer F after 85 % of expires: minutes).
  // The pings are data the peer's TCP must acknowledge, pong or not: TCP_USER_TIMEOUT (RFC 5482)
  // has the kernel end the connection when sent data stays unacknowledged for pong_timeout.
  if (owner_.config().keepalive_interval.count() > 0) {
    unsigned int ms = static_cast<unsigned int>(owner_.config().pong_timeout.count());
    (void)::setsockopt(tcp().native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
  }
  auto le = tcp().local_endpoint(ec);
  local_ = Endpoint{le.address(), le.port()};
  if (!tls_) {
    became_ready();
    return;
  }
  SSL* ssl = tls_->native_handle();
  Status prep = tls::prepare_client_ssl(ssl, owner_.config().tls, target_.server_name, &owner_.session_cache(),
                                        target_.endpoint.port);
  if (!prep) {
    fail(prep.error());
    return;
  }
  auto self = shared_from_this();
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [this, self](const boost::system::error_code& hec) { on_handshake(hec); });
}

void StreamConnection::on_handshake(const boost::system::error_code& ec) {
  if (closed_) return;
  SSL* ssl = tls_->native_handle();
  if (owner_.tls_observer()) owner_.tls_observer()(target_, ssl);
  if (ec) {
    unsigned long err = ec.category() == asio::error::get_ssl_category() ? static_cast<unsigned long>(ec.value()) : 0;
    int ssl_error = err ? SSL_ERROR_SSL : SSL_ERROR_SYSCALL;
    Error e = tls::explain_handshake_failure(ssl, err, ssl_error, target_.server_name);
    fail(e);
    return;
  }
  tls_info_ = tls::peer_info(ssl);
  became_ready();
}

void StreamConnection::became_ready() {
  if (connect_timer_) timers_.cancel(connect_timer_);
  connect_timer_ = 0;
  open_ = true;
  read();
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

void StreamConnection::fail(const Error& e) {
  if (closed_) return;
  bool was_open = open_;
  close();
  if (ready_) {
    auto r = std::move(ready_);
    ready_ = nullptr;
    r(e);
  }
  if (was_open && on_closed) on_closed(e);
}

void StreamConnection::close() {
  if (closed_) return;
  closed_ = true;
  open_ = false;
  if (idle_timer_) timers_.cancel(idle_timer_);
  idle_timer_ = 0;
  if (connect_timer_) timers_.cancel(connect_timer_);
  if (keepalive_timer_) timers_.cancel(keepalive_timer_);
  if (pong_timer_) timers_.cancel(pong_timer_);
  connect_timer_ = keepalive_timer_ = pong_timer_ = 0;
  boost::system::error_code ec;
  tcp().shutdown(tcp::socket::shutdown_both, ec);
  tcp().close(ec);
  owner_.forget(this);
}

void StreamConnection::read() {
  auto self = shared_from_this();
  auto handler = [this, self](const boost::system::error_code& ec, std::size_t n) {
    if (closed_) return;
    if (ec) {
      // With TLS 1.3 a rejected client certificate shows up on the first read (RFC 8446 4.4.2.4)
      if (tls_ && ec.category() == asio::error::get_ssl_category()) {
        fail(tls::explain_handshake_failure(tls_->native_handle(), static_cast<unsigned long>(ec.value()),
                                            SSL_ERROR_SSL, target_.server_name));
      } else {
        fail(make_error("transport-closed", "connection to " + target_.endpoint.to_string() + " closed: " + ec.message()));
      }
      return;
    }
    on_bytes(n);
    if (!closed_) read();
  };
  if (tls_)
    tls_->async_read_some(asio::buffer(read_buf_), handler);
  else
    plain_->async_read_some(asio::buffer(read_buf_), handler);
}

void StreamConnection::on_bytes(std::size_t n) {
  Status fed = framer_.feed(std::string_view(read_buf_.data(), n));
  if (!fed) {
    fail(fed.error());
    return;
  }
  struct Rearm {  // whatever happens below, the idle/half-message clock restarts
    StreamConnection* c;
    ~Rearm() {
      if (!c->closed_) c->arm_idle();
    }
  } rearm{this};
  std::string msg;
  auto self = shared_from_this();
  for (;;) {
    auto ev = framer_.next(&msg);
    if (!ev) {
      // framing lost (garbage, missing Content-Length): this flow cannot continue
      fail(ev.error());
      return;
    }
    if (*ev != sip::StreamFramer::Event::kNeedMore) half_deadline_ = false;  // a whole unit: the next starts afresh
    switch (*ev) {
      case sip::StreamFramer::Event::kNeedMore:
        return;
      case sip::StreamFramer::Event::kPing:
        (void)send("\r\n");  // RFC 5626 section 4.4.1: pong
        break;
      case sip::StreamFramer::Event::kPong:
        pong_seen_ = true;
        if (pong_timer_) timers_.cancel(pong_timer_);
        pong_timer_ = 0;
        break;
      case sip::StreamFramer::Event::kMessage:
        owner_.deliver(std::move(msg), self);
        if (closed_) return;
        break;
    }
  }
}

Status StreamConnection::send(std::string wire) {
  if (closed_) return make_error("transport-closed", "connection to " + target_.endpoint.to_string() + " is closed");
  if (queue_.size() >= 256) return make_error("transport-busy", "write queue full");
  queue_.push_back(std::move(wire));
  if (open_ && !writing_) write_next();
  return Ok{};
}

void StreamConnection::write_next() {
  if (queue_.empty() || closed_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  auto self = shared_from_this();
  auto handler = [this, self](const boost::system::error_code& ec, std::size_t) {
    if (closed_) return;
    if (ec) {
      fail(make_error("transport-failed", "write to " + target_.endpoint.to_string() + ": " + ec.message()));
      return;
    }
    queue_.pop_front();
    write_next();
  };
  if (tls_)
    asio::async_write(*tls_, asio::buffer(queue_.front()), handler);
  else
    asio::async_write(*plain_, asio::buffer(queue_.front()), handler);
}

void StreamConnection::keepalive_tick() {
  if (closed_) return;
  // RFC 5626 section 4.4.1: ping = CRLFCRLF, expect a CRLF pong
  (void)send("\r\n\r\n");
  auto self = shared_from_this();
  // Only a peer that has answered a ping before is expected to answer this one: servers without
  // RFC 5626 support never pong, and their flows must not be torn down for it.
  if (pong_seen_ && !pong_timer_)
    pong_timer_ = timers_.schedule(owner_.config().pong_timeout, [this, self] {
      pong_timer_ = 0;
      fail(make_error("keepalive-timeout", "no keepalive pong from " + target_.endpoint.to_string()));
    });
  keepalive_timer_ = timers_.schedule(owner_.config().keepalive_interval, [this] {
    keepalive_timer_ = 0;
    keepalive_tick();
  });
}

}  // namespace exphone::net
