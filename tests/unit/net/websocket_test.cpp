// SIP over WebSocket (RFC 7118): transport names, handshake rules, frame type choice, and the
// client connection against an in-process Boost.Beast WebSocket server on loopback.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <optional>

#include "net/asio_timers.h"
#include "net/endpoint.h"
#include "net/transport_layer.h"
#include "net/websocket_sip.h"

namespace {

using namespace exphone;
using net::Protocol;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;

TEST(WebSocketTransport, ProtocolNames) {
  EXPECT_EQ(net::parse_protocol("ws"), Protocol::kWs);
  EXPECT_EQ(net::parse_protocol("WSS"), Protocol::kWss);
  EXPECT_EQ(net::parse_protocol("wsx"), std::nullopt);
  EXPECT_EQ(net::via_token(Protocol::kWs), "WS");  // RFC 7118 section 5.2
  EXPECT_EQ(net::via_token(Protocol::kWss), "WSS");
  EXPECT_EQ(net::to_string(Protocol::kWss), "wss");
  EXPECT_EQ(net::default_port(Protocol::kWs), 80);
  EXPECT_EQ(net::default_port(Protocol::kWss), 443);
  EXPECT_TRUE(net::uses_tls(Protocol::kWss));
  EXPECT_TRUE(net::uses_tls(Protocol::kTls));
  EXPECT_FALSE(net::uses_tls(Protocol::kWs));
  EXPECT_TRUE(net::is_reliable(Protocol::kWs));
  EXPECT_TRUE(net::is_websocket(Protocol::kWs));
  EXPECT_FALSE(net::is_websocket(Protocol::kTls));
}

TEST(WebSocketTransport, SubprotocolMustBeSip) {
  EXPECT_TRUE(net::ws::accepts_sip("sip"));
  EXPECT_TRUE(net::ws::accepts_sip(" sip "));
  EXPECT_FALSE(net::ws::accepts_sip(""));
  EXPECT_FALSE(net::ws::accepts_sip("chat"));
  EXPECT_FALSE(net::ws::accepts_sip("sip, chat"));
}

TEST(WebSocketTransport, HostHeader) {
  auto addr = asio::ip::make_address("127.0.0.1");
  EXPECT_EQ(net::ws::host_header({Protocol::kWss, {addr, 443}, "pbx.example"}), "pbx.example");
  EXPECT_EQ(net::ws::host_header({Protocol::kWss, {addr, 8443}, "pbx.example"}), "pbx.example:8443");
  EXPECT_EQ(net::ws::host_header({Protocol::kWs, {addr, 80}, ""}), "127.0.0.1");
  auto v6 = asio::ip::make_address("::1");
  EXPECT_EQ(net::ws::host_header({Protocol::kWs, {v6, 8080}, "::1"}), "[::1]:8080");
  EXPECT_EQ(net::ws::host_header({Protocol::kWs, {v6, 80}, "[::1]"}), "[::1]");
}

TEST(WebSocketTransport, Resource) {
  EXPECT_EQ(*net::ws::resource(""), "/");
  EXPECT_EQ(*net::ws::resource("/sip?x=1"), "/sip?x=1");
  EXPECT_FALSE(net::ws::resource("sip"));
  EXPECT_FALSE(net::ws::resource("/a b"));
  EXPECT_FALSE(net::ws::resource("/a\r\nHost: x"));
}

TEST(WebSocketTransport, TextOrBinaryFrame) {
  EXPECT_TRUE(net::ws::is_text("OPTIONS sip:a SIP/2.0\r\n\r\n"));
  EXPECT_TRUE(net::ws::is_text("From: \"J\xc3\xbcrgen\" <sip:j@x>"));  // U+00FC
  EXPECT_TRUE(net::ws::is_text("\xf0\x9f\x93\x9e"));                   // U+1F4DE
  EXPECT_FALSE(net::ws::is_text("\xc3"));                              // truncated
  EXPECT_FALSE(net::ws::is_text("\xc0\xaf"));                          // overlong
  EXPECT_FALSE(net::ws::is_text("\xed\xa0\x80"));                      // surrogate
  EXPECT_FALSE(net::ws::is_text("\xf4\x90\x80\x80"));                  // above U+10FFFF
  EXPECT_FALSE(net::ws::is_text(std::string("v=0\r\n\xff\x00", 7)));
}

// A one-connection WebSocket server on 127.0.0.1 (a real peer: Beast's server role).
struct Server {
  using Ws = websocket::stream<tcp::socket>;
  tcp::acceptor acceptor;
  std::unique_ptr<Ws> ws;
  beast::flat_buffer buf;
  std::optional<std::string> subprotocol;  // echoed in the handshake response
  std::string requested;                   // the client's Sec-WebSocket-Protocol
  std::string received;
  bool received_text = false;
  std::string reply;  // sent after the first message
  bool silent = false;  // never reads: pings stay unanswered

  explicit Server(asio::io_context& io, std::optional<std::string> proto)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), subprotocol(std::move(proto)) {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      ws = std::make_unique<Ws>(std::move(s));
      ws->read_message_max(1 << 20);
      ws->set_option(websocket::stream_base::decorator([this](websocket::response_type& res) {
        if (subprotocol) res.set(beast::http::field::sec_websocket_protocol, *subprotocol);
      }));
      auto req = std::make_shared<websocket::request_type>();
      auto hbuf = std::make_shared<beast::flat_buffer>();
      beast::http::async_read(ws->next_layer(), *hbuf, *req, [this, req, hbuf](boost::system::error_code ec, std::size_t) {
        if (ec) return;
        requested = std::string((*req)[beast::http::field::sec_websocket_protocol]);
        ws->async_accept(*req, [this](boost::system::error_code ec) {
          if (!ec && !silent) read();
        });
      });
    });
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  void read() {
    ws->async_read(buf, [this](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      received = beast::buffers_to_string(buf.data());
      received_text = ws->got_text();
      buf.consume(buf.size());
      if (!reply.empty()) {
        ws->text(true);
        ws->async_write(asio::buffer(reply), [this](boost::system::error_code, std::size_t) { read(); });
      } else {
        read();
      }
    });
  }
};

