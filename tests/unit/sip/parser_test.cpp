#include <gtest/gtest.h>

#include "sip/message.h"
#include "test_messages.h"

using namespace exphone::sip;
using exphone::sip::testdata::make;

namespace {

Message parse_ok(const std::string& s, const Limits& limits = {}) {
  auto m = Message::parse(s, limits);
  EXPECT_TRUE(m.ok()) << (m ? "" : m.error().to_string()) << "\n" << s;
  if (!m) std::abort();
  return std::move(*m);
}

std::string parse_error(const std::string& s, const Limits& limits = {}) {
  auto m = Message::parse(s, limits);
  EXPECT_FALSE(m.ok()) << s;
  return m ? std::string() : m.error().code;
}

const std::string kBasic =
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: <sip:bob@example.com>\n"
    "From: <sip:alice@example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710\n"
    "CSeq: 1 OPTIONS";

}  // namespace

TEST(Parser, RequestStartLineAndIndex) {
  Message m = parse_ok(testdata::kInvite);
  EXPECT_TRUE(m.is_request());
  EXPECT_EQ(m.method(), "INVITE");
  EXPECT_EQ(m.request_uri().user, "bob");
  EXPECT_EQ(m.request_uri().host, "biloxi.example.com");
  EXPECT_EQ(m.version(), "SIP/2.0");
  ASSERT_EQ(m.headers().size(), 9u);
  EXPECT_EQ(m.headers()[0].id, HeaderId::kVia);
  EXPECT_EQ(m.call_id(), "3848276298220188511@atlanta.example.com");
  EXPECT_EQ(m.content_length(), 151u);
  EXPECT_EQ(m.body().size(), 151u);
  EXPECT_EQ(m.body().substr(0, 5), "v=0\r\n");
  EXPECT_EQ(m.from()->tag(), "9fxced76sl");
  EXPECT_EQ(m.to()->tag(), "");
  EXPECT_EQ(m.cseq()->number, 1u);
  EXPECT_EQ(m.cseq()->method, "INVITE");
  EXPECT_EQ(m.top_via()->branch(), "z9hG4bK74bf9");
  EXPECT_EQ(m.top_via()->transport, "TLS");
  EXPECT_EQ(m.top_via()->port, 5061);
}

TEST(Parser, ResponseStartLine) {
  Message m = parse_ok(testdata::kRinging);
  EXPECT_TRUE(m.is_response());
  EXPECT_EQ(m.status(), 180);
  EXPECT_EQ(m.reason(), "Ringing");
  auto vias = m.vias();
  ASSERT_TRUE(vias.ok());
  ASSERT_EQ(vias->size(), 3u);
  EXPECT_EQ((*vias)[2].received(), "192.0.2.1");
  EXPECT_TRUE(m.body().empty());

  Message r = parse_ok("SIP/2.0 200 \r\n" + make("", kBasic).substr(2));
  EXPECT_EQ(r.reason(), "");
  Message utf = parse_ok("SIP/2.0 486 Besetzt \xc3\xbc \r\n" + make("", kBasic).substr(2));
  EXPECT_EQ(utf.reason(), "Besetzt \xc3\xbc ");
}

TEST(Parser, CaseInsensitiveNamesAndCompactForms) {
  std::string s = make("INVITE sip:bob@example.com SIP/2.0",
                       "v: SIP/2.0/UDP host.example.com;branch=z9hG4bK1\n"
                       "MAX-FORWARDS: 70\n"
                       "t: <sip:bob@example.com>\n"
                       "f: <sip:alice@example.com>;tag=1\n"
                       "i: abc@host\n"
                       "cSeQ: 7 INVITE\n"
                       "m: <sip:alice@host.example.com>\n"
                       "k: timer, 100rel\n"
                       "c: application/sdp\n"
                       "s: urgent\n"
                       "e: identity\n"
                       "o: dialog\n"
                       "u: talk\n"
                       "r: <sip:x@y>\n"
                       "b: <sip:z@y>\n"
                       "x: 1800",
                       "v=0\r\n");
  // replace the added Content-Length by a compact one
  s.replace(s.find("Content-Length"), 14, "l");
  Message m = parse_ok(s);
  EXPECT_EQ(m.call_id(), "abc@host");
  EXPECT_EQ(m.cseq()->number, 7u);
  EXPECT_EQ(m.max_forwards(), 70u);
  EXPECT_EQ(m.content_length(), 5u);
  EXPECT_EQ(m.find(HeaderId::kSupported)->value, "timer, 100rel");
  EXPECT_EQ(m.find("Supported")->name, "k");
  EXPECT_EQ(m.find("sUpPoRtEd")->name, "k");
  EXPECT_NE(m.find(HeaderId::kSubject), nullptr);
  EXPECT_NE(m.find(HeaderId::kContentEncoding), nullptr);
  EXPECT_NE(m.find(HeaderId::kEvent), nullptr);
  EXPECT_NE(m.find(HeaderId::kAllowEvents), nullptr);
  EXPECT_NE(m.find(HeaderId::kReferTo), nullptr);
  EXPECT_NE(m.find(HeaderId::kReferredBy), nullptr);
  EXPECT_NE(m.find(HeaderId::kSessionExpires), nullptr);
  EXPECT_EQ(m.contacts()->size(), 1u);
}

