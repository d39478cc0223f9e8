#include <gtest/gtest.h>

#include "sip/framer.h"
#include "sip/message.h"
#include "test_messages.h"

using namespace exphone::sip;
using Event = StreamFramer::Event;

namespace {
std::vector<std::string> drain(StreamFramer& f, std::vector<Event>* events = nullptr) {
  std::vector<std::string> out;
  std::string msg;
  for (;;) {
    auto ev = f.next(&msg);
    EXPECT_TRUE(ev.ok()) << ev.error().to_string();
    if (!ev || *ev == Event::kNeedMore) break;
    if (events) events->push_back(*ev);
    if (*ev == Event::kMessage) out.push_back(msg);
  }
  return out;
}
}  // namespace

TEST(Framer, SplitsBackToBackMessagesFedByteByByte) {
  std::string stream = std::string(testdata::kInvite) + testdata::kRinging + testdata::kRegister200;
  StreamFramer f;
  std::vector<std::string> got;
  for (char c : stream) {
    ASSERT_TRUE(f.feed(std::string_view(&c, 1)).ok());
    auto m = drain(f);
    got.insert(got.end(), m.begin(), m.end());
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], testdata::kInvite);
  EXPECT_EQ(got[2], testdata::kRegister200);
  for (auto& g : got) EXPECT_TRUE(Message::parse(g).ok());
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(Framer, KeepalivesRfc5626) {
  StreamFramer client(true);
  ASSERT_TRUE(client.feed("\r\n").ok());
  std::vector<Event> ev;
  drain(client, &ev);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0], Event::kPong);

  StreamFramer server(false);
  ASSERT_TRUE(server.feed("\r\n").ok());
  ev.clear();
  drain(server, &ev);
  EXPECT_TRUE(ev.empty());  // could be half a ping
  ASSERT_TRUE(server.feed(std::string("\r\n") + testdata::kRinging).ok());
  auto msgs = drain(server, &ev);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], Event::kPing);
  EXPECT_EQ(ev[1], Event::kMessage);
}

TEST(Framer, RequiresContentLengthOnStreams) {
  StreamFramer f;
  ASSERT_TRUE(f.feed("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n").ok());
  std::string m;
  auto ev = f.next(&m);
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code, "sip-missing-content-length");
  EXPECT_FALSE(f.feed("more").ok());  // framing is lost: the connection must go
}

TEST(Framer, CompactContentLengthAndBodyAcrossSegments) {
  StreamFramer f;
  ASSERT_TRUE(f.feed("MESSAGE sip:a@b SIP/2.0\r\nl: 10\r\n\r\n01234").ok());
  EXPECT_TRUE(drain(f).empty());
  ASSERT_TRUE(f.feed("56789OPTIONS").ok());
  auto msgs = drain(f);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].substr(msgs[0].size() - 10), "0123456789");
  EXPECT_EQ(f.buffered(), 7u);
}

TEST(Framer, Limits) {
  Limits l;
  l.max_message_size = 200;
  StreamFramer big(true, l);
  ASSERT_TRUE(big.feed("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 5000\r\n\r\n").ok());
  std::string m;
  auto ev = big.next(&m);
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code, "sip-bad-content-length");

  StreamFramer endless(true, l);
  exphone::Status s = exphone::Ok{};
  for (int i = 0; i < 100 && s.ok(); ++i) s = endless.feed("X-Header: never ending\r\n");
  EXPECT_FALSE(s.ok());

  StreamFramer conflict;
  ASSERT_TRUE(conflict.feed("MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab").ok());
  EXPECT_EQ(conflict.next(&m).error().code, "sip-bad-content-length");

  StreamFramer garbage;
  ASSERT_TRUE(garbage.feed("\rX").ok());
  EXPECT_FALSE(garbage.next(&m).ok());
}
