// Asynchronous DNS on the event loop through c-ares: NAPTR, SRV and A/AAAA lookups for
// RFC 3263 server location. Never blocks the loop (media keeps flowing during a lookup).
#pragma once

#include <ares.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace exphone::net {

struct NaptrRecord {
  std::uint16_t order = 0;
  std::uint16_t preference = 0;
  std::string flags;        // "s": the replacement is an SRV name
  std::string service;      // "SIPS+D2T", "SIP+D2T", "SIP+D2U" (RFC 3263 section 4.1)
  std::string replacement;
};

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;
};

class DnsResolver {
 public:
  // servers: "ip:port" entries; empty = the system's resolv.conf.
  static Result<std::unique_ptr<DnsResolver>> create(boost::asio::io_context& io,
                                                     const std::vector<std::string>& servers);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // An empty result (no error) means the name exists but has no such records (or NXDOMAIN).
  void naptr(const std::string& name, std::function<void(Result<std::vector<NaptrRecord>>)> done);
  void srv(const std::string& name, std::function<void(Result<std::vector<SrvRecord>>)> done);
  void addresses(const std::string& name, std::function<void(Result<std::vector<boost::asio::ip::address>>)> done);

 private:
  explicit DnsResolver(boost::asio::io_context& io);
  void watch();  // re-arm socket waits and the timeout after every c-ares call
  void wait_on(int fd, bool write);

  struct Socket {
    std::unique_ptr<boost::asio::posix::stream_descriptor> desc;
    bool reading = false;
    bool writing = false;
  };

  boost::asio::io_context& io_;
  ares_channel channel_ = nullptr;
  std::map<int, Socket> sockets_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace exphone::net
