// A client TCP or TLS connection carrying SIP: Content-Length framing (sip::StreamFramer),
// a write queue, RFC 5626 CRLF keepalives, and the TLS handshake with the verification of
// net/tls. Lives on the event loop; owned by the TransportLayer and by the flows handed out.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "core/timer.h"
#include "net/flow.h"
#include "sip/framer.h"

namespace exphone::net {

class TransportLayer;

class StreamConnection final : public Flow, public std::enable_shared_from_this<StreamConnection> {
 public:
  using Ready = std::function<void(Result<FlowPtr>)>;

  StreamConnection(boost::asio::io_context& io, TransportLayer& owner, TimerService& timers, Target target,
                   SSL_CTX* tls_ctx /* null for TCP */);
  ~StreamConnection() override;

  void start(Ready ready);  // connect (+ handshake), then read; ready runs once
  // Server side: a TCP connection a peer opened to our listener. Reads at once; closes the
  // connection when it idles or holds a half message too long (section 18.3 framing is lost).
  void accept(boost::asio::ip::tcp::socket socket);  // TLS when built with a server context

  Protocol protocol() const override { return target_.protocol; }
  Status send(std::string wire) override;
  Endpoint local() const override { return local_; }
  Endpoint remote() const override { return target_.endpoint; }
  bool is_open() const override { return open_; }
  void close() override;
  const tls::TlsPeerInfo* tls_info() const override { return tls_info_ ? &*tls_info_ : nullptr; }
  const Target& target() const { return target_; }

 private:
  void on_connected();
  void on_handshake(const boost::system::error_code& ec);
  void became_ready();
  void fail(const Error& e);
  void read();
  void on_bytes(std::size_t n);
  void write_next();
  void keepalive_tick();
  void arm_idle();
  boost::asio::ip::tcp::socket& tcp();

  boost::asio::io_context& io_;
  TransportLayer& owner_;
  TimerService& timers_;
  Target target_;
  std::unique_ptr<boost::asio::ssl::context> asio_ctx_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> tls_;
  std::unique_ptr<boost::asio::ip::tcp::socket> plain_;
  sip::StreamFramer framer_;
  std::vector<char> read_buf_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool open_ = false;
  bool closed_ = false;
  bool pong_seen_ = false;
  Ready ready_;
  Endpoint local_;
  std::optional<tls::TlsPeerInfo> tls_info_;
  TimerService::Id connect_timer_ = 0;
  TimerService::Id keepalive_timer_ = 0;
  TimerService::Id pong_timer_ = 0;
  TimerService::Id idle_timer_ = 0;
  bool inbound_ = false;
  bool half_deadline_ = false;  // idle_timer_ is the half-message deadline (not extended by more bytes)
};

}  // namespace exphone::net
