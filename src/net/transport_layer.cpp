#include "net/transport_layer.h"

#include <boost/asio/post.hpp>

#include "net/stream_connection.h"
#include "net/udp_socket.h"

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
}

Status TransportLayer::open_udp() {
  if (udp_) return Ok{};
  auto s = std::make_shared<UdpSocket>(io_, *this);
  Status st = s->open(config_.udp_bind, config_.udp_port);
  if (!st) return st;
  udp_ = std::move(s);
  return Ok{};
}

Result<FlowPtr> TransportLayer::udp_flow(const Endpoint& remote) {
  Status st = open_udp();
  if (!st) return st.error();
  return udp_->flow(remote);
}

void TransportLayer::connect(const Target& target, std::function<void(Result<FlowPtr>)> done) {
  std::string key = std::string(to_string(target.protocol)) + "|" + target.endpoint.to_string() + "|" + target.server_name;
  auto it = connections_.find(key);
  if (it != connections_.end() && it->second->is_open()) {
    done(FlowPtr(it->second));
    return;
  }
  if (it == connections_.end() && connections_.size() >= config_.max_connections) {
    done(make_error("transport-limit", "too many connections (" + std::to_string(config_.max_connections) + ")"));
    return;
  }
  if (it != connections_.end()) {
    // still connecting: a second connect for the same target waits for a fresh one; keep it simple
    it->second->close();
  }
  if (target.protocol == Protocol::kTls && !tls_ctx_) {
    auto ctx = tls::make_client_context(config_.tls);
    if (!ctx) {
      done(ctx.error());
      return;
    }
    tls_ctx_ = std::move(*ctx);
  }
  auto c = std::make_shared<StreamConnection>(io_, *this, timers_, target,
                                              target.protocol == Protocol::kTls ? tls_ctx_.get() : nullptr);
  connections_[key] = c;
  c->start(std::move(done));
}

std::size_t TransportLayer::connection_count() const { return connections_.size(); }

void TransportLayer::forget(StreamConnection* c) {
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
