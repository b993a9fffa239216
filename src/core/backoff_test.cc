#include "core/backoff.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>

namespace stb {
namespace {

TEST(BackoffTest, FullJitterStaysUnderADoublingCeiling) {
  Backoff b({.base_seconds = 0.5, .max_seconds = 1000}, 7);
  for (int attempt = 1; attempt <= 6; ++attempt) {
    double ceiling = 0.5 * (1 << (attempt - 1));
    double lo = ceiling, hi = 0;
    for (int i = 0; i < 2000; ++i) {
      double d = b.Delay(attempt);
      ASSERT_GE(d, 0) << attempt;
      ASSERT_LE(d, ceiling) << attempt;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    // Full jitter: the whole range is used, not just its top.
    EXPECT_LT(lo, 0.05 * ceiling) << attempt;
    EXPECT_GT(hi, 0.95 * ceiling) << attempt;
  }
}

TEST(BackoffTest, NoWaitIsLongerThanTheCap) {
  Backoff b({.base_seconds = 0.5, .max_seconds = 20}, 1);
  double hi = 0;
  for (int attempt : {6, 7, 30, 64, 1000, 100000}) {
    for (int i = 0; i < 200; ++i) hi = std::max(hi, b.Delay(attempt));
  }
  EXPECT_LE(hi, 20);
  EXPECT_GT(hi, 19);
}

TEST(BackoffTest, RetryAfterIsHonouredUpToTheCap) {
  Backoff b({.base_seconds = 0.01, .max_seconds = 20}, 3);
  for (int i = 0; i < 100; ++i) {
    double d = b.Delay(1, 5);
    EXPECT_GE(d, 5);
    EXPECT_LE(d, 20);
  }
  EXPECT_EQ(b.Delay(1, 3600), 20);  // a server asking for an hour is retried at the cap
  EXPECT_LE(b.Delay(1, 0), 0.01);   // no hint: the backoff alone
}

TEST(BackoffTest, WithoutJitterTheCeilingDoublesAndRetryAfterHasItsOwnCap) {
  // The webhook's schedule: the configured delay doubled per try, a Retry-After capped apart.
  Backoff b({.base_seconds = 2,
             .max_seconds = std::numeric_limits<double>::infinity(),
             .jitter = false,
             .max_retry_after_seconds = 60});
  EXPECT_EQ(b.Next(), 2);
  EXPECT_EQ(b.Next(), 4);
  EXPECT_EQ(b.Next(30), 30);   // the server asks for more than the backoff
  EXPECT_EQ(b.Next(600), 60);  // and too much
  EXPECT_EQ(b.Next(1), 32);    // less than the backoff: the backoff
  EXPECT_EQ(b.attempts(), 5);
}

TEST(BackoffTest, AFloorMakesAPollInterval) {
  // The lock's wait: 0.2 to 0.6 s; a fixed poll: min = max.
  Backoff lock({.base_seconds = 0.6, .max_seconds = 0.6, .min_seconds = 0.2}, 9);
  for (int attempt = 1; attempt < 50; ++attempt) {
    double d = lock.Delay(attempt);
    EXPECT_GE(d, 0.2);
    EXPECT_LE(d, 0.6);
  }
  Backoff poll({.base_seconds = 0.2, .max_seconds = 0.2, .min_seconds = 0.2});
  EXPECT_EQ(poll.Next(), 0.2);
  EXPECT_EQ(poll.Next(), 0.2);
}

TEST(BackoffTest, ASeedGivesTheSameSequence) {
  Backoff a({}, 42), b({}, 42);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(a.Delay(i), b.Delay(i));
}

}  // namespace
}  // namespace stb
