#include "web/auth.h"

#include <gtest/gtest.h>

#include "web/pages.h"

using namespace exphone::web;
using namespace std::chrono_literals;

TEST(WebPassword, HashVerifies) {
  auto h = hash_password("correct horse", 10);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->rfind("$scrypt$ln=10,r=8,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password("correct horse", *h));
  EXPECT_FALSE(verify_password("correct horsE", *h));
  EXPECT_FALSE(verify_password("", *h));
}

TEST(WebPassword, SaltedAndDefaultCost) {
  auto a = hash_password("pw");
  auto b = hash_password("pw");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // random salt
  EXPECT_EQ(a->rfind("$scrypt$ln=15,", 0), 0u);
  EXPECT_TRUE(verify_password("pw", *b));
}

TEST(WebPassword, RejectsBadInput) {
  EXPECT_FALSE(hash_password(""));
  EXPECT_FALSE(hash_password("x", 40));
  auto h = hash_password("pw", 10);
  ASSERT_TRUE(h);
  for (std::string bad : {"", "pw", "$scrypt$", "$scrypt$ln=10,r=8,p=1$", "$scrypt$ln=10,r=8,p=1$$",
                          "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$scrypt$ln=10,r=8,p=99$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$scrypt$ln=10,x=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "$scrypt$ln=10,r=8,p=1$!!!$???"})
    EXPECT_FALSE(verify_password("pw", bad)) << bad;
  std::string tampered = *h;
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_password("pw", tampered));
}

TEST(WebTokens, RandomAndCompared) {
  std::string a = random_token(), b = random_token();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(equal_tokens(a, a));
  EXPECT_FALSE(equal_tokens(a, b));
  EXPECT_FALSE(equal_tokens("", ""));
  EXPECT_FALSE(equal_tokens(a, a.substr(1)));
}

TEST(WebSessions, ExpireWhenIdle) {
  SessionStore store(60s, 2);
  auto t0 = Clock::now();
  std::string tok = store.create(t0);
  const Session* s = store.find(tok, t0 + 30s);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->csrf.size(), 32u);
  EXPECT_NE(s->csrf, tok);
  EXPECT_NE(store.find(tok, t0 + 80s), nullptr);  // extended at 30 s
  EXPECT_EQ(store.find(tok, t0 + 200s), nullptr);
  EXPECT_EQ(store.find("nonsense", t0), nullptr);
  EXPECT_EQ(store.size(), 0u);
}

TEST(WebSessions, BoundedAndRemovable) {
  SessionStore store(60s, 2);
  auto t0 = Clock::now();
  std::string a = store.create(t0), b = store.create(t0 + 1s), c = store.create(t0 + 2s);
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.find(a, t0 + 3s), nullptr);  // the oldest was evicted
  EXPECT_NE(store.find(c, t0 + 3s), nullptr);
  store.remove(c);
  EXPECT_EQ(store.find(c, t0 + 3s), nullptr);
  EXPECT_NE(store.find(b, t0 + 3s), nullptr);
}

// A restart on a changed config hands the sessions to the next process image: same tokens, same
// CSRF tokens, no longer life than they had left; junk lines are skipped, the bound holds.
TEST(WebSessions, HandedOverAcrossARestart) {
  SessionStore old_store(60s, 8);
  auto t0 = Clock::now();
  std::string a = old_store.create(t0), b = old_store.create(t0 + 50s);
  std::string csrf_b = old_store.find(b, t0 + 50s)->csrf;
  std::string text = old_store.hand_over(t0 + 70s);  // a expired at 60 s: not handed over
  EXPECT_EQ(text.find(a), std::string::npos);
  EXPECT_NE(text.find(b), std::string::npos);

  SessionStore next(600s, 2);
  auto t1 = t0 + 70s;
  std::string junk = "short abc 100\n" + std::string(32, 'g') + " " + std::string(32, 'a') + " 100\nno-fields\n" +
                     std::string(32, 'b') + " " + std::string(32, 'c') + " -5\n";
  EXPECT_EQ(next.take_over(junk + text, t1), 1u);
  const Session* s = next.find(b, t1);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->csrf, csrf_b);
  EXPECT_EQ(next.find(a, t1), nullptr);
  // b had 40 s left at hand-over; finding it extended it by the new timeout, as any use does
  SessionStore strict(60s, 2);
  EXPECT_EQ(strict.take_over(text, t1), 1u);
  EXPECT_NE(strict.find(b, t1 + 39s), nullptr);
  SessionStore strict2(60s, 2);
  ASSERT_EQ(strict2.take_over(text, t1), 1u);
  EXPECT_EQ(strict2.find(b, t1 + 41s), nullptr);  // expired: 40 s was all it had left
  SessionStore tiny(60s, 1);
  std::string many;
  for (int i = 0; i < 5; ++i) many += std::string(31, 'a') + std::to_string(i) + " " + std::string(32, 'c') + " 1000\n";
  EXPECT_EQ(tiny.take_over(many, t1), 1u);
  EXPECT_EQ(tiny.size(), 1u);
}

