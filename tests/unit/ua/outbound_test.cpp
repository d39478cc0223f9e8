// RFC 5626 outbound on the client side: instance ids, the REGISTER Contact, and a registration
// client talking to a scripted registrar over real UDP on loopback.
#include "ua/outbound.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/udp.hpp>
#include <regex>
#include <string>

#include "net/asio_timers.h"
#include "net/dns.h"
#include "net/transport_layer.h"
#include "sip/headers.h"
#include "sip/message.h"
#include "txn/server_transaction.h"
#include "txn/transaction_layer.h"
#include "ua/registration.h"

using namespace exphone;
using namespace exphone::ua;

namespace {

const std::regex kUuidV5(R"(^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$)");
const std::regex kUuidV4(R"(^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$)");

TEST(InstanceId, ParsesUuidUrnsAndLowerCasesThem) {
  auto id = parse_instance_id("URN:UUID:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6");
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  EXPECT_EQ(*id, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6");
  for (const char* bad : {"", "urn:uuid:", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
                          "urn:uuid:f81d4fae7dec-11d0-a765-00a0c91e6bf6-",
                          "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bfg",
                          "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6a", "<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>",
                          "urn:x:f81d4fae-7dec-11d0-a765-00a0c91e6bf6aaaa"}) {
    auto r = parse_instance_id(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(r.error().code, "config");
  }
}

TEST(InstanceId, FromMachineIdIsStableVersion5AndHidesTheMachineId) {
  const std::string m1 = "4c4c4544004e3510804cb4c04f4d3232";
  auto a = instance_id_from_machine_id(m1);
  auto b = instance_id_from_machine_id(m1);
  auto c = instance_id_from_machine_id("4c4c4544004e3510804cb4c04f4d3233");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_TRUE(std::regex_match(*a, kUuidV5)) << *a;
  EXPECT_EQ(a->find("4c4c4544"), std::string::npos) << "machine id leaks into " << *a;
  EXPECT_TRUE(parse_instance_id(*a).ok());
  EXPECT_FALSE(instance_id_from_machine_id("").ok());
  EXPECT_FALSE(instance_id_from_machine_id("4c4c4544004e3510804cb4c04f4d323").ok());
  EXPECT_FALSE(instance_id_from_machine_id("4c4c4544004e3510804cb4c04f4d323z").ok());
}

TEST(InstanceId, RandomIsVersion4AndDiffers) {
  std::string a = random_instance_id(), b = random_instance_id();
  EXPECT_TRUE(std::regex_match(a, kUuidV4)) << a;
  EXPECT_NE(a, b);
}

TEST(RegisterContact, CarriesObInstanceAndRegIdOnlyWithAFlow) {
  OutboundFlow flow{"urn:uuid:00000000-0000-1000-8000-000a95a0e128", 1};
  std::string v = register_contact("sip:1001@192.0.2.2:40000;transport=tls", flow, 600);
  EXPECT_EQ(v, "<sip:1001@192.0.2.2:40000;transport=tls;ob>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\""
               ";reg-id=1;expires=600");
  // the value parses as a Contact whose URI keeps ;ob and whose header params hold the rest
  auto c = sip::parse_contact(v);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->address.uri.params.has("ob"));
  EXPECT_EQ(c->address.params.get("reg-id").value_or(""), "1");
  EXPECT_EQ(c->address.params.get("+sip.instance").value_or(""), "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"");
  EXPECT_EQ(c->expires(), 600u);

  EXPECT_EQ(register_contact("sip:1001@192.0.2.2:5060", std::nullopt, 0), "<sip:1001@192.0.2.2:5060>;expires=0");
}

sip::Message ok_with(const std::string& extra) {
  auto m = sip::Message::parse(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 192.0.2.2;branch=z9hG4bKnashds7\r\nFrom: <sip:1001@example.com>;tag=1\r\n"
      "To: <sip:1001@example.com>;tag=2\r\nCall-ID: a@b\r\nCSeq: 2 REGISTER\r\n" + extra + "Content-Length: 0\r\n\r\n");
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

TEST(RegistrarAppliedOutbound, OnlyWithOutboundInRequire) {
  EXPECT_TRUE(registrar_applied_outbound(ok_with("Require: outbound\r\n")));
  EXPECT_TRUE(registrar_applied_outbound(ok_with("Require: path, Outbound\r\n")));
  EXPECT_FALSE(registrar_applied_outbound(ok_with("Supported: outbound\r\n")));
  EXPECT_FALSE(registrar_applied_outbound(ok_with("Require: path\r\n")));
  EXPECT_FALSE(registrar_applied_outbound(ok_with("")));
}

// A registration client against a registrar scripted here, on a UDP socket on 127.0.0.1.
struct Loopback {
  boost::asio::io_context io;
  net::AsioTimers timers{io};
  std::unique_ptr<net::TransportLayer> transport;
  std::unique_ptr<net::DnsResolver> dns;
  std::unique_ptr<txn::TransactionLayer> txns;
  boost::asio::ip::udp::socket registrar{io, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<std::string> received;  // REGISTER requests as received

  Loopback() {
    net::TransportConfig tc;
    tc.udp_bind = "127.0.0.1";
    transport = std::move(net::TransportLayer::create(io, timers, tc, false).value());
    dns = std::move(net::DnsResolver::create(io, {}).value());
    txns = std::make_unique<txn::TransactionLayer>(timers);
    transport->set_handler([this](sip::Message m, net::FlowPtr) {
      if (m.is_response()) txns->on_response(m);
    });
  }

  // Answers every REGISTER with 200 OK echoing its Contact, plus `extra` header lines.
  void serve(std::string extra) {
    auto buf = std::make_shared<std::array<char, 65536>>();
    auto from = std::make_shared<boost::asio::ip::udp::endpoint>();
    registrar.async_receive_from(boost::asio::buffer(*buf), *from, [this, buf, from, extra](auto ec, std::size_t n) {
      if (ec) return;
      std::string wire(buf->data(), n);
      received.push_back(wire);
      auto req = sip::Message::parse(wire);
      ASSERT_TRUE(req.ok());
      sip::Message ok = txn::make_response(*req, 200, "OK", "reg1");
      if (const sip::Header* c = req->find(sip::HeaderId::kContact)) ok.add_header("Contact", c->value);
      for (std::size_t at = 0; at < extra.size();) {
        std::size_t eol = extra.find("\r\n", at);
        std::string line = extra.substr(at, eol - at);
        std::size_t colon = line.find(':');
        ok.add_header(line.substr(0, colon), line.substr(colon + 2));
        at = eol + 2;
      }
      std::string out = sip::serialize(ok);
      registrar.send_to(boost::asio::buffer(out), *from);
      serve(extra);
    });
  }

  // Registers once; returns the client's status.
  RegistrationClient::Status register_once(std::optional<OutboundFlow> flow, const std::string& extra) {
    serve(extra);
    AccountSettings a;
    a.user = "1001";
    a.domain = "localhost";
    a.registrar = "sip:127.0.0.1:" + std::to_string(registrar.local_endpoint().port()) + ";transport=udp";
    a.outbound = std::move(flow);
    RegistrationClient c(io, *transport, *txns, *dns, a);
    c.on_change([this](const RegistrationClient::Status& s) {
      if (s.registered || s.state == RegistrationClient::State::kFailed) io.stop();
    });
    c.start();
    io.run_for(std::chrono::seconds(10));
    return c.status();
  }
};

TEST(RegistrationOutbound, RegisterAsksForAFlowAndSeesTheRegistrarApplyIt) {
  Loopback lo;
  auto s = lo.register_once(OutboundFlow{"urn:uuid:00000000-0000-1000-8000-000a95a0e128", 1}, "Require: outbound\r\n");
  ASSERT_TRUE(s.registered) << (s.error ? s.error->to_string() : "");
  EXPECT_TRUE(s.outbound);
  ASSERT_EQ(lo.received.size(), 1u);
  auto req = sip::Message::parse(lo.received[0]).value();
  auto tags = req.option_tags(sip::HeaderId::kSupported);
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (std::vector<std::string_view>{"outbound", "path"}));
  auto contacts = req.contacts();
  ASSERT_TRUE(contacts.ok() && contacts->size() == 1);
  const auto& c = (*contacts)[0];
  EXPECT_TRUE(c.address.uri.params.has("ob"));
  EXPECT_EQ(c.address.params.get("+sip.instance").value_or(""), "\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"");
  EXPECT_EQ(c.address.params.get("reg-id").value_or(""), "1");
}

TEST(RegistrationOutbound, RegistrarWithoutOutboundStillRegisters) {
  Loopback lo;
  auto s = lo.register_once(OutboundFlow{"urn:uuid:00000000-0000-1000-8000-000a95a0e128", 1}, "");
  ASSERT_TRUE(s.registered) << (s.error ? s.error->to_string() : "");
  EXPECT_FALSE(s.outbound);
}

TEST(RegistrationOutbound, WithoutInstanceIdTheRegisterIsPlainRfc3261) {
  Loopback lo;
  auto s = lo.register_once(std::nullopt, "Require: outbound\r\n");
  ASSERT_TRUE(s.registered) << (s.error ? s.error->to_string() : "");
  EXPECT_FALSE(s.outbound);  // we did not ask, so a Require we never offered counts for nothing
  ASSERT_EQ(lo.received.size(), 1u);
  auto req = sip::Message::parse(lo.received[0]).value();
  EXPECT_EQ(req.find(sip::HeaderId::kSupported), nullptr);
  auto contacts = req.contacts();
  ASSERT_TRUE(contacts.ok() && contacts->size() == 1);
  EXPECT_FALSE((*contacts)[0].address.uri.params.has("ob"));
  EXPECT_FALSE((*contacts)[0].address.params.has("+sip.instance"));
  EXPECT_FALSE((*contacts)[0].address.params.has("reg-id"));
}

}  // namespace
