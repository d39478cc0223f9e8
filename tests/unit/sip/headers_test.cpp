#include <gtest/gtest.h>

#include "sip/headers.h"

using namespace exphone::sip;

TEST(Headers, Via) {
  auto v = parse_via("SIP/2.0/UDP 192.0.2.1:5060;received=192.0.2.207;branch=z9hG4bK77asjd;rport=5066;ttl=16;maddr=224.2.0.1;x-ext");
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->protocol_name, "SIP");
  EXPECT_EQ(v->protocol_version, "2.0");
  EXPECT_EQ(v->host_type, HostType::kIPv4);
  EXPECT_EQ(v->branch(), "z9hG4bK77asjd");
  EXPECT_EQ(v->rport(), 5066u);
  EXPECT_TRUE(v->params.has("x-ext"));
  EXPECT_EQ(v->params.get("maddr"), "224.2.0.1");
  EXPECT_FALSE(parse_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1").value().rport().has_value());
  EXPECT_EQ(parse_via("SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKasudf;rport").value().transport, "WSS");
  EXPECT_EQ(parse_via("SIP/2.0/UDP h;branch=\"quoted\"").ok(), false);  // branch is a token
  const char* bad[] = {"", "SIP/2.0", "SIP/2.0/UDP", "SIP/2.0/UDP ;branch=1", "SIP/2.0/UDP h:99999",
                       "SIP/2.0/UDP h:", "SIP/2.0/UDP [::1", "SIP/2.0/UDP h;branch=", "SIP/2.0/UDP h junk",
                       "SIP/2.0/UDP h;ttl=300", "SIP/2.0/UDP h;rport=x", "SIP 2.0 UDP h"};
  for (auto s : bad) EXPECT_FALSE(parse_via(s).ok()) << s;
}

TEST(Headers, NameAddr) {
  auto a = parse_name_addr("\"Mr. Watson\" <sip:watson@worcester.bell-telephone.com>;q=0.7;expires=3600");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(unquote(a->display_name), "Mr. Watson");
  EXPECT_TRUE(a->angle_brackets);
  EXPECT_EQ(a->params.get("expires"), "3600");
  // addr-spec form: ;params belong to the header, not the URI (RFC 3261 section 20.10)
  auto b = parse_name_addr("sip:alice@atlanta.com;tag=88sja8x");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->tag(), "88sja8x");
  EXPECT_TRUE(b->uri.params.empty());
  auto c = parse_name_addr("<sip:alice@atlanta.com;transport=tcp>;tag=x");
  EXPECT_EQ(c->uri.params.get("transport"), "tcp");
  EXPECT_EQ(c->tag(), "x");
  auto d = parse_name_addr("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8");
  EXPECT_EQ(d->display_name, "Anonymous");
  auto e = parse_name_addr("<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>");
  EXPECT_EQ(e->uri.scheme, Scheme::kOther);
  const char* bad[] = {"", "<sip:a@b", "\"unterminated <sip:a@b>", "sip:a@b;tag=", "<sip:a@b> junk",
                       "Bad@Name <sip:a@b>", "<>", "\"x\" sip:a@b", "<sip:a@b>;tag=\"q\""};
  for (auto s : bad) EXPECT_FALSE(parse_name_addr(s).ok()) << s;
}

TEST(Headers, Contact) {
  EXPECT_TRUE(parse_contact(" * ").value().star);
  auto c = parse_contact("<sip:a@b>;q=1.0;expires=0");
  EXPECT_EQ(c->q(), 1000);
  EXPECT_EQ(c->expires(), 0u);
  EXPECT_EQ(parse_contact("<sip:a@b>;q=0.123").value().q(), 123);
  EXPECT_FALSE(parse_contact("<sip:a@b>;q=1.5").value().q().has_value());
  EXPECT_FALSE(parse_contact("<sip:a@b>;q=2").value().q().has_value());
}

