#include "net/udp_socket.h"

#include <boost/asio/ip/v6_only.hpp>

#include "net/transport_layer.h"

namespace exphone::net {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

// The local address the kernel would use toward `remote` (a connected UDP socket sends nothing),
// with our socket's port: what Via and Contact must carry when the socket is bound to 0.0.0.0.
Endpoint local_toward(const Endpoint& bound, const Endpoint& remote, asio::io_context& io) {
  if (!bound.address.is_unspecified()) return bound;
  boost::system::error_code ec;
  udp::socket probe(io);
  probe.open(remote.address.is_v6() ? udp::v6() : udp::v4(), ec);
  if (!ec) probe.connect(udp::endpoint(remote.address, remote.port), ec);
  if (ec) return bound;
  auto le = probe.local_endpoint(ec);
  if (ec) return bound;
  return Endpoint{le.address(), bound.port};
}

class UdpFlow final : public Flow {
 public:
  UdpFlow(std::shared_ptr<UdpSocket> socket, Endpoint remote, Endpoint local)
      : socket_(std::move(socket)), remote_(remote), local_(local) {}
  Protocol protocol() const override { return Protocol::kUdp; }
  Status send(std::string wire) override { return socket_->send_to(wire, remote_); }
  Endpoint local() const override { return local_; }
  Endpoint remote() const override { return remote_; }
  bool is_open() const override { return true; }
  void close() override {}

 private:
  std::shared_ptr<UdpSocket> socket_;
  Endpoint remote_;
  Endpoint local_;
};

}  // namespace

UdpSocket::UdpSocket(asio::io_context& io, TransportLayer& owner) : io_(io), socket_(io), owner_(owner) {}

Status UdpSocket::open(const std::string& bind_address, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(bind_address, ec);
  if (ec) return make_error("transport-config", "bad UDP bind address " + bind_address);
  udp::endpoint ep(addr, port);
  socket_.open(ep.protocol(), ec);
  // one socket per family: the IPv6 one must not also claim the IPv4 port
  if (!ec && ep.address().is_v6()) socket_.set_option(boost::asio::ip::v6_only(true), ec);
  if (!ec) socket_.bind(ep, ec);
  if (ec) return make_error("transport-failed", "cannot bind UDP " + bind_address + ":" + std::to_string(port) + ": " + ec.message());
  auto le = socket_.local_endpoint(ec);
  local_ = Endpoint{le.address(), le.port()};
  buffer_.resize(owner_.config().limits.max_message_size + 1);
  receive();
  return Ok{};
}

void UdpSocket::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void UdpSocket::receive() {
  auto self = shared_from_this();
  socket_.async_receive_from(asio::buffer(buffer_), sender_, [this, self](const boost::system::error_code& ec, std::size_t n) {
    if (ec == asio::error::operation_aborted || !socket_.is_open()) return;
    // An oversized datagram fills the buffer: drop it (bounded work, section 18.1.1 limits).
    if (!ec && n > 0 && n < buffer_.size())
      owner_.deliver(std::string(buffer_.data(), n), flow(Endpoint{sender_.address(), sender_.port()}));
    receive();
  });
}

Status UdpSocket::send_to(const std::string& wire, const Endpoint& remote) {
  boost::system::error_code ec;
  socket_.send_to(asio::buffer(wire), udp::endpoint(remote.address, remote.port), 0, ec);
  if (ec) return make_error("transport-failed", "UDP send to " + remote.to_string() + ": " + ec.message());
  return Ok{};
}

FlowPtr UdpSocket::flow(const Endpoint& remote) {
  auto it = local_cache_.find(remote.address);
  if (it == local_cache_.end()) {
    if (local_cache_.size() > 64) local_cache_.clear();
    it = local_cache_.emplace(remote.address, local_toward(local_, remote, io_)).first;
  }
  return std::make_shared<UdpFlow>(shared_from_this(), remote, it->second);
}

}  // namespace exphone::net
