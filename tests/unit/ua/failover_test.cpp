// Registrar failover and the RFC 5626 section 4.5 re-registration backoff (ua/failover.h):
// the bounds and randomization range of the wait, the start-up jitter, and the state machine
// over the ordered registrar list — without a peer.
#include "ua/failover.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace exphone;
using namespace exphone::ua;

namespace {

TEST(Backoff, CeilingDoublesFromBaseTimeUpToMaxTime) {
  RetrySettings s;  // RFC 5626 section 4.5 defaults: 30 s / 90 s, max 1800 s
  EXPECT_EQ(backoff_ceiling(s, 0, true), Millis{30000});
  EXPECT_EQ(backoff_ceiling(s, 1, true), Millis{60000});
  EXPECT_EQ(backoff_ceiling(s, 5, true), Millis{960000});
  EXPECT_EQ(backoff_ceiling(s, 6, true), Millis{1800000});  // 1920 s capped
  EXPECT_EQ(backoff_ceiling(s, 0, false), Millis{90000});   // another flow is still up
  EXPECT_EQ(backoff_ceiling(s, 10, false), Millis{1800000});
}

TEST(Backoff, HugeOrNegativeFailureCountsStayInBounds) {
  RetrySettings s;
  EXPECT_EQ(backoff_ceiling(s, -3, true), Millis{30000});
  EXPECT_EQ(backoff_ceiling(s, std::numeric_limits<int>::max(), true), Millis{1800000});
  RetrySettings big{3600, 3600, 86400};
  EXPECT_EQ(backoff_ceiling(big, 1000, true), Millis{86400000});
}

TEST(Backoff, WaitIsBetweenHalfAndAllOfTheCeiling) {
  RetrySettings s;
  EXPECT_EQ(backoff_wait(s, 0, true, 0.0), Millis{15000});
  EXPECT_EQ(backoff_wait(s, 0, true, 1.0), Millis{30000});
  EXPECT_EQ(backoff_wait(s, 0, true, 0.5), Millis{22500});
  // bad random input is clamped, never a crash or a negative wait
  EXPECT_EQ(backoff_wait(s, 0, true, -1.0), Millis{15000});
  EXPECT_EQ(backoff_wait(s, 0, true, 7.0), Millis{30000});
  EXPECT_EQ(backoff_wait(s, 0, true, std::nan("")), Millis{15000});
}

TEST(Backoff, RandomWaitsOfManyDevicesSpreadOverTheWholeRange) {
  // 1000 devices that all lost their flow at once: the first retries are uniform over
  // [15 s, 30 s] — no second of that window gets more than a small share.
  RetrySettings s;
  std::vector<int> per_second(31, 0);
  double lo = 1e18, hi = 0;
  for (int i = 0; i < 1000; ++i) {
    auto w = backoff_wait(s, 0, true, random_unit());
    ASSERT_GE(w, Millis{15000});
    ASSERT_LE(w, Millis{30000});
    lo = std::min<double>(lo, static_cast<double>(w.count()));
    hi = std::max<double>(hi, static_cast<double>(w.count()));
    ++per_second[static_cast<std::size_t>(w.count() / 1000)];
  }
  EXPECT_LT(lo, 16000);
  EXPECT_GT(hi, 29000);
  int busiest = *std::max_element(per_second.begin(), per_second.end());
  EXPECT_LT(busiest, 150) << "a uniform spread puts ~67 of 1000 in each second";
}

TEST(Backoff, RandomUnitIsInZeroOne) {
  for (int i = 0; i < 1000; ++i) {
    double u = random_unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
}

TEST(StartupDelay, IsWithinTheJitterAndZeroWhenOff) {
  EXPECT_EQ(startup_delay(Millis{2000}, 0.0), Millis{0});
  EXPECT_EQ(startup_delay(Millis{2000}, 1.0), Millis{2000});
  EXPECT_EQ(startup_delay(Millis{2000}, 0.25), Millis{500});
  EXPECT_EQ(startup_delay(Millis{0}, 0.7), Millis{0});
  EXPECT_EQ(startup_delay(Millis{-5}, 0.7), Millis{0});
  EXPECT_EQ(startup_delay(Millis{2000}, std::nan("")), Millis{0});
}

TEST(RegistrarFailover, WalksTheOrderedListThenReportsExhaustion) {
  RegistrarFailover f(3);
  EXPECT_EQ(f.trying(), 0u);
  EXPECT_TRUE(f.failed("sip:a: timeout"));
  EXPECT_EQ(f.trying(), 1u);
  EXPECT_TRUE(f.failed("sip:b: transport-failed"));
  EXPECT_EQ(f.trying(), 2u);
  EXPECT_FALSE(f.failed("sip:c: registrar-unavailable"));  // every registrar failed: back off
  f.round_failed();
  EXPECT_EQ(f.consecutive_failures(), 1);
  f.restart();
  EXPECT_EQ(f.trying(), 0u);  // a new round starts with the primary
}

TEST(RegistrarFailover, ABackupBindingIsProbedAndFailsBackToThePrimary) {
  RegistrarFailover f(2);
  EXPECT_FALSE(f.probe_due());
  ASSERT_TRUE(f.failed("sip:primary: timeout"));
  f.registered();
  EXPECT_EQ(f.active(), 1u);
  EXPECT_TRUE(f.has_binding());
  EXPECT_TRUE(f.probe_due());
  EXPECT_EQ(f.reason(), "sip:primary: timeout");
  f.begin_failback();
  EXPECT_TRUE(f.failing_back());
  EXPECT_EQ(f.trying(), 0u);
  EXPECT_EQ(f.took_binding(), 1u);  // the backup whose binding is removed
  f.registered();
  EXPECT_EQ(f.active(), 0u);
  EXPECT_FALSE(f.probe_due());
  EXPECT_TRUE(f.reason().empty());
}

TEST(RegistrarFailover, AFailedFailbackReturnsToTheBackup) {
  RegistrarFailover f(2);
  ASSERT_TRUE(f.failed("sip:primary: timeout"));
  f.registered();
  f.begin_failback();
  EXPECT_TRUE(f.failed("sip:primary: transport-failed"));  // still down: the backup again
  EXPECT_FALSE(f.failing_back());
  EXPECT_EQ(f.trying(), 1u);
  f.registered();
  EXPECT_TRUE(f.probe_due());
}

TEST(RegistrarFailover, ALostFlowIsReplacedAtTheSameRegistrarFirst) {
  RegistrarFailover f(2);
  f.registered();  // on the primary
  f.failed("x");   // ignored index move is undone by lost(): it starts from the active one
  f.registered();  // now on the backup
  f.lost("sip:backup: keepalive-timeout");
  EXPECT_FALSE(f.has_binding());
  EXPECT_EQ(f.trying(), 1u);  // RFC 5626 section 4.5: a new flow to the same registrar
  EXPECT_FALSE(f.failed("sip:backup: transport-failed"));
  f.round_failed();
  f.round_failed();
  EXPECT_EQ(f.consecutive_failures(), 2);
  f.restart();
  f.registered();
  EXPECT_EQ(f.consecutive_failures(), 0);  // reset by a 2xx
}

TEST(RegistrarFailover, ASingleRegistrarNeverFailsOverAndNeverProbes) {
  RegistrarFailover f(1);
  EXPECT_FALSE(f.failed("timeout"));
  f.registered();
  EXPECT_FALSE(f.probe_due());
  f.begin_failback();  // ignored
  EXPECT_FALSE(f.failing_back());
  RegistrarFailover zero(0);  // treated as one
  EXPECT_EQ(zero.count(), 1u);
}

}  // namespace
