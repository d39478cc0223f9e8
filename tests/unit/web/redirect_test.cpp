// [web] http_redirect_listen: plain HTTP only ever answers 301 to the HTTPS page.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "phone/config.h"
#include "web/web_server.h"

using namespace exphone;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::uint16_t free_port() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

std::string http_exchange(std::uint16_t port, const std::string& request) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

}  // namespace

TEST(WebRedirect, PlainHttpOnlyRedirectsToHttps) {
  asio::io_context io;
  phone::WebConfig c;
  c.listen = "127.0.0.1:0";
  const std::uint16_t plain = free_port();
  c.http_redirect_listen = "127.0.0.1:" + std::to_string(plain);
  auto w = web::WebServer::open(io, c, net::tls::TlsClientConfig{}, [] { return nlohmann::ordered_json::object(); });
  ASSERT_TRUE(w) << w.error().message;
  const std::string https = (*w)->local_address();
  const std::string https_port = https.substr(https.rfind(':') + 1);
  std::thread t([&] { io.run_for(std::chrono::seconds(5)); });
  std::string a = http_exchange(plain, "GET /login?x=1 HTTP/1.1\r\nHost: phone.plant.local:8080\r\n\r\n");
  std::string b = http_exchange(plain, "POST /login HTTP/1.1\r\nHost: <script>\r\nContent-Length: 5\r\n\r\nab");
  std::string big = http_exchange(plain, "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'a') + "\r\n\r\n");
  io.stop();
  t.join();
  EXPECT_EQ(a.rfind("HTTP/1.1 301", 0), 0u) << a;
  EXPECT_NE(a.find("Location: https://phone.plant.local:" + https_port + "/\r\n"), std::string::npos) << a;
  EXPECT_EQ(a.find("Strict-Transport-Security"), std::string::npos);
  EXPECT_NE(b.find("Location: https://127.0.0.1:" + https_port + "/\r\n"), std::string::npos) << b;  // odd Host: our address
  EXPECT_EQ(big.find("301"), std::string::npos);  // too large: closed, nothing served
}

TEST(WebRedirect, NeedsTheHttpsListener) {
  auto c = phone::parse_config("[web]\nhttp_redirect_listen = \"127.0.0.1:8080\"\n", "/etc/exphone", "t.toml");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("web.listen"), std::string::npos);
}
