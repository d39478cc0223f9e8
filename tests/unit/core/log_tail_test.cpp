#include "core/log_tail.h"

#include <gtest/gtest.h>

#include <sstream>

using exphone::LogTail;

TEST(LogTail, WritesThroughAndKeepsTheLastLinesOfBothStreams) {
  std::ostringstream out, err;
  {
    LogTail tail({&out, &err}, 64);
    out << "account 1001: registered\n";
    err << "exphone web: login from 127.0.0.1" << std::endl;
    EXPECT_EQ(tail.text(), "account 1001: registered\nexphone web: login from 127.0.0.1\n");
    for (int i = 0; i < 20; ++i) out << "line " << i << "\n";
    const std::string t = tail.text();
    EXPECT_LE(t.size(), 64u);
    EXPECT_EQ(t.rfind("line ", 0), 0u) << t;  // starts at a line boundary
    EXPECT_NE(t.find("line 19\n"), std::string::npos);
  }
  EXPECT_NE(out.str().find("line 19\n"), std::string::npos);  // everything went through
  out << "after\n";  // the original buffer is back
  EXPECT_NE(out.str().find("after\n"), std::string::npos);
}