TEST(Parser, LineFoldingAndOddWhitespace) {
  std::string s =
      "OPTIONS sip:bob@example.com SIP/2.0\r\n"
      "Via   :   SIP / 2.0 / UDP   host.example.com  ;  branch = z9hG4bK1 ; rport\r\n"
      "Subject: first line\r\n"
      "  continued\r\n"
      "\t and tab-continued\r\n"
      "Max-Forwards:70\r\n"
      "To:\t<sip:bob@example.com>\r\n"
      "From: <sip:alice@example.com>\r\n"
      " ;tag=abc\r\n"
      "Call-ID: x1\r\n"
      "CSeq:\r\n 9\r\n OPTIONS\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  Message m = parse_ok(s);
  EXPECT_EQ(m.find(HeaderId::kSubject)->value, "first line continued and tab-continued");
  EXPECT_EQ(m.find(HeaderId::kVia)->name, "Via");
  auto via = m.top_via();
  ASSERT_TRUE(via.ok()) << via.error().to_string();
  EXPECT_EQ(via->transport, "UDP");
  EXPECT_EQ(via->host, "host.example.com");
  EXPECT_EQ(via->branch(), "z9hG4bK1");
  EXPECT_EQ(via->rport(), 0u);
  EXPECT_EQ(m.from()->tag(), "abc");
  EXPECT_EQ(m.cseq()->number, 9u);
  EXPECT_EQ(m.cseq()->method, "OPTIONS");
  EXPECT_EQ(m.max_forwards(), 70u);
}

TEST(Parser, SeveralValuesPerLineAndAcrossLines) {
  Message m = parse_ok(make("OPTIONS sip:b@example.com SIP/2.0",
                            "Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com:5070;branch=z9hG4bK2\n"
                            "Via: SIP/2.0/TLS [2001:db8::9]:5061;branch=z9hG4bK3;received=2001:db8::10\n"
                            "Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\n"
                            "Route: \"quoted, with comma\" <sip:p3.example.com;lr>\n"
                            "Record-Route: <sip:rr.example.com;lr>\n"
                            "Contact: \"A, B\" <sip:a@h1>;q=0.7, <sip:b@h2>;expires=60\n"
                            "Max-Forwards: 70\nTo: <sip:b@example.com>\nFrom: <sip:a@example.com>;tag=1\n"
                            "Call-ID: c\nCSeq: 1 OPTIONS"));
  auto vias = m.vias();
  ASSERT_TRUE(vias.ok()) << vias.error().to_string();
  ASSERT_EQ(vias->size(), 3u);
  EXPECT_EQ((*vias)[1].transport, "TCP");
  EXPECT_EQ((*vias)[1].port, 5070);
  EXPECT_EQ((*vias)[2].host, "2001:db8::9");
  EXPECT_EQ((*vias)[2].host_type, HostType::kIPv6);
  EXPECT_EQ((*vias)[2].sent_by(), "[2001:db8::9]:5061");
  EXPECT_EQ((*vias)[2].received(), "2001:db8::10");
  auto routes = m.routes();
  ASSERT_TRUE(routes.ok());
  ASSERT_EQ(routes->size(), 3u);
  EXPECT_EQ((*routes)[2].uri.host, "p3.example.com");
  EXPECT_EQ(unquote((*routes)[2].display_name), "quoted, with comma");
  EXPECT_TRUE((*routes)[0].uri.params.has("lr"));
  auto contacts = m.contacts();
  ASSERT_TRUE(contacts.ok());
  ASSERT_EQ(contacts->size(), 2u);
  EXPECT_EQ((*contacts)[0].q(), 700);
  EXPECT_EQ((*contacts)[1].expires(), 60u);
  EXPECT_EQ(m.routes(HeaderId::kRecordRoute)->size(), 1u);
}

