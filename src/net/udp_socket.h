// The UDP side of the transport layer: one socket, a receive loop, and flows that are just
// (socket, remote endpoint) pairs. Datagrams larger than the message limit are dropped.
#pragma once

#include <boost/asio/ip/udp.hpp>
#include <map>
#include <memory>
#include <vector>

#include "net/flow.h"

namespace exphone::net {

class TransportLayer;

class UdpSocket : public std::enable_shared_from_this<UdpSocket> {
 public:
  UdpSocket(boost::asio::io_context& io, TransportLayer& owner);
  Status open(const std::string& bind_address, std::uint16_t port);
  void close();
  Status send_to(const std::string& wire, const Endpoint& remote);
  Endpoint local() const { return local_; }
  FlowPtr flow(const Endpoint& remote);

 private:
  void receive();

  boost::asio::io_context& io_;
  boost::asio::ip::udp::socket socket_;
  TransportLayer& owner_;
  Endpoint local_;
  std::vector<char> buffer_;
  boost::asio::ip::udp::endpoint sender_;
  std::map<boost::asio::ip::address, Endpoint> local_cache_;
};

}  // namespace exphone::net
