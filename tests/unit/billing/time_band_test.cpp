#include "oshin/billing/time_band.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace oshin::billing {
namespace {

using testing::jst;
using testing::local_time;

TimeBand band_at(SystemTime t) {
  auto info = classify_time_band(t);
  EXPECT_TRUE(info);
  return info ? info->band : TimeBand::kDay;
}

std::string reason_at(SystemTime t, int offset = kTokyoUtcOffsetMinutes) {
  auto info = classify_time_band(t, offset);
  EXPECT_TRUE(info);
  return info ? info->reason : std::string();
}

// 2025-06-04 is a Wednesday, not a 休日.
TEST(TimeBand, WeekdayBoundaries) {
  EXPECT_EQ(band_at(jst(2025, 6, 4, 0, 0, 0)), TimeBand::kLateNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 5, 59, 59)), TimeBand::kLateNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 6, 0, 0)), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 7, 59, 59)), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 8, 0, 0)), TimeBand::kDay);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 12, 0, 0)), TimeBand::kDay);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 17, 59, 59)), TimeBand::kDay);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 18, 0, 0)), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 21, 59, 59)), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 22, 0, 0)), TimeBand::kLateNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 23, 59, 59)), TimeBand::kLateNight);
}

TEST(TimeBand, SubSecondInstantsBelongToTheirSecond) {
  const SystemTime just_before = jst(2025, 6, 4, 22, 0, 0) - std::chrono::nanoseconds(1);
  EXPECT_EQ(band_at(just_before), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 6, 4, 22, 0, 0) + std::chrono::milliseconds(999)),
            TimeBand::kLateNight);
}

// 2025-05-06 (振替休日, Tuesday): 休日 from 06:00 to 22:00, 深夜 around it.
TEST(TimeBand, HolidayBoundariesAndPrecedence) {
  EXPECT_EQ(band_at(jst(2025, 5, 6, 5, 59, 59)), TimeBand::kLateNight);
  EXPECT_EQ(band_at(jst(2025, 5, 6, 6, 0, 0)), TimeBand::kHoliday);   // beats 夜間
  EXPECT_EQ(band_at(jst(2025, 5, 6, 7, 30, 0)), TimeBand::kHoliday);  // beats 夜間
  EXPECT_EQ(band_at(jst(2025, 5, 6, 8, 0, 0)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2025, 5, 6, 13, 0, 0)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2025, 5, 6, 18, 0, 0)), TimeBand::kHoliday);  // beats 夜間
  EXPECT_EQ(band_at(jst(2025, 5, 6, 21, 59, 59)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2025, 5, 6, 22, 0, 0)), TimeBand::kLateNight);  // 深夜 beats 休日
  // The next day is a working Wednesday.
  EXPECT_EQ(band_at(jst(2025, 5, 7, 6, 0, 0)), TimeBand::kNight);
  EXPECT_EQ(band_at(jst(2025, 5, 7, 8, 0, 0)), TimeBand::kDay);
}

TEST(TimeBand, SundaysYearEndAndSaturdays) {
  EXPECT_EQ(band_at(jst(2025, 6, 1, 10, 0)), TimeBand::kHoliday);  // Sunday
  EXPECT_EQ(band_at(jst(2025, 6, 7, 10, 0)), TimeBand::kDay);      // Saturday
  EXPECT_EQ(band_at(jst(2025, 6, 7, 19, 0)), TimeBand::kNight);    // Saturday evening
  EXPECT_EQ(band_at(jst(2025, 12, 30, 10, 0)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2026, 1, 2, 7, 0)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2026, 1, 3, 21, 0)), TimeBand::kHoliday);
  EXPECT_EQ(band_at(jst(2026, 1, 5, 10, 0)), TimeBand::kDay);
  EXPECT_EQ(band_at(jst(2025, 12, 26, 10, 0)), TimeBand::kDay);
}

