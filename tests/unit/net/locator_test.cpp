#include <gtest/gtest.h>

#include "net/locator.h"

using exphone::net::order_srv;
using exphone::net::SrvRecord;

TEST(Locator, SrvPriorityOrderIsStrict) {
  auto out = order_srv({{20, 1, 2, "c"}, {10, 5, 1, "a"}, {30, 0, 3, "d"}, {10, 5, 1, "b"}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].priority, 10);
  EXPECT_EQ(out[1].priority, 10);
  EXPECT_EQ(out[2].target, "c");
  EXPECT_EQ(out[3].target, "d");
}

TEST(Locator, SrvWeightsSpreadLoad) {
  // RFC 2782: within a priority, the chance of going first is proportional to the weight.
  int heavy_first = 0;
  for (int i = 0; i < 2000; ++i) {
    auto out = order_srv({{10, 10, 1, "light"}, {10, 90, 2, "heavy"}});
    heavy_first += out[0].target == "heavy";
  }
  EXPECT_GT(heavy_first, 1600);
  EXPECT_LT(heavy_first, 1950);
  // weight 0 entries still appear, after the weighted ones most of the time
  auto z = order_srv({{10, 0, 1, "zero"}, {10, 100, 2, "w"}});
  EXPECT_EQ(z.size(), 2u);
}