TEST(Headers, CSeqAndNumbers) {
  auto c = parse_cseq("4711 INVITE");
  EXPECT_EQ(c->number, 4711u);
  EXPECT_EQ(c->method, "INVITE");
  EXPECT_EQ(parse_cseq("0 ACK").value().number, 0u);
  EXPECT_TRUE(parse_cseq("2147483647 BYE").ok());
  const char* bad[] = {"", "INVITE", "1", "1INVITE", "-1 INVITE", "2147483648 INVITE", "1 INV ITE", "x INVITE"};
  for (auto s : bad) EXPECT_FALSE(parse_cseq(s).ok()) << s;
  EXPECT_EQ(parse_number_header(" 70 ").value(), 70u);
  EXPECT_FALSE(parse_number_header("256", 255).ok());
  EXPECT_FALSE(parse_number_header("").ok());
}

TEST(Headers, MediaTypeAndCallId) {
  auto m = parse_media_type("application/SDP ; charset=utf-8");
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->is("application", "sdp"));
  EXPECT_EQ(m->params.get("charset"), "utf-8");
  EXPECT_TRUE(parse_media_type("multipart/mixed;boundary=unique-boundary-1").ok());
  EXPECT_FALSE(parse_media_type("application").ok());
  EXPECT_FALSE(parse_media_type("application/").ok());
  EXPECT_TRUE(valid_call_id("f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com"));
  EXPECT_TRUE(valid_call_id("a84b4c76e66710"));
  EXPECT_FALSE(valid_call_id(""));
  EXPECT_FALSE(valid_call_id("a b"));
  EXPECT_FALSE(valid_call_id("a@b@c"));
  EXPECT_FALSE(valid_call_id("@b"));
}

TEST(Headers, DigestChallengeAndCredentials) {
  auto a = parse_auth(
      "Digest realm=\"atlanta.example.com\", qop=\"auth,auth-int\", nonce=\"ea9c8e88df84f1cec4341ae6cbe5a359\", "
      "opaque=\"\", stale=FALSE, algorithm=SHA-256, domain=\"sip:ss1.example.com\"");
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->scheme, "Digest");
  EXPECT_EQ(a->get("realm"), "atlanta.example.com");
  EXPECT_EQ(a->get("qop"), "auth,auth-int");
  EXPECT_EQ(a->get("algorithm"), "SHA-256");
  EXPECT_EQ(a->get("stale"), "FALSE");
  ASSERT_NE(a->find("opaque"), nullptr);
  EXPECT_EQ(a->get("opaque"), "");
  auto c = parse_auth(
      "Digest username=\"bob\", realm=\"biloxi.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
      "uri=\"sip:bob@biloxi.com\", qop=auth, nc=00000001, cnonce=\"0a4f113b\", "
      "response=\"6629fae49393a05397450978507c4ef1\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->get("nc"), "00000001");
  EXPECT_EQ(c->get("uri"), "sip:bob@biloxi.com");
  EXPECT_EQ(parse_auth("Digest realm=\"a \\\"q\\\" b\"").value().get("realm"), "a \"q\" b");
  const char* bad[] = {"", "Digest realm", "Digest realm=", "Digest realm=\"x", "Digest realm=x nonce=y", "Digest realm=x,"};
  for (auto s : bad) EXPECT_FALSE(parse_auth(s).ok()) << s;
}

TEST(Headers, SplitList) {
  auto l = split_list(" a , \"b,c\" , <sip:d,e@f> , g (comment, with comma) ", 10);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 4u);
  EXPECT_EQ((*l)[1], "\"b,c\"");
  EXPECT_EQ((*l)[2], "<sip:d,e@f>");
  EXPECT_FALSE(split_list("a,,b", 10).ok());
  EXPECT_FALSE(split_list("a,b,c", 2).ok());
  EXPECT_FALSE(split_list("\"open", 2).ok());
  EXPECT_FALSE(split_list(std::string(100, '('), 2).ok());
}
