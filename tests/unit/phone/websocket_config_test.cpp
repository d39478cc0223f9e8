// SIP over WebSocket accounts (RFC 7118) in the device configuration: transport = "ws"|"wss",
// ;transport=ws|wss on the registrar URI, sips: with wss, and [sip] ws_path.
#include <gtest/gtest.h>

#include "phone/config.h"
#include "ua/registration.h"

using exphone::net::Protocol;
using exphone::phone::parse_config;

namespace {

exphone::Result<exphone::phone::Config> parse(const std::string& toml) {
  return parse_config(toml, "/etc/exphone", "phone.toml");
}

TEST(WebSocketConfig, TransportKeyAndUriParameter) {
  auto c = parse(
      "[[account]]\nuser = \"1\"\ndomain = \"pbx.example\"\ntransport = \"wss\"\n"
      "[[account]]\nuser = \"2\"\ndomain = \"pbx.example\"\nregistrar = \"sip:10.0.0.5:8080;transport=ws\"\n"
      "[[account]]\nuser = \"3\"\ndomain = \"pbx.example\"\nregistrar = \"sips:pbx.example;transport=WSS\"\n");
  ASSERT_TRUE(c) << c.error().message;
  auto a = exphone::ua::registrar_address(c->accounts[0]);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->protocol, Protocol::kWss);
  EXPECT_TRUE(a->explicit_transport);
  auto b = exphone::ua::registrar_address(c->accounts[1]);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->protocol, Protocol::kWs);
  EXPECT_EQ(b->port, 8080);
  auto s = exphone::ua::registrar_address(c->accounts[2]);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->protocol, Protocol::kWss);  // sips: over WSS is TLS all the way
  EXPECT_TRUE(s->sips);
  EXPECT_EQ(c->transport.ws_resource, "/");
}

TEST(WebSocketConfig, SipsNeedsTlsOrWss) {
  auto c = parse("[[account]]\nuser = \"1\"\ndomain = \"d\"\nregistrar = \"sips:x;transport=ws\"\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("needs transport tls or wss"), std::string::npos) << c.error().message;
}

TEST(WebSocketConfig, WsPath) {
  auto c = parse("[sip]\nws_path = \"/sip-ws\"\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->transport.ws_resource, "/sip-ws");
  auto bad = parse("[sip]\nws_path = \"sip ws\"\n");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("phone.toml:2"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("ws_path"), std::string::npos) << bad.error().message;
}

TEST(WebSocketConfig, UnknownTransportNamesTheChoices) {
  auto c = parse("[[account]]\nuser = \"1\"\ndomain = \"d\"\ntransport = \"websocket\"\n");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("\"ws\" or \"wss\""), std::string::npos) << c.error().message;
}

}  // namespace
