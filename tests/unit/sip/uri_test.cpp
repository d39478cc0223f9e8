#include <gtest/gtest.h>

#include "sip/uri.h"

using namespace exphone::sip;

namespace {
Uri ok(std::string_view s) {
  auto u = parse_uri(s);
  EXPECT_TRUE(u.ok()) << s << ": " << (u ? "" : u.error().to_string());
  return u ? *u : Uri{};
}
bool eq(std::string_view a, std::string_view b) { return uri_equal(ok(a), ok(b)); }
}  // namespace

TEST(Uri, SipParts) {
  Uri u = ok("sip:alice:secret@atlanta.example.com:5070;transport=tcp;lr?subject=project%20x&priority=urgent");
  EXPECT_EQ(u.scheme, Scheme::kSip);
  EXPECT_EQ(u.user, "alice");
  EXPECT_EQ(u.password, "secret");
  EXPECT_EQ(u.host, "atlanta.example.com");
  EXPECT_EQ(u.host_type, HostType::kName);
  EXPECT_EQ(u.port, 5070);
  EXPECT_EQ(u.params.get("transport"), "tcp");
  EXPECT_TRUE(u.params.has("lr"));
  EXPECT_EQ(u.params.size(), 2u);
  EXPECT_EQ(u.headers, "subject=project%20x&priority=urgent");
}

TEST(Uri, HostsAndUsers) {
  EXPECT_EQ(ok("sips:[2001:db8::1]:5061").host_type, HostType::kIPv6);
  EXPECT_EQ(ok("sip:192.0.2.1").host_type, HostType::kIPv4);
  EXPECT_EQ(ok("sip:+1-212-555-1212:1234@gateway.com;user=phone").user, "+1-212-555-1212");
  EXPECT_EQ(ok("sip:alice;day=tuesday@atlanta.com").user, "alice;day=tuesday");
  EXPECT_EQ(ok("sip:%61lice@atlanta.com").user, "%61lice");
  EXPECT_EQ(ok("SIP:Alice@AtLanTa.CoM").scheme, Scheme::kSip);
  EXPECT_EQ(ok("sip:host.example.com.").host_type, HostType::kName);
  EXPECT_EQ(ok("sip:[::ffff:192.0.2.1]").host_type, HostType::kIPv6);
}

TEST(Uri, TelAndOtherSchemes) {
  Uri t = ok("tel:+1-201-555-0123;phone-context=+1");
  EXPECT_EQ(t.scheme, Scheme::kTel);
  EXPECT_EQ(t.opaque, "+1-201-555-0123");
  EXPECT_EQ(t.params.get("phone-context"), "+1");
  Uri o = ok("urn:service:sos.fire");
  EXPECT_EQ(o.scheme, Scheme::kOther);
  EXPECT_EQ(o.opaque, "service:sos.fire");
  EXPECT_EQ(ok("mailto:ops@plant.example").scheme_text, "mailto");
}

TEST(Uri, Malformed) {
  const char* bad[] = {"", "sip", "sip:", ":x", "sip:@host", "sip:alice@", "sip:host:99999",
                       "sip:host:5060x", "sip:[2001:db8::1", "sip:[zz::1]", "sip:ho st",
                       "sip:a%4@h", "sip:a%zz@h", "sip:h;=x", "sip:h;a=", "sip:h?", "sip:999.1.1.1",
                       "sip:1.2.3.4.5", "sip:host:", "sip:a@b@c", "tel:", "sip:h;p=a b", "x y:z", "tel:+1<2"};
  for (auto s : bad) EXPECT_FALSE(parse_uri(s).ok()) << s;
}

// RFC 3261 section 19.1.4 examples
TEST(Uri, Rfc3261EquivalentExamples) {
  EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(eq("sip:carol@chicago.com;newparam=5", "sip:carol@chicago.com;security=on"));
  EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  EXPECT_TRUE(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
  EXPECT_TRUE(eq("sip:[2001:db8:0:0::1]", "sip:[2001:DB8::1]"));
}

TEST(Uri, Rfc3261NotEquivalentExamples) {
  EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  EXPECT_FALSE(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  EXPECT_FALSE(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  EXPECT_FALSE(eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
  EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  EXPECT_FALSE(eq("sip:alice:pw@atlanta.com", "sip:alice@atlanta.com"));
  EXPECT_FALSE(eq("sip:alice@atlanta.com;maddr=239.255.255.1", "sip:alice@atlanta.com"));
  EXPECT_TRUE(eq("tel:+1-201-555-0123", "tel:+12015550123"));
  EXPECT_FALSE(eq("tel:+12015550123", "sip:+12015550123@h"));
}
