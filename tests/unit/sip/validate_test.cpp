#include <gtest/gtest.h>

#include "sip/validate.h"
#include "test_messages.h"

using namespace exphone::sip;
using exphone::sip::testdata::make;

namespace {

const std::string kHeaders =
    "Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\n"
    "Max-Forwards: 70\n"
    "To: <sip:bob@example.com>\n"
    "From: <sip:alice@example.com>;tag=1928301774\n"
    "Call-ID: a84b4c76e66710";

Verdict check(const std::string& start, const std::string& headers, const std::string& body = "") {
  auto m = Message::parse(make(start, headers, body));
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  if (!m) return Verdict{false, -1, "", "", {}};
  return validate(*m);
}

std::string without(const std::string& h, const std::string& name) {
  std::string out;
  std::size_t pos = 0;
  while (pos < h.size()) {
    std::size_t nl = h.find('\n', pos);
    if (nl == std::string::npos) nl = h.size();
    std::string line = h.substr(pos, nl - pos);
    if (line.rfind(name + ":", 0) != 0) out += (out.empty() ? "" : "\n") + line;
    pos = nl + 1;
  }
  return out;
}

}  // namespace

TEST(Validate, ValidRequestsAndResponses) {
  auto inv = Message::parse(testdata::kInvite);
  EXPECT_TRUE(validate(*inv).valid) << validate(*inv).reason;
  EXPECT_TRUE(check("OPTIONS sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 OPTIONS").valid);
  // a phone is the UAC: a response with more than one Via is not for it (RFC 3261 8.1.3.3)
  EXPECT_FALSE(validate(*Message::parse(testdata::kRinging)).valid);
  EXPECT_EQ(validate(*Message::parse(testdata::kRinging)).response, 0);
  EXPECT_TRUE(validate(*Message::parse(testdata::kRegister200)).valid);
  // OPTIONS with Max-Forwards 0 is answered by the element itself (RFC 3261 section 11)
  std::string mf0 = kHeaders;
  mf0.replace(mf0.find("70"), 2, "0");
  EXPECT_TRUE(check("OPTIONS sip:bob@example.com SIP/2.0", mf0 + "\nCSeq: 1 OPTIONS").valid);
}

TEST(Validate, MissingMandatoryHeaders400) {
  // RFC 2543 peers send no Max-Forwards; a UAS accepts that (RFC 4475 section 3.4.1)
  EXPECT_TRUE(check("INVITE sip:bob@example.com SIP/2.0", without(kHeaders, "Max-Forwards") + "\nCSeq: 1 INVITE").valid);
  for (std::string h : {"Via", "To", "From", "Call-ID"}) {
    Verdict v = check("INVITE sip:bob@example.com SIP/2.0", without(kHeaders, h) + "\nCSeq: 1 INVITE");
    EXPECT_FALSE(v.valid) << h;
    EXPECT_EQ(v.response, 400) << h;
    EXPECT_EQ(v.code, "sip-missing-header");
  }
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders).response, 400);
}

TEST(Validate, MalformedHeaders400) {
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: x INVITE").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nCSeq: 2 INVITE").response, 400);
  std::string bad_via = kHeaders;
  bad_via.replace(0, bad_via.find('\n'), "Via: SIP/2.0/UDP");
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", bad_via + "\nCSeq: 1 INVITE").response, 400);
  std::string bad_mf = kHeaders;
  bad_mf.replace(bad_mf.find("70"), 2, "seventy");
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", bad_mf + "\nCSeq: 1 INVITE").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com:99999 SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nExpires: soon").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nContact: <sip:a@b").response, 400);
}

TEST(Validate, BranchUriHeadersAccept) {
  std::string cookie = kHeaders;
  cookie.replace(cookie.find("z9hG4bK776asdhds"), 16, "z9hG4bK");
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", cookie + "\nCSeq: 1 INVITE").code, "sip-bad-branch");
  EXPECT_EQ(check("INVITE sip:bob@example.com?Subject=x SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nAccept: text/html").response, 406);
  EXPECT_TRUE(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nAccept: application/sdp, text/html").valid);
  // an unknown method with a mismatching CSeq is still 501 (RFC 4475 section 3.1.2.19)
  EXPECT_EQ(check("FOO sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").response, 501);
}

TEST(Validate, CSeqMethodMismatch400) {
  Verdict v = check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 OPTIONS");
  EXPECT_EQ(v.response, 400);
  EXPECT_EQ(v.code, "sip-cseq-method-mismatch");
}

TEST(Validate, VersionMaxForwardsMethodScheme) {
  Verdict v505 = check("INVITE sip:bob@example.com SIP/7.0", kHeaders + "\nCSeq: 1 INVITE");
  EXPECT_EQ(v505.response, 505);
  std::string mf0 = kHeaders;
  mf0.replace(mf0.find("70"), 2, "0");
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", mf0 + "\nCSeq: 1 INVITE").response, 483);
  EXPECT_EQ(check("REGISTER sip:example.com SIP/2.0", kHeaders + "\nCSeq: 1 REGISTER").response, 405);
  EXPECT_EQ(check("FOOBAR sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 FOOBAR").response, 501);
  EXPECT_EQ(check("INVITE urn:service:sos SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").response, 416);
  EXPECT_EQ(check("INVITE tel:+1234 SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").response, 416);
  EXPECT_TRUE(check("INVITE sips:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE").valid);
}

TEST(Validate, RequireAndContent) {
  Verdict v = check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nRequire: 100rel, nonexistent, foo");
  EXPECT_EQ(v.response, 420);
  EXPECT_EQ(v.unsupported, (std::vector<std::string>{"nonexistent", "foo"}));
  // Require is ignored in CANCEL and ACK (RFC 3261 section 8.2.2.3)
  EXPECT_TRUE(check("CANCEL sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 CANCEL\nRequire: nonexistent").valid);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nContent-Type: application/xml", "<x/>").response, 415);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE", "v=0\r\n").response, 400);
  EXPECT_EQ(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Encoding: gzip", "x").response, 415);
  EXPECT_TRUE(check("INVITE sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE\nContent-Type: Application/SDP", "v=0\r\n").valid);
}

TEST(Validate, AckNeverGetsAResponse) {
  Verdict v = check("ACK sip:bob@example.com SIP/2.0", kHeaders + "\nCSeq: 1 INVITE");
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.response, 0);
}

TEST(Validate, TruncatedBody400AndBadResponsesDropped) {
  auto m = Message::parse(make("MESSAGE sip:b@example.com SIP/2.0", kHeaders + "\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 99", "", false) + "hi");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(validate(*m).response, 400);
  auto r = Message::parse(make("SIP/2.0 200 OK", without(kHeaders, "Call-ID") + "\nCSeq: 1 INVITE"));
  ASSERT_TRUE(r.ok());
  Verdict v = validate(*r);
  EXPECT_FALSE(v.valid);
  EXPECT_EQ(v.response, 0);
  auto r2 = Message::parse(make("SIP/3.0 200 OK", kHeaders + "\nCSeq: 1 INVITE"));
  EXPECT_FALSE(validate(*r2).valid);
}
