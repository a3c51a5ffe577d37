#include "oshin/http/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <string>

namespace oshin::http {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, SpendsTheBurstThenRefillsAtTheRate) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter limiter({.rate_per_second = 2, .burst = 3}, clock);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.take("a"), 0s) << i;
  }
  // Empty: one token comes back after half a second, announced as one whole second.
  EXPECT_EQ(limiter.take("a"), 1s);
  clock.advance(500ms);
  EXPECT_EQ(limiter.take("a"), 0s);
  EXPECT_EQ(limiter.take("a"), 1s);
  // A long pause refills to the burst, never beyond it.
  clock.advance(1h);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(limiter.take("a"), 0s) << i;
  }
  EXPECT_EQ(limiter.take("a"), 1s);
}

TEST(RateLimiter, RetryAfterCoversTheWholeWait) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter limiter({.rate_per_second = 0.1, .burst = 1}, clock);
  EXPECT_EQ(limiter.take("slow"), 0s);
  EXPECT_EQ(limiter.take("slow"), 10s);
  clock.advance(9s);
  EXPECT_EQ(limiter.take("slow"), 1s);
  clock.advance(1s);
  EXPECT_EQ(limiter.take("slow"), 0s);
}

TEST(RateLimiter, KeysAreIndependent) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter limiter({.rate_per_second = 1, .burst = 1}, clock);
  EXPECT_EQ(limiter.take("10.0.0.1"), 0s);
  EXPECT_EQ(limiter.take("10.0.0.1"), 1s);
  EXPECT_EQ(limiter.take("10.0.0.2"), 0s);
}

TEST(RateLimiter, ZeroRateIsOff) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter limiter({.rate_per_second = 0, .burst = 1}, clock);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(limiter.take("a"), 0s);
  }
  EXPECT_EQ(limiter.size(), 0u);
}

TEST(RateLimiter, MemoryIsBoundedAndForgettingFullBucketsChangesNothing) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter limiter({.rate_per_second = 1, .burst = 2, .max_keys = 160}, clock);
  // An empty bucket that must be remembered.
  EXPECT_EQ(limiter.take("victim"), 0s);
  EXPECT_EQ(limiter.take("victim"), 0s);
  EXPECT_EQ(limiter.take("victim"), 1s);
  // A flood of one-off keys after the victim's bucket has refilled.
  clock.advance(10s);
  for (int i = 0; i < 10'000; ++i) {
    limiter.take("flood-" + std::to_string(i));
  }
  EXPECT_LE(limiter.size(), 160u);
  // The victim's refilled bucket may have been forgotten, which is the same as full.
  EXPECT_EQ(limiter.take("victim"), 0s);
  EXPECT_EQ(limiter.take("victim"), 0s);
  EXPECT_EQ(limiter.take("victim"), 1s);
}

}  // namespace
}  // namespace oshin::http
