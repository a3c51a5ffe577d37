#include "oshin/billing/civil_date.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace oshin::billing {
namespace {

TEST(CivilDate, EpochAndKnownDays) {
  EXPECT_EQ(days_since_epoch({1970, 1, 1}), 0);
  EXPECT_EQ(days_since_epoch({1969, 12, 31}), -1);
  EXPECT_EQ(days_since_epoch({2000, 3, 1}), 11017);
  EXPECT_EQ(civil_from_days(11017), (CivilDate{2000, 3, 1}));
  EXPECT_EQ(civil_from_days(-1), (CivilDate{1969, 12, 31}));
}

TEST(CivilDate, RoundTripsEveryDayOfFourCenturies) {
  const std::int64_t first = days_since_epoch({1900, 1, 1});
  const std::int64_t last = days_since_epoch({2300, 12, 31});
  for (std::int64_t d = first; d <= last; ++d) {
    const CivilDate date = civil_from_days(d);
    ASSERT_TRUE(is_valid(date)) << d;
    ASSERT_EQ(days_since_epoch(date), d);
  }
}

TEST(CivilDate, Weekdays) {
  EXPECT_EQ(weekday({1970, 1, 1}), Weekday::kThursday);
  EXPECT_EQ(weekday({2024, 6, 1}), Weekday::kSaturday);
  EXPECT_EQ(weekday({2025, 5, 4}), Weekday::kSunday);
  EXPECT_EQ(weekday({2026, 9, 22}), Weekday::kTuesday);
  EXPECT_EQ(weekday({1969, 12, 28}), Weekday::kSunday);
}

TEST(CivilDate, Validity) {
  EXPECT_TRUE(is_valid({2024, 2, 29}));
  EXPECT_FALSE(is_valid({2025, 2, 29}));
  EXPECT_FALSE(is_valid({2100, 2, 29}));
  EXPECT_TRUE(is_valid({2000, 2, 29}));
  EXPECT_FALSE(is_valid({2024, 13, 1}));
  EXPECT_FALSE(is_valid({2024, 0, 1}));
  EXPECT_FALSE(is_valid({2024, 4, 31}));
  EXPECT_FALSE(is_valid({0, 1, 1}));
  EXPECT_FALSE(is_valid({10000, 1, 1}));
}

TEST(CivilDate, AddDaysCrossesMonthsYearsAndClamps) {
  EXPECT_EQ(add_days({2024, 2, 28}, 1), (CivilDate{2024, 2, 29}));
  EXPECT_EQ(add_days({2024, 12, 31}, 1), (CivilDate{2025, 1, 1}));
  EXPECT_EQ(add_days({2025, 1, 1}, -60), (CivilDate{2024, 11, 2}));
  EXPECT_EQ(add_days({2024, 1, 1}, std::numeric_limits<std::int64_t>::max()),
            (CivilDate{9999, 12, 31}));
  EXPECT_EQ(add_days({2024, 1, 1}, std::numeric_limits<std::int64_t>::min()), (CivilDate{1, 1, 1}));
  EXPECT_EQ(civil_from_days(std::numeric_limits<std::int64_t>::max()), (CivilDate{9999, 12, 31}));
}

TEST(CivilDate, FormatsAndParses) {
  EXPECT_EQ(to_string({2025, 5, 6}), "2025-05-06");
  EXPECT_EQ(to_string({987, 12, 1}), "0987-12-01");
  auto parsed = parse_civil_date("2024-06-01");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, (CivilDate{2024, 6, 1}));
  for (const char* bad :
       {"", "2024-6-01", "2024/06/01", "2024-06-31", "2025-02-29", "20240601", "2024-06-01T00:00",
        "２０２４-06-01", "-024-06-01", "2024-0a-01", "0000-01-01"}) {
    EXPECT_FALSE(parse_civil_date(bad)) << bad;
  }
}

}  // namespace
}  // namespace oshin::billing