TEST(Parser, SeventyVias) {
  std::string vias;
  for (int i = 0; i < 70; ++i)
    vias += "Via: SIP/2.0/UDP proxy" + std::to_string(i) + ".example.com:5060;branch=z9hG4bK" + std::to_string(i) + "\n";
  Message m = parse_ok(make("SIP/2.0 200 OK", vias + kBasic.substr(kBasic.find('\n') + 1)));
  auto v = m.vias();
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), 70u);
  EXPECT_EQ((*v)[69].branch(), "z9hG4bK69");
  // and 70 in one line
  std::string one = "Via: ";
  for (int i = 0; i < 70; ++i) one += (i ? ", " : "") + std::string("SIP/2.0/UDP h") + std::to_string(i) + ";branch=z9hG4bKx" + std::to_string(i);
  Message m2 = parse_ok(make("SIP/2.0 200 OK", one + "\n" + kBasic.substr(kBasic.find('\n') + 1)));
  EXPECT_EQ(m2.vias()->size(), 70u);
}

TEST(Parser, QuotedStringsWithEscapesAndComments) {
  Message m = parse_ok(make("OPTIONS sip:b@example.com SIP/2.0",
                            "From: \"Alice \\\"The Boss\\\" \\\\ <ops>\" <sip:alice@example.com>;tag=t1\n"
                            "To: Bob Smith <sip:bob@example.com>\n"
                            "User-Agent: exphone/1.0 (industrial (ex-proof); build 7)\n"
                            "Via: SIP/2.0/UDP h;branch=z9hG4bK1\nMax-Forwards: 70\nCall-ID: q\nCSeq: 2 OPTIONS"));
  auto from = m.from();
  ASSERT_TRUE(from.ok()) << from.error().to_string();
  EXPECT_EQ(unquote(from->display_name), "Alice \"The Boss\" \\ <ops>");
  EXPECT_EQ(from->tag(), "t1");
  EXPECT_EQ(m.to()->display_name, "Bob Smith");
  EXPECT_EQ(m.find(HeaderId::kUserAgent)->value, "exphone/1.0 (industrial (ex-proof); build 7)");
}

TEST(Parser, UnknownMethodsSchemesAndHeadersKeptInOrder) {
  Message m = parse_ok(make("NEWMETHOD urn:service:sos SIP/2.0",
                            "X-First: 1\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nX-Second: two\nP-Asserted-Identity: <sip:a@b>\n"
                            "Max-Forwards: 70\nTo: <mailto:ops@example.com>\nFrom: <sip:a@example.com>;tag=1\n"
                            "Call-ID: u\nCSeq: 3 NEWMETHOD\nX-First: again"));
  EXPECT_EQ(m.method(), "NEWMETHOD");
  EXPECT_EQ(m.request_uri().scheme, Scheme::kOther);
  EXPECT_EQ(m.request_uri().scheme_text, "urn");
  EXPECT_EQ(m.request_uri().opaque, "service:sos");
  EXPECT_EQ(m.headers()[0].name, "X-First");
  EXPECT_EQ(m.headers()[2].name, "X-Second");
  EXPECT_EQ(m.headers()[3].id, HeaderId::kOther);
  EXPECT_EQ(m.find("x-second")->value, "two");
  EXPECT_EQ(m.to()->uri.scheme_text, "mailto");
  EXPECT_EQ(m.headers()[m.headers().size() - 2].value, "again");
}

TEST(Parser, Ipv6InRequestUriAndVia) {
  Message m = parse_ok(make("OPTIONS sip:[2001:db8::10]:5070;transport=tcp SIP/2.0",
                            "Via: SIP/2.0/TCP [2001:db8::9];branch=z9hG4bK1;rport=5070\nMax-Forwards: 70\n"
                            "To: <sip:[::1]>\nFrom: <sip:a@[fe80::1]>;tag=1\nCall-ID: v6\nCSeq: 1 OPTIONS"));
  EXPECT_EQ(m.request_uri().host_type, HostType::kIPv6);
  EXPECT_EQ(m.request_uri().host, "2001:db8::10");
  EXPECT_EQ(m.request_uri().port, 5070);
  EXPECT_EQ(m.top_via()->rport(), 5070u);
  EXPECT_EQ(m.to()->uri.host, "::1");
}