struct Fixture {
  asio::io_context io;
  net::AsioTimers timers{io};
  std::unique_ptr<net::TransportLayer> transport;
  explicit Fixture(std::size_t max_message = 65535, Millis keepalive = Millis{30000}) {
    net::TransportConfig cfg;
    cfg.keepalive_interval = keepalive;
    cfg.pong_timeout = Millis{300};
    cfg.connect_timeout = Millis{5000};
    cfg.limits.max_message_size = max_message;
    transport = std::move(*net::TransportLayer::create(io, timers, cfg, false));
  }
  net::Target target(std::uint16_t port) {
    return net::Target{Protocol::kWs, net::Endpoint{asio::ip::make_address("127.0.0.1"), port}, "127.0.0.1"};
  }
  void run_until(const std::function<bool()>& done) {
    for (int i = 0; i < 500 && !done(); ++i) io.run_for(std::chrono::milliseconds(10));
  }
};

const std::string kOptions =
    "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS 127.0.0.1:5;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
    "From: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
const std::string kOk =
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/WS 127.0.0.1:5;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\n"
    "To: <sip:b@x>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

TEST(WebSocketConnection, OneSipMessagePerWebSocketMessage) {
  Fixture f;
  Server srv(f.io, "sip");
  srv.reply = kOk;
  std::optional<Result<net::FlowPtr>> flow;
  std::optional<sip::Message> got;
  f.transport->set_handler([&](sip::Message m, net::FlowPtr) { got = std::move(m); });
  f.transport->connect(f.target(srv.port()), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow && *flow) << (flow ? (*flow).error().message : "no result");
  EXPECT_EQ(srv.requested, "sip");  // RFC 7118 section 4.1
  EXPECT_EQ((**flow)->protocol(), Protocol::kWs);
  EXPECT_EQ((**flow)->tls_info(), nullptr);
  ASSERT_TRUE((**flow)->send(kOptions));
  f.run_until([&] { return got.has_value(); });
  EXPECT_EQ(srv.received, kOptions);  // no extra framing, no Content-Length games
  EXPECT_TRUE(srv.received_text);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->status(), 200);
  (**flow)->close();
  EXPECT_FALSE((**flow)->is_open());
  f.io.run_for(std::chrono::milliseconds(100));
}

TEST(WebSocketConnection, ServerWithoutSipSubprotocolIsRefused) {
  Fixture f;
  Server srv(f.io, std::nullopt);
  std::optional<Result<net::FlowPtr>> flow;
  f.transport->connect(f.target(srv.port()), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow.has_value());
  ASSERT_FALSE(*flow);
  EXPECT_EQ(flow->error().code, "ws-subprotocol");
}

TEST(WebSocketConnection, OversizedMessageClosesTheFlow) {
  Fixture f(1024);
  Server srv(f.io, "sip");
  srv.reply = kOk + std::string(2000, 'x');
  std::optional<Result<net::FlowPtr>> flow;
  std::optional<Error> closed;
  f.transport->connect(f.target(srv.port()), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow && *flow);
  (**flow)->on_closed = [&](const Error& e) { closed = e; };
  ASSERT_TRUE((**flow)->send(kOptions));
  f.run_until([&] { return closed.has_value(); });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, "sip-too-long");
  EXPECT_EQ(f.transport->connection_count(), 0u);
}

// RFC 6455 section 5.5.2/5.5.3: a peer that stops answering pings is a dead flow; on_closed
// lets the registration open a new one (RFC 5626 section 4.4.1 semantics).
TEST(WebSocketConnection, UnansweredPingDeclaresTheFlowDead) {
  Fixture f(65535, Millis{100});
  Server srv(f.io, "sip");
  srv.silent = true;
  std::optional<Result<net::FlowPtr>> flow;
  std::optional<Error> closed;
  f.transport->connect(f.target(srv.port()), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow && *flow);
  (**flow)->on_closed = [&](const Error& e) { closed = e; };
  f.run_until([&] { return closed.has_value(); });
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code, "keepalive-timeout");
  EXPECT_FALSE((**flow)->is_open());
}

TEST(WebSocketConnection, AnsweredPingsKeepTheFlow) {
  Fixture f(65535, Millis{50});
  Server srv(f.io, "sip");
  std::optional<Result<net::FlowPtr>> flow;
  bool closed = false;
  f.transport->connect(f.target(srv.port()), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow && *flow);
  (**flow)->on_closed = [&](const Error&) { closed = true; };
  f.io.run_for(std::chrono::milliseconds(800));  // 16 ping rounds, pong_timeout 300 ms
  EXPECT_FALSE(closed);
  EXPECT_TRUE((**flow)->is_open());
  (**flow)->close();
  f.io.run_for(std::chrono::milliseconds(100));
}

TEST(WebSocketConnection, NoListenerFailsCleanly) {
  Fixture f;
  std::uint16_t port;
  {
    tcp::acceptor a(f.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  std::optional<Result<net::FlowPtr>> flow;
  f.transport->connect(f.target(port), [&](Result<net::FlowPtr> r) { flow = std::move(r); });
  f.run_until([&] { return flow.has_value(); });
  ASSERT_TRUE(flow.has_value());
  ASSERT_FALSE(*flow);
  EXPECT_EQ(flow->error().code, "transport-failed");
}

}  // namespace
