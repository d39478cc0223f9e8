// RFC 4475 "SIP Torture Test Messages" against the parser and the validator.
//
// Data-driven: rfc4475/<name>.sip holds each message's exact bytes (RFC 4475 section 2
// conventions applied: <allOneLine> joined, <hex> decoded, <repeat> expanded, CRLF line ends);
// rfc4475/expectations.txt says, per message, what RFC 4475 wants from a phone. For every message
// that parses, the round trip parse(serialize(m)) must be equivalent to m.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "sip/message.h"
#include "sip/validate.h"

#ifndef EXPHONE_RFC4475_DIR
#error "define EXPHONE_RFC4475_DIR to the tests/unit/sip/rfc4475 directory"
#endif

namespace exphone::sip {
namespace {

struct Case {
  std::string name;
  std::string expect;  // parse-error | valid | respond:<code> | response-invalid | response-valid
  std::string comment; // the RFC summary lines above it, for failure messages
};

// gtest prints parameters of failing cases; show the name, not the bytes of the struct.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name << " (" << c.expect << ")"; }

std::string dir() { return EXPHONE_RFC4475_DIR; }

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream in(dir() + "/expectations.txt");
  std::string line, comment;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      comment.clear();
      continue;
    }
    if (line[0] == '#') {
      comment += line + "\n";
      continue;
    }
    std::istringstream ss(line);
    Case c;
    ss >> c.name >> c.expect;
    c.comment = comment;
    comment.clear();
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::string describe(const Verdict& v) {
  std::ostringstream o;
  o << (v.valid ? "valid" : "invalid") << " response=" << v.response;
  if (!v.code.empty()) o << " code=" << v.code;
  if (!v.reason.empty()) o << " (" << v.reason << ")";
  return o.str();
}

class Rfc4475 : public ::testing::TestWithParam<Case> {};

TEST_P(Rfc4475, MeetsExpectation) {
  const Case& c = GetParam();
  const std::string path = dir() + "/" + c.name + ".sip";
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  std::string bytes = read_bytes(path);
  ASSERT_FALSE(bytes.empty()) << path;
  SCOPED_TRACE(c.name + " expects " + c.expect + "\n" + c.comment);

  auto parsed = Message::parse(bytes);
  if (c.expect == "parse-error") {
    EXPECT_FALSE(parsed.ok()) << "parsed, but RFC 4475 says the message cannot be modelled";
    return;
  }
  if (!parsed.ok()) {
    // A response that fails to parse is dropped, which is what response-invalid asks for.
    if (c.expect == "response-invalid") {
      SUCCEED() << "dropped at parse: " << parsed.error().to_string();
      return;
    }
    FAIL() << "parse error " << parsed.error().code << ": " << parsed.error().message
           << " (offset " << parsed.error().offset << ")";
  }
  const Message& m = *parsed;

  // Round trip: the canonical form must parse back to an equivalent message.
  std::string wire = serialize(m);
  auto again = Message::parse(wire);
  if (!again.ok()) {
    ADD_FAILURE() << "serialized form does not parse: " << again.error().to_string() << "\n" << wire;
  } else {
    EXPECT_TRUE(equivalent(*again, m)) << "round trip not equivalent; serialized:\n" << wire;
  }

  Verdict v = validate(m);
  if (c.expect == "valid") {
    EXPECT_TRUE(m.is_request());
    EXPECT_TRUE(v.valid && v.response == 0) << "got " << describe(v);
  } else if (c.expect.rfind("respond:", 0) == 0) {
    int want = std::stoi(c.expect.substr(8));
    EXPECT_TRUE(m.is_request());
    EXPECT_FALSE(v.valid) << "got " << describe(v);
    EXPECT_EQ(v.response, want) << "got " << describe(v);
    if (want == 420) {
      EXPECT_FALSE(v.unsupported.empty()) << "420 must list the option-tags for Unsupported";
    }
  } else if (c.expect == "response-invalid") {
    EXPECT_TRUE(m.is_response());
    EXPECT_FALSE(v.valid) << "got " << describe(v);
    EXPECT_EQ(v.response, 0) << "a response is never answered";
  } else if (c.expect == "response-valid") {
    EXPECT_TRUE(m.is_response());
    EXPECT_TRUE(v.valid) << "got " << describe(v);
    EXPECT_EQ(v.response, 0);
  } else {
    FAIL() << "unknown expectation '" << c.expect << "' in expectations.txt";
  }
}

INSTANTIATE_TEST_SUITE_P(Torture, Rfc4475, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

// Every vector has an expectation and every expectation a vector; 49 messages in RFC 4475.
TEST(Rfc4475Corpus, ExpectationsCoverEveryVector) {
  std::vector<std::string> files, listed;
  for (const auto& e : std::filesystem::directory_iterator(dir()))
    if (e.path().extension() == ".sip") files.push_back(e.path().stem().string());
  for (const auto& c : load_cases()) listed.push_back(c.name);
  std::sort(files.begin(), files.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(files, listed);
  EXPECT_EQ(listed.size(), 49u);
  EXPECT_EQ(std::adjacent_find(listed.begin(), listed.end()), listed.end()) << "duplicate name";
}

// Specific facts the RFC states about individual messages, beyond accept/reject.
TEST(Rfc4475Details, DblreqIgnoresTrailingInvite) {
  auto m = Message::parse(read_bytes(dir() + "/dblreq.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->method(), "REGISTER");
  EXPECT_TRUE(m->body().empty());
}

TEST(Rfc4475Details, Esc02HasTwoContactsAndUnknownMethod) {
  auto m = Message::parse(read_bytes(dir() + "/esc02.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->method(), "RE%47IST%45R");
  auto c = m->contacts();
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->size(), 2u);
}

TEST(Rfc4475Details, LongreqHas34Vias) {
  auto m = Message::parse(read_bytes(dir() + "/longreq.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto v = m->vias();
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->size(), 34u);
}

TEST(Rfc4475Details, Mpart01BodyFramedByContentLength) {
  auto m = Message::parse(read_bytes(dir() + "/mpart01.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->body().size(), 553u);
  EXPECT_NE(m->body().find('\0'), std::string_view::npos);
}

TEST(Rfc4475Details, NoreasonHasEmptyReason) {
  auto m = Message::parse(read_bytes(dir() + "/noreason.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->status(), 100);
  EXPECT_EQ(m->reason(), "");
}

TEST(Rfc4475Details, Bext01ListsBothUnsupportedTags) {
  auto m = Message::parse(read_bytes(dir() + "/bext01.sip"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  Verdict v = validate(*m);
  EXPECT_EQ(v.response, 420);
  EXPECT_EQ(v.unsupported, (std::vector<std::string>{"nothingSupportsThis", "nothingSupportsThisEither"}));
}

}  // namespace
}  // namespace exphone::sip