TEST(Parser, BodyFramingOverDatagrams) {
  // Content-Length shorter than the data: extra bytes are not part of the body (RFC 3261 18.3)
  std::string s = make("MESSAGE sip:b@example.com SIP/2.0", kBasic + "\nContent-Type: text/plain\nContent-Length: 5", "", false) + "helloEXTRA";
  Message m = parse_ok(s);
  EXPECT_EQ(m.body(), "hello");
  EXPECT_FALSE(m.body_truncated());
  // longer than the data: truncated, flagged as a defect
  Message t = parse_ok(make("MESSAGE sip:b@example.com SIP/2.0", kBasic + "\nContent-Length: 50", "", false) + "short");
  EXPECT_TRUE(t.body_truncated());
  ASSERT_NE(t.defect(), nullptr);
  EXPECT_EQ(t.defect()->code, "sip-truncated-body");
  // no Content-Length: the rest of the datagram
  Message n = parse_ok(make("MESSAGE sip:b@example.com SIP/2.0", kBasic, "", false) + "all of it");
  EXPECT_EQ(n.body(), "all of it");
  EXPECT_FALSE(n.content_length().has_value());
  // conflicting Content-Length headers
  Message c = parse_ok(make("MESSAGE sip:b@example.com SIP/2.0", kBasic + "\nContent-Length: 1\nl: 2", "", false) + "xy");
  ASSERT_NE(c.defect(), nullptr);
  EXPECT_EQ(c.defect()->code, "sip-bad-content-length");
  Message neg = parse_ok(make("MESSAGE sip:b@example.com SIP/2.0", kBasic + "\nContent-Length: -3", "", false));
  ASSERT_NE(neg.defect(), nullptr);
}

TEST(Parser, LeadingCrlfAndBareLf) {
  Message m = parse_ok("\r\n\r\n" + std::string(testdata::kRegister200));
  EXPECT_EQ(m.status(), 200);
  std::string lf = testdata::kRegister200;
  for (std::size_t p; (p = lf.find("\r\n")) != std::string::npos;) lf.erase(p, 1);
  Message l = parse_ok(lf);
  EXPECT_EQ(l.call_id(), "843817637684230@998sdasdh09");
  EXPECT_EQ(l.contacts()->front().expires(), 7200u);
}

TEST(Parser, VeryLongValues) {
  std::string longval(7000, 'a');
  Message m = parse_ok(make("OPTIONS sip:b@example.com SIP/2.0", kBasic + "\nX-Long: " + longval));
  EXPECT_EQ(m.find("X-Long")->value.size(), 7000u);
  std::string too_long(9000, 'b');
  EXPECT_EQ(parse_error(make("OPTIONS sip:b@example.com SIP/2.0", kBasic + "\nX-Long: " + too_long)), "sip-too-long");
}

TEST(Parser, Limits) {
  Limits small;
  small.max_headers = 8;
  EXPECT_EQ(parse_error(make("OPTIONS sip:b@e.com SIP/2.0", kBasic + "\nA: 1\nB: 2\nC: 3"), small), "sip-too-many-headers");
  small = {};
  small.max_message_size = 100;
  EXPECT_EQ(parse_error(testdata::kInvite, small), "sip-too-large");
  std::string many;
  for (int i = 0; i < 300; ++i) many += "X-H: " + std::to_string(i) + "\n";
  EXPECT_EQ(parse_error(make("OPTIONS sip:b@e.com SIP/2.0", kBasic + "\n" + many)), "sip-too-many-headers");
  // list items bound
  std::string vias = "Via: ";
  for (int i = 0; i < 300; ++i) vias += (i ? "," : "") + std::string("SIP/2.0/UDP h");
  Message m = parse_ok(make("SIP/2.0 200 OK", vias + "\n" + kBasic.substr(kBasic.find('\n') + 1)));
  auto v = m.vias();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, "sip-too-many-values");
  // params bound
  std::string params;
  for (int i = 0; i < 100; ++i) params += ";p" + std::to_string(i);
  Message p = parse_ok(make("OPTIONS sip:b@e.com SIP/2.0", "Via: SIP/2.0/UDP h;branch=z9hG4bK1" + params + "\n" + kBasic.substr(kBasic.find('\n') + 1)));
  EXPECT_FALSE(p.top_via().ok());
}

