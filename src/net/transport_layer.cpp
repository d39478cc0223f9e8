#include "net/transport_layer.h"

#include <boost/asio/post.hpp>
#include <cstdint>
#include <utility>

#include "core/text.h"
#include "net/stream_connection.h"
#include "net/udp_socket.h"
#include "net/websocket_connection.h"
#include "net/websocket_sip.h"

namespace exphone::net {

Result<std::unique_ptr<TransportLayer>> TransportLayer::create(boost::asio::io_context& io, TimerService& timers,
                                                               TransportConfig config, bool tls_needed) {
  tls::SslCtx ctx;
  if (tls_needed) {
    auto c = tls::make_client_context(config.tls);
    if (!c) return c.error();
    ctx = std::move(*c);
  }
  return std::unique_ptr<TransportLayer>(new TransportLayer(io, timers, std::move(config), std::move(ctx)));
}

TransportLayer::TransportLayer(boost::asio::io_context& io, TimerService& timers, TransportConfig config, tls::SslCtx ctx)
    : io_(io), timers_(timers), config_(std::move(config)), tls_ctx_(std::move(ctx)) {}

TransportLayer::~TransportLayer() {
  auto conns = std::move(connections_);
  connections_.clear();
  for (auto& [k, c] : conns) {
    c->on_closed = nullptr;
    c->close();
  }
  if (udp_) udp_->close();
  if (udp6_) udp6_->close();
  for (auto& l : listeners_) {
    boost::system::error_code ec;
    l->acceptor->close(ec);
  }
}

Status TransportLayer::open_udp(bool v6) {
  auto& slot = v6 ? udp6_ : udp_;
  if (slot) return Ok{};
  boost::system::error_code ec;
  auto configured = boost::asio::ip::make_address(config_.udp_bind, ec);
  std::string bind = !ec && configured.is_v6() == v6 ? config_.udp_bind : (v6 ? "::" : "0.0.0.0");
  auto s = std::make_shared<UdpSocket>(io_, *this);
  Status st = s->open(bind, config_.udp_port);
  if (!st) return st;
  slot = std::move(s);
  return Ok{};
}

Result<FlowPtr> TransportLayer::udp_flow(const Endpoint& remote) {
  bool v6 = remote.address.is_v6();
  Status st = open_udp(v6);
  if (!st) return st.error();
  return (v6 ? udp6_ : udp_)->flow(remote);
}

void TransportLayer::connect(const Target& target, std::function<void(Result<FlowPtr>)> done) {
  std::string key = std::string(to_string(target.protocol)) + "|" + target.endpoint.to_string() + "|" + target.server_name;
  auto it = connections_.find(key);
  if (it != connections_.end() && it->second->is_open()) {
    done(FlowPtr(it->second));
    return;
  }
  if (it == connections_.end() && connections_.size() >= config_.max_connections && !shed_inbound()) {
    done(make_error("transport-limit", "too many connections (" + std::to_string(config_.max_connections) + ")"));
    return;
  }
  if (it != connections_.end()) {
    // still connecting: a second connect for the same target waits for a fresh one; keep it simple
    it->second->close();
  }
  if (uses_tls(target.protocol) && !tls_ctx_) {
    auto ctx = tls::make_client_context(config_.tls);
    if (!ctx) {
      done(ctx.error());
      return;
    }
    tls_ctx_ = std::move(*ctx);
  }
  if (is_websocket(target.protocol)) {
    auto resource = ws::resource(config_.ws_resource);
    if (!resource) {
      done(resource.error());
      return;
    }
    auto w = std::make_shared<WebSocketConnection>(io_, *this, timers_, target, *resource,
                                                   target.protocol == Protocol::kWss ? tls_ctx_.get() : nullptr);
    connections_[key] = w;
    w->start(std::move(done));
    return;
  }
  auto c = std::make_shared<StreamConnection>(io_, *this, timers_, target,
                                              target.protocol == Protocol::kTls ? tls_ctx_.get() : nullptr);
  connections_[key] = c;
  c->start(std::move(done));
}

Result<Endpoint> TransportLayer::listen_tcp(const std::string& bind, std::uint16_t port) {
  return listen(Protocol::kTcp, bind, port);
}

Result<Endpoint> TransportLayer::listen_tls(const std::string& bind, std::uint16_t port, bool require_client_cert) {
  auto ctx = tls::make_server_context(config_.tls, require_client_cert);
  if (!ctx) return ctx.error();
  tls_server_ctx_ = std::move(*ctx);
  return listen(Protocol::kTls, bind, port);
}

Result<Endpoint> TransportLayer::listen(Protocol p, const std::string& bind, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(bind, ec);
  std::string what = std::string(to_string(p)) + " " + bind + ":" + std::to_string(port);
  if (ec) return make_error("transport-config", "bad listen address " + what);
  boost::asio::ip::tcp::endpoint ep(addr, port);
  auto l = std::make_unique<Listener>(Listener{p, std::make_unique<boost::asio::ip::tcp::acceptor>(io_)});
  auto& a = *l->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error("transport-failed", "cannot listen on " + what + ": " + ec.message());
  auto le = a.local_endpoint(ec);
  listeners_.push_back(std::move(l));
  accept_next(*listeners_.back());
  return Endpoint{le.address(), le.port()};
}

void TransportLayer::accept_next(Listener& l) {
  l.acceptor->async_accept([this, &l](const boost::system::error_code& ec, boost::asio::ip::tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || !l.acceptor->is_open()) return;
    if (!ec) {
      boost::system::error_code rec;
      auto remote = socket.remote_endpoint(rec);
      if (rec || connections_.size() >= config_.max_connections) {
        socket.close(rec);  // bounded: the flows already open (the registrar's) are kept
      } else {
        Target t{l.protocol, Endpoint{remote.address(), remote.port()}, ""};
        auto c = std::make_shared<StreamConnection>(io_, *this, timers_, t,
                                                    l.protocol == Protocol::kTls ? tls_server_ctx_.get() : nullptr);
        connections_["in|" + std::to_string(++inbound_seq_) + "|" + t.endpoint.to_string()] = c;
        c->accept(std::move(socket));
      }
    }
    accept_next(l);
  });
}

