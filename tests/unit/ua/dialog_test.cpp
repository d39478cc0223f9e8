// RFC 3261 section 12 dialog state, with the message shapes of the RFC 3665 call flows.
#include <gtest/gtest.h>

#include "ua/dialog.h"

using exphone::ua::Dialog;
using exphone::sip::Message;

namespace {

Message parse(const std::string& s) {
  auto m = Message::parse(s);
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().to_string());
  return std::move(*m);
}

const std::string kInvite =
    "INVITE sips:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sips:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 2 INVITE\r\n"
    "Record-Route: <sips:ss2.biloxi.example.com;lr>, <sips:ss1.atlanta.example.com;lr>\r\n"
    "Contact: <sips:alice@client.atlanta.example.com>\r\n"
    "Content-Length: 0\r\n\r\n";

const std::string kOk =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    "Record-Route: <sips:ss2.biloxi.example.com;lr>, <sips:ss1.atlanta.example.com;lr>\r\n"
    "From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sips:bob@biloxi.example.com>;tag=314159\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 2 INVITE\r\n"
    "Contact: <sips:bob@client.biloxi.example.com>\r\n"
    "Content-Length: 0\r\n\r\n";

}  // namespace

TEST(Dialog, UacFrom2xxReversesTheRouteSet) {
  Message inv = parse(kInvite);
  Message ok = parse(kOk);
  auto d = Dialog::from_uac(inv, ok);
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  EXPECT_EQ(d->id().local_tag, "9fxced76sl");
  EXPECT_EQ(d->id().remote_tag, "314159");
  EXPECT_EQ(d->state(), Dialog::State::kConfirmed);
  EXPECT_TRUE(d->secure());
  EXPECT_EQ(d->remote_target(), "sips:bob@client.biloxi.example.com");
  ASSERT_EQ(d->route_set().size(), 2u);
  EXPECT_EQ(d->route_set()[0], "<sips:ss1.atlanta.example.com;lr>");
  EXPECT_TRUE(d->matches(ok));

  // the BYE follows the route set with loose routing (section 12.2.1.1)
  auto bye = d->make_request("BYE", "SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bKnew");
  ASSERT_TRUE(bye.ok());
  EXPECT_EQ(bye->request_uri().raw, "sips:bob@client.biloxi.example.com");
  auto routes = bye->routes();
  ASSERT_EQ(routes->size(), 2u);
  EXPECT_EQ((*routes)[0].uri.host, "ss1.atlanta.example.com");
  EXPECT_EQ(bye->cseq()->number, 3u);
  EXPECT_EQ(bye->from()->tag(), "9fxced76sl");
  EXPECT_EQ(bye->to()->tag(), "314159");
  // the ACK reuses the INVITE's CSeq number
  auto ack = d->make_request("ACK", "SIP/2.0/TLS h;branch=z9hG4bKack", 2);
  EXPECT_EQ(ack->cseq()->number, 2u);
  EXPECT_EQ(d->local_seq(), 3u);
}

TEST(Dialog, UasKeepsRecordRouteOrderAndChecksCSeq) {
  Message inv = parse(kInvite);
  auto d = Dialog::from_uas(inv, "314159", true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->secure());
  EXPECT_EQ(d->route_set()[0], "<sips:ss2.biloxi.example.com;lr>");
  EXPECT_EQ(d->remote_target(), "sips:alice@client.atlanta.example.com");
  EXPECT_EQ(d->remote_seq(), 2u);
  // a request from the peer: From tag = remote, To tag = local
  std::string bye = kInvite;
  bye.replace(0, 6, "BYE");
  bye.replace(bye.find("CSeq: 2 INVITE"), 14, "CSeq: 3 BYE");
  bye.replace(bye.find("To: Bob <sips:bob@biloxi.example.com>"), 37, "To: Bob <sips:bob@biloxi.example.com>;tag=314159");
  Message b = parse(bye);
  EXPECT_TRUE(d->matches(b));
  EXPECT_EQ(d->receive_request(b), 0);
  EXPECT_EQ(d->state(), Dialog::State::kTerminated);
  // an older CSeq is out of order (section 12.2.2)
  std::string old = bye;
  old.replace(old.find("CSeq: 3 BYE"), 11, "CSeq: 1 BYE");
  EXPECT_EQ(d->receive_request(parse(old)), 500);
  // not secure over TLS without sips, nor over TCP with sips
  EXPECT_FALSE(Dialog::from_uas(inv, "x", false)->secure());
}

TEST(Dialog, StrictRouterRewrite) {
  std::string ok = kOk;
  ok.replace(ok.find("<sips:ss2.biloxi.example.com;lr>, <sips:ss1.atlanta.example.com;lr>"), 68,
             "<sips:strict.example.com>");
  auto d = Dialog::from_uac(parse(kInvite), parse(ok));
  ASSERT_TRUE(d.ok());
  auto bye = d->make_request("BYE", "SIP/2.0/TLS h;branch=z9hG4bKs");
  ASSERT_TRUE(bye.ok());
  // section 12.2.1.1: the strict router goes into the Request-URI, the remote target last in Route
  EXPECT_EQ(bye->request_uri().raw, "sips:strict.example.com");
  auto routes = bye->routes();
  ASSERT_EQ(routes->size(), 1u);
  EXPECT_EQ((*routes)[0].uri.raw, "sips:bob@client.biloxi.example.com");
}

TEST(Dialog, EarlyDialogConfirmedAndTargetRefresh) {
  std::string ringing = kOk;
  ringing.replace(0, 15, "SIP/2.0 180 Ringing");
  auto d = Dialog::from_uac(parse(kInvite), parse(ringing));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->state(), Dialog::State::kEarly);
  std::string ok = kOk;
  ok.replace(ok.find("Record-Route: <sips:ss2.biloxi.example.com;lr>, <sips:ss1.atlanta.example.com;lr>\r\n"), 83, "");
  ok.replace(ok.find("client.biloxi"), 13, "moved.biloxi");
  ASSERT_TRUE(d->confirm(parse(ok)).ok());
  EXPECT_EQ(d->state(), Dialog::State::kConfirmed);
  EXPECT_TRUE(d->route_set().empty());  // recomputed from the 2xx (section 13.2.2.4)
  EXPECT_EQ(d->remote_target(), "sips:bob@moved.biloxi.example.com");
}

TEST(Dialog, Refusals) {
  std::string notag = kOk;
  notag.replace(notag.find(";tag=314159"), 11, "");
  EXPECT_EQ(Dialog::from_uac(parse(kInvite), parse(notag)).error().code, "dialog-no-tag");
  std::string nocontact = kOk;
  nocontact.replace(nocontact.find("Contact: <sips:bob@client.biloxi.example.com>\r\n"), 47, "");
  EXPECT_FALSE(Dialog::from_uac(parse(kInvite), parse(nocontact)).ok());
}