TEST(TimeBand, Reasons) {
  EXPECT_EQ(reason_at(jst(2025, 6, 4, 23, 14, 59)), "深夜 (22:00–06:00): started 23:14 JST");
  EXPECT_EQ(reason_at(jst(2025, 6, 4, 2, 5)), "深夜 (22:00–06:00): started 02:05 JST");
  EXPECT_EQ(reason_at(jst(2025, 6, 4, 19, 5)), "夜間 (18:00–22:00): started 19:05 JST");
  EXPECT_EQ(reason_at(jst(2025, 6, 4, 7, 10)), "夜間 (06:00–08:00): started 07:10 JST");
  EXPECT_EQ(reason_at(jst(2025, 6, 4, 10, 30)), "日中 (08:00–18:00): started 10:30 JST");
  EXPECT_EQ(reason_at(jst(2025, 5, 6, 10, 0)), "休日: 振替休日 2025-05-06");
  EXPECT_EQ(reason_at(jst(2025, 12, 30, 10, 0)), "休日: 年末 12/30");
  EXPECT_EQ(reason_at(jst(2026, 1, 2, 10, 0)), "休日: 年始 1/2");
  EXPECT_EQ(reason_at(jst(2025, 6, 1, 10, 0)), "休日: 日曜日 2025-06-01");
  EXPECT_EQ(reason_at(jst(2026, 9, 22, 10, 0)), "休日: 国民の休日 2026-09-22");
}

TEST(TimeBand, UsesTheLocalDateOfTheGivenOffset) {
  // 2025-05-05T23:30Z is 08:30 on the 6th (振替休日) in Tokyo, 23:30 on the 5th at UTC.
  const SystemTime t = local_time({2025, 5, 5}, 23, 30, 0, 0);
  EXPECT_EQ(band_at(t), TimeBand::kHoliday);
  auto utc = classify_time_band(t, 0);
  ASSERT_TRUE(utc);
  EXPECT_EQ(utc->band, TimeBand::kLateNight);
  EXPECT_EQ(utc->reason, "深夜 (22:00–06:00): started 23:30 UTC+00:00");
  EXPECT_EQ(utc->local.date, (CivilDate{2025, 5, 5}));
  EXPECT_EQ(reason_at(local_time({2025, 6, 4}, 19, 5, 0, -330), -330),
            "夜間 (18:00–22:00): started 19:05 UTC-05:30");
  auto tokyo = classify_time_band(t);
  ASSERT_TRUE(tokyo);
  EXPECT_EQ(tokyo->local.date, (CivilDate{2025, 5, 6}));
  EXPECT_EQ(tokyo->local.seconds_of_day, 8 * 3600 + 30 * 60);
}

TEST(TimeBand, RejectsImpossibleOffsets) {
  const SystemTime t = jst(2025, 6, 4, 10, 0);
  EXPECT_TRUE(classify_time_band(t, 14 * 60));
  EXPECT_TRUE(classify_time_band(t, -14 * 60));
  EXPECT_FALSE(classify_time_band(t, 14 * 60 + 1));
  EXPECT_FALSE(classify_time_band(t, -14 * 60 - 1));
  EXPECT_EQ(classify_time_band(t, 1 << 30).error(), make_error_code(Errc::invalid_argument));
}

TEST(TimeBand, InstantsBeforeTheEpochAndAtTheLimits) {
  auto before = to_local(SystemTime(std::chrono::seconds(-1)), 0);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->date, (CivilDate{1969, 12, 31}));
  EXPECT_EQ(before->seconds_of_day, 86399);
  EXPECT_TRUE(classify_time_band(SystemTime::min()));
  EXPECT_TRUE(classify_time_band(SystemTime::max()));
}

TEST(TimeBand, Names) {
  EXPECT_EQ(to_string(TimeBand::kDay), "DAY");
  EXPECT_EQ(to_string(TimeBand::kNight), "NIGHT");
  EXPECT_EQ(to_string(TimeBand::kLateNight), "LATE_NIGHT");
  EXPECT_EQ(to_string(TimeBand::kHoliday), "HOLIDAY");
  EXPECT_EQ(to_string(static_cast<TimeBand>(9)), "");
}

}  // namespace
}  // namespace oshin::billing