TEST(WebThrottle, LocksAfterFailuresPerClient) {
  LoginThrottle t(3, 60s, 300s);
  auto t0 = Clock::now();
  t.failure("10.0.0.1", t0);
  t.failure("10.0.0.1", t0 + 1s);
  EXPECT_EQ(t.blocked_for("10.0.0.1", t0 + 2s), 0);
  t.failure("10.0.0.1", t0 + 2s);
  EXPECT_GT(t.blocked_for("10.0.0.1", t0 + 3s), 290);
  EXPECT_EQ(t.blocked_for("10.0.0.2", t0 + 3s), 0);  // per client
  EXPECT_EQ(t.blocked_for("10.0.0.1", t0 + 303s), 0);
  // failures outside the window do not add up
  t.failure("10.0.0.3", t0);
  t.failure("10.0.0.3", t0 + 1s);
  t.failure("10.0.0.3", t0 + 100s);
  EXPECT_EQ(t.blocked_for("10.0.0.3", t0 + 101s), 0);
  t.success("10.0.0.3");
}

TEST(WebCookies, ParseAndSet) {
  EXPECT_EQ(cookie_value("a=1; exphone_session=abc; b=2", "exphone_session"), "abc");
  EXPECT_EQ(cookie_value("exphone_session=abc", "exphone_session"), "abc");
  EXPECT_FALSE(cookie_value("xexphone_session=abc", "exphone_session"));
  EXPECT_FALSE(cookie_value("", "exphone_session"));
  std::string c = session_cookie("s", "v");
  for (const char* attr : {"Secure", "HttpOnly", "SameSite=Strict", "Path=/"}) EXPECT_NE(c.find(attr), std::string::npos) << attr;
  EXPECT_NE(session_cookie("s", "", 0).find("Max-Age=0"), std::string::npos);
}

TEST(WebForms, Decode) {
  auto f = parse_form("csrf=ab12&password=p%40ss+word&empty=");
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["csrf"], "ab12");
  EXPECT_EQ((*f)["password"], "p@ss word");
  EXPECT_EQ((*f)["empty"], "");
  EXPECT_FALSE(parse_form("a=%4"));
  EXPECT_FALSE(parse_form("a=%zz"));
  EXPECT_TRUE(parse_form(""));
}

TEST(WebPages, EscapesAndPadlock) {
  EXPECT_EQ(html_escape("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
  nlohmann::ordered_json st = {{"accounts", {{{"name", "<b>"}, {"registered", true}, {"state", "registered"}, {"transport", "tls"}}}},
                               {"calls",
                                {{{"peer", "sip:a@b"}, {"secure", true}, {"signaling", {{"transport", "tls"}}}, {"media", {{"srtp", true}}}},
                                 {{"peer", "sip:c@d"}, {"secure", false}, {"signaling", {{"transport", "udp"}}}, {"media", {{"srtp", false}}}}}}};
  std::string page = status_page(st, "tok123");
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;"), std::string::npos);
  EXPECT_NE(page.find("class=\"padlock\""), std::string::npos);
  EXPECT_NE(page.find("signaling over udp, not TLS; media is not SRTP"), std::string::npos);
  EXPECT_NE(page.find("name=\"csrf\" value=\"tok123\""), std::string::npos);
  EXPECT_EQ(insecure_reason({{"secure", false}, {"signaling", {{"transport", "tls"}, {"tls", {{"verified", false}}}}}, {"media", {{"srtp", true}}}}),
            "the TLS peer is not verified");
  EXPECT_EQ(page.find("class=\"warn dropped\""), std::string::npos);
  // a secure call under attack keeps its padlock; what was dropped is listed beside it
  st["calls"][0]["media"]["srtp_auth_failures"] = 30u;
  st["calls"][0]["media"]["replays_dropped"] = 10u;
  page = status_page(st, "tok123");
  EXPECT_NE(page.find("class=\"padlock\""), std::string::npos);
  EXPECT_NE(page.find("dropped: 30 failing SRTP authentication, 10 replayed"), std::string::npos);
}

TEST(WebPages, StatusShowsCertificateExpiryAuditAndClock) {
  nlohmann::ordered_json st = {{"accounts", nlohmann::ordered_json::array()},
                               {"clock", {{"ntp_configured", true}, {"synchronized", false}, {"plausible", true}, {"source", "system"}, {"now", "T"}}}};
  nlohmann::ordered_json extras = {
      {"certificates",
       {{"device_certificate", {{"file", "device.crt"}, {"certificates", {{{"subject", "CN=1001"}, {"not_after", "soon"}, {"days_left", 12}}}}}},
        {"trusted_cas", {{{"file", "root.pem"}, {"certificates", {{{"subject", "CN=Root"}, {"not_after", "later"}, {"days_left", 900}}}}}}}}},
      {"audit", {{"errors", 2}, {"warnings", 1}}}};
  std::string page = status_page(st, "tok", extras);
  EXPECT_NE(page.find("1 certificate(s) expire within 30 days"), std::string::npos) << page;
  EXPECT_NE(page.find("CN=Root"), std::string::npos);
  EXPECT_NE(page.find("Security audit: 2 error(s), 1 warning(s)"), std::string::npos);
  EXPECT_NE(page.find("NTP NOT synchronized"), std::string::npos);
}