// Our own connections (the registrar's flow, a call we place) come before inbound ones: with
// the table full of connections others opened to our listeners (idle, slowloris), one of them is
// closed to make room — an unauthenticated one (no verified client certificate) first, and of
// those the oldest.
bool TransportLayer::shed_inbound() {
  auto victim = connections_.end();
  auto rank = [](const std::string& key, const Flow& f) {
    // key "in|SEQ|endpoint": SEQ is the arrival order
    std::uint64_t seq = text::parse_uint(std::string_view(key).substr(3, key.find('|', 3) - 3), UINT64_MAX).value_or(0);
    bool verified = f.tls_info() && f.tls_info()->verified;
    return std::pair{verified, seq};
  };
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->first.rfind("in|", 0) != 0) continue;
    if (victim == connections_.end() || rank(it->first, *it->second) < rank(victim->first, *victim->second)) victim = it;
  }
  if (victim == connections_.end()) return false;
  FlowPtr f = victim->second;
  connections_.erase(victim);  // close() forgets it too; erase first so the count drops now
  f->close();
  return true;
}

std::size_t TransportLayer::connection_count() const { return connections_.size(); }

void TransportLayer::forget(Flow* c) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it)
    if (it->second.get() == c) {
      // erase later: `c` is running one of its own handlers
      auto keep = it->second;
      connections_.erase(it);
      boost::asio::post(io_, [keep] {});
      return;
    }
}

void TransportLayer::deliver(std::string bytes, FlowPtr flow) {
  auto m = sip::Message::parse(std::move(bytes), config_.limits);
  if (!m) return;  // unparseable: dropped (section 18.1.2 / 18.2.1); nothing can be answered
  if (handler_) handler_(std::move(*m), std::move(flow));
}

}  // namespace exphone::net