TEST(Parser, MalformedMessages) {
  const std::string h = kBasic;
  EXPECT_EQ(parse_error(""), "sip-empty");
  EXPECT_EQ(parse_error("\r\n\r\n"), "sip-empty");
  EXPECT_EQ(parse_error("INVITE sip:a@b SIP/2.0"), "sip-truncated");
  EXPECT_EQ(parse_error("INVITE sip:a@b SIP/2.0\r\nVia: x\r\n"), "sip-truncated");
  EXPECT_EQ(parse_error(make("INVITE sip:a@b", h)), "sip-bad-start-line");
  EXPECT_EQ(parse_error(make("INVITE sip:a@b HTTP/1.1", h)), "sip-bad-start-line");
  EXPECT_EQ(parse_error(make("INV@TE sip:a@b SIP/2.0", h)), "sip-bad-method");
  EXPECT_EQ(parse_error(make("SIP/2.0 99 Too Low", h)), "sip-bad-status");
  EXPECT_EQ(parse_error(make("SIP/2.0 700 Too High", h)), "sip-bad-status");
  EXPECT_EQ(parse_error(make("SIP/2.0 2000 OK", h)), "sip-bad-status");
  EXPECT_EQ(parse_error(make("SIP/2.0 abc OK", h)), "sip-bad-status");
  EXPECT_EQ(parse_error(make("SIP/ 200 OK", h)), "sip-bad-start-line");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", h + "\nNo colon here")), "sip-bad-header");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", h + "\n: empty name")), "sip-bad-header");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", h + "\nBad Name: x")), "sip-bad-header");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", " folded-first: x\n" + h)), "sip-bad-header");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", h + "\nX-Ctl: a\x01z")), "sip-bad-header");
  EXPECT_EQ(parse_error(make("OPTIONS sip:a@b SIP/2.0", h + std::string("\nX-Nul: a\0z", 12))), "sip-bad-header");
  EXPECT_EQ(parse_error(std::string("OPTIONS sip:a@b SIP/2.0\0\r\n", 26) + h), "sip-bad-start-line");
  EXPECT_EQ(parse_error("\x80\xff\xfe garbage\r\n\r\n"), "sip-bad-start-line");
}

TEST(Parser, ExtraWhitespaceInRequestLineIsADefect) {
  for (std::string start : {"INVITE  sip:a@b SIP/2.0", "INVITE sip:a@b  SIP/2.0", "INVITE sip:a@b SIP/2.0 \t"}) {
    Message m = parse_ok(make(start, kBasic));
    ASSERT_NE(m.defect(), nullptr) << start;
    EXPECT_EQ(m.defect()->code, "sip-bad-start-line");
    EXPECT_EQ(m.request_uri().raw, "sip:a@b");
  }
}

TEST(Parser, MalformedRequestUriIsADefectNotAParseError) {
  Message m = parse_ok(make("OPTIONS sip:a@b:99999 SIP/2.0", kBasic));
  ASSERT_NE(m.defect(), nullptr);
  EXPECT_EQ(m.defect()->code, "sip-bad-uri");
}

TEST(Parser, ModelOutlivesNothing) {
  // The message owns its bytes: views stay valid after the input string is gone and after moves.
  std::vector<Message> keep;
  {
    std::string input = testdata::kInvite;
    keep.push_back(parse_ok(input));
    input.assign(input.size(), 'X');
  }
  keep.push_back(parse_ok(testdata::kRinging));
  Message moved = std::move(keep[0]);
  EXPECT_EQ(moved.call_id(), "3848276298220188511@atlanta.example.com");
  EXPECT_EQ(moved.request_uri().host, "biloxi.example.com");
}

TEST(Parser, RoundTripCanonicalForm) {
  const std::string inputs[] = {
      testdata::kInvite, testdata::kRegister200, testdata::kRinging,
      "\r\nOPTIONS sip:x@y SIP/2.0\nv: SIP/2.0/UDP h;branch=z9hG4bK1\ni: c\nSubject: a\r\n  b\nl: 0\n\n",
      make("SIP/2.0 200 ", kBasic)};
  for (const auto& in : inputs) {
    Message a = parse_ok(in);
    std::string wire = serialize(a);
    Message b = parse_ok(wire);
    EXPECT_TRUE(equivalent(a, b)) << wire;
    EXPECT_EQ(serialize(b), wire);  // canonical form is a fixed point
  }
  Message c = parse_ok("OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nl: 0\r\n\r\n");
  EXPECT_NE(serialize(c).find("Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"), std::string::npos);
  EXPECT_NE(serialize(c).find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(Parser, Building) {
  auto r = Message::request("INVITE", "sips:1002@pbx.plant.local");
  ASSERT_TRUE(r.ok());
  r->add_header(HeaderId::kVia, "SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKabc");
  r->add_header("Max-Forwards", "70");
  r->set_body("application/sdp", "v=0\r\n");
  EXPECT_EQ(r->content_length(), 5u);
  Message back = parse_ok(serialize(*r));
  EXPECT_TRUE(equivalent(*r, back));
  EXPECT_EQ(back.request_uri().scheme, Scheme::kSips);
  EXPECT_FALSE(Message::request("BAD METHOD", "sip:a@b").ok());
  EXPECT_FALSE(Message::request("INVITE", "sip:a@b:70000").ok());
}
