#include "oshin/billing/holidays.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace oshin::billing {
namespace {

struct Expected {
  const char* date;
  const char* name;
};

// Every national holiday of `year` with its name, as holiday_name() reports them.
std::map<std::string, std::string> holidays_of(int year) {
  std::map<std::string, std::string> out;
  for (CivilDate d{year, 1, 1}; d.year == year; d = add_days(d, 1)) {
    if (auto name = holiday_name(d)) {
      out.emplace(to_string(d), std::string(*name));
    }
  }
  return out;
}

void expect_year(int year, const std::vector<Expected>& expected) {
  std::map<std::string, std::string> want;
  for (const Expected& e : expected) {
    want.emplace(e.date, e.name);
  }
  EXPECT_EQ(holidays_of(year), want) << year;
  for (const Expected& e : expected) {
    auto date = parse_civil_date(e.date);
    ASSERT_TRUE(date);
    EXPECT_TRUE(is_national_holiday(*date)) << e.date;
    EXPECT_TRUE(is_kyujitsu(*date)) << e.date;
  }
}

// The Cabinet Office's lists (内閣府「国民の祝日について」); the days it lists as "休日" are
// named here by the article that makes them one: 振替休日 (3(2)) or 国民の休日 (3(3)).
TEST(Holidays, Year2024MatchesCabinetOfficeList) {
  expect_year(
      2024,
      {{"2024-01-01", "元日"},       {"2024-01-08", "成人の日"},   {"2024-02-11", "建国記念の日"},
       {"2024-02-12", "振替休日"},   {"2024-02-23", "天皇誕生日"}, {"2024-03-20", "春分の日"},
       {"2024-04-29", "昭和の日"},   {"2024-05-03", "憲法記念日"}, {"2024-05-04", "みどりの日"},
       {"2024-05-05", "こどもの日"}, {"2024-05-06", "振替休日"},   {"2024-07-15", "海の日"},
       {"2024-08-11", "山の日"},     {"2024-08-12", "振替休日"},   {"2024-09-16", "敬老の日"},
       {"2024-09-22", "秋分の日"},   {"2024-09-23", "振替休日"},   {"2024-10-14", "スポーツの日"},
       {"2024-11-03", "文化の日"},   {"2024-11-04", "振替休日"},   {"2024-11-23", "勤労感謝の日"}});
}

TEST(Holidays, Year2025MatchesCabinetOfficeList) {
  expect_year(2025, {{"2025-01-01", "元日"},
                     {"2025-01-13", "成人の日"},
                     {"2025-02-11", "建国記念の日"},
                     {"2025-02-23", "天皇誕生日"},
                     {"2025-02-24", "振替休日"},
                     {"2025-03-20", "春分の日"},
                     {"2025-04-29", "昭和の日"},
                     {"2025-05-03", "憲法記念日"},
                     {"2025-05-04", "みどりの日"},
                     {"2025-05-05", "こどもの日"},
                     {"2025-05-06", "振替休日"},
                     {"2025-07-21", "海の日"},
                     {"2025-08-11", "山の日"},
                     {"2025-09-15", "敬老の日"},
                     {"2025-09-23", "秋分の日"},
                     {"2025-10-13", "スポーツの日"},
                     {"2025-11-03", "文化の日"},
                     {"2025-11-23", "勤労感謝の日"},
                     {"2025-11-24", "振替休日"}});
}

TEST(Holidays, Year2026MatchesCabinetOfficeList) {
  expect_year(2026, {{"2026-01-01", "元日"},
                     {"2026-01-12", "成人の日"},
                     {"2026-02-11", "建国記念の日"},
                     {"2026-02-23", "天皇誕生日"},
                     {"2026-03-20", "春分の日"},
                     {"2026-04-29", "昭和の日"},
                     {"2026-05-03", "憲法記念日"},
                     {"2026-05-04", "みどりの日"},
                     {"2026-05-05", "こどもの日"},
                     {"2026-05-06", "振替休日"},
                     {"2026-07-20", "海の日"},
                     {"2026-08-11", "山の日"},
                     {"2026-09-21", "敬老の日"},
                     {"2026-09-22", "国民の休日"},
                     {"2026-09-23", "秋分の日"},
                     {"2026-10-12", "スポーツの日"},
                     {"2026-11-03", "文化の日"},
                     {"2026-11-23", "勤労感謝の日"}});
}

// 2019: the accession (5/1, with 4/30 and 5/2 between holidays) and the enthronement (10/22);
// no 天皇誕生日 that year.
TEST(Holidays, Year2019AccessionAndEnthronement) {
  expect_year(2019, {{"2019-01-01", "元日"},
                     {"2019-01-14", "成人の日"},
                     {"2019-02-11", "建国記念の日"},
                     {"2019-03-21", "春分の日"},
                     {"2019-04-29", "昭和の日"},
                     {"2019-04-30", "国民の休日"},
                     {"2019-05-01", "天皇の即位の日"},
                     {"2019-05-02", "国民の休日"},
                     {"2019-05-03", "憲法記念日"},
                     {"2019-05-04", "みどりの日"},
                     {"2019-05-05", "こどもの日"},
                     {"2019-05-06", "振替休日"},
                     {"2019-07-15", "海の日"},
                     {"2019-08-11", "山の日"},
                     {"2019-08-12", "振替休日"},
                     {"2019-09-16", "敬老の日"},
                     {"2019-09-23", "秋分の日"},
                     {"2019-10-14", "体育の日"},
                     {"2019-10-22", "即位礼正殿の儀の行われる日"},
                     {"2019-11-03", "文化の日"},
                     {"2019-11-04", "振替休日"},
                     {"2019-11-23", "勤労感謝の日"}});
}

// 2020 and 2021: 海の日, スポーツの日 and 山の日 moved for the Olympics.
TEST(Holidays, Years2020And2021OlympicMoves) {
  expect_year(2020, {{"2020-01-01", "元日"},
                     {"2020-01-13", "成人の日"},
                     {"2020-02-11", "建国記念の日"},
                     {"2020-02-23", "天皇誕生日"},
                     {"2020-02-24", "振替休日"},
                     {"2020-03-20", "春分の日"},
                     {"2020-04-29", "昭和の日"},
                     {"2020-05-03", "憲法記念日"},
                     {"2020-05-04", "みどりの日"},
                     {"2020-05-05", "こどもの日"},
                     {"2020-05-06", "振替休日"},
                     {"2020-07-23", "海の日"},
                     {"2020-07-24", "スポーツの日"},
                     {"2020-08-10", "山の日"},
                     {"2020-09-21", "敬老の日"},
                     {"2020-09-22", "秋分の日"},
                     {"2020-11-03", "文化の日"},
                     {"2020-11-23", "勤労感謝の日"}});
  expect_year(2021, {{"2021-01-01", "元日"},
                     {"2021-01-11", "成人の日"},
                     {"2021-02-11", "建国記念の日"},
                     {"2021-02-23", "天皇誕生日"},
                     {"2021-03-20", "春分の日"},
                     {"2021-04-29", "昭和の日"},
                     {"2021-05-03", "憲法記念日"},
                     {"2021-05-04", "みどりの日"},
                     {"2021-05-05", "こどもの日"},
                     {"2021-07-22", "海の日"},
                     {"2021-07-23", "スポーツの日"},
                     {"2021-08-08", "山の日"},
                     {"2021-08-09", "振替休日"},
                     {"2021-09-20", "敬老の日"},
                     {"2021-09-23", "秋分の日"},
                     {"2021-11-03", "文化の日"},
                     {"2021-11-23", "勤労感謝の日"}});
}

TEST(Holidays, EquinoxFormula) {
  struct Equinox {
    int year;
    int spring;
    int autumn;
  };
  for (const Equinox& e :
       {Equinox{1980, 20, 23}, Equinox{2012, 20, 22}, Equinox{2016, 20, 22}, Equinox{2019, 21, 23},
        Equinox{2023, 21, 23}, Equinox{2024, 20, 22}, Equinox{2025, 20, 23}, Equinox{2026, 20, 23},
        Equinox{2030, 20, 23}, Equinox{2044, 20, 22}}) {
    EXPECT_EQ(vernal_equinox_day(e.year), e.spring) << e.year;
    EXPECT_EQ(autumnal_equinox_day(e.year), e.autumn) << e.year;
    EXPECT_EQ(shukujitsu_name({e.year, 3, e.spring}), "春分の日") << e.year;
    EXPECT_EQ(shukujitsu_name({e.year, 9, e.autumn}), "秋分の日") << e.year;
  }
  // Late in the century 春分の日 falls on March 19.
  EXPECT_EQ(vernal_equinox_day(2092), 19);
  EXPECT_EQ(vernal_equinox_day(2096), 19);
  // Outside the formula's range nothing is computed.
  EXPECT_EQ(vernal_equinox_day(1979), 0);
  EXPECT_EQ(autumnal_equinox_day(2100), 0);
}

TEST(Holidays, SubstituteHolidays) {
  for (const char* d :
       {"2024-02-12", "2024-05-06", "2024-08-12", "2024-09-23", "2024-11-04", "2025-02-24",
        "2025-05-06", "2025-11-24", "2026-05-06", "2021-08-09", "2008-05-06", "2006-01-02"}) {
    auto date = parse_civil_date(d);
    ASSERT_TRUE(date);
    EXPECT_EQ(holiday_name(*date), "振替休日") << d;
  }
  // Before 2007 a substitute could only be the Monday after: in 2003 5/4 (Sunday) was a
  // 国民の休日, not a 祝日, and Tuesday 5/6 was a working day.
  EXPECT_FALSE(is_national_holiday({2003, 5, 6}));
  // A 祝日 on a Saturday is not moved.
  EXPECT_FALSE(is_national_holiday({2024, 11, 25}));
  EXPECT_FALSE(is_national_holiday({2025, 5, 7}));
}

TEST(Holidays, KokuminNoKyujitsu) {
  for (const char* d : {"2026-09-22", "2019-04-30", "2019-05-02", "2009-09-22", "2015-09-22",
                        "2032-09-21", "2037-09-22", "1988-05-04", "1993-05-04"}) {
    auto date = parse_civil_date(d);
    ASSERT_TRUE(date);
    EXPECT_EQ(holiday_name(*date), "国民の休日") << d;
  }
  // The rule dates from the 1985 amendment.
  EXPECT_FALSE(is_national_holiday({1985, 5, 4}));
}

TEST(Holidays, HistoricRulesAndRenames) {
  EXPECT_EQ(holiday_name({2018, 12, 23}), "天皇誕生日");
  EXPECT_FALSE(is_national_holiday({2019, 12, 23}));
  EXPECT_FALSE(is_national_holiday({2019, 2, 23}));
  EXPECT_EQ(holiday_name({2006, 4, 29}), "みどりの日");
  EXPECT_EQ(holiday_name({2007, 4, 29}), "昭和の日");
  EXPECT_EQ(holiday_name({1999, 1, 15}), "成人の日");
  EXPECT_EQ(holiday_name({1999, 10, 10}), "体育の日");
  EXPECT_EQ(holiday_name({2002, 7, 20}), "海の日");
  EXPECT_EQ(holiday_name({2002, 9, 15}), "敬老の日");
  EXPECT_FALSE(is_national_holiday({2015, 8, 11}));
  EXPECT_EQ(holiday_name({2016, 8, 11}), "山の日");
  EXPECT_EQ(holiday_name({1989, 2, 24}), "昭和天皇の大喪の礼");
  // The Olympic years suspend the regular dates.
  EXPECT_FALSE(is_national_holiday({2020, 7, 20}));
  EXPECT_FALSE(is_national_holiday({2020, 10, 12}));
  EXPECT_FALSE(is_national_holiday({2021, 8, 11}));
}

TEST(Holidays, FutureYearsFollowTheRules) {
  // Spot checks of happy Mondays, fixed days and the last covered year.
  EXPECT_EQ(holiday_name({2030, 1, 14}), "成人の日");
  EXPECT_EQ(holiday_name({2050, 7, 18}), "海の日");
  EXPECT_EQ(holiday_name({2099, 3, 20}), "春分の日");
  EXPECT_EQ(holiday_name({2099, 2, 23}), "天皇誕生日");
  // Every year from 2016 has at least the 16 named 祝日.
  for (int year = 2016; year <= kLastHolidayYear; ++year) {
    EXPECT_GE(holidays_of(year).size(), 16U) << year;
  }
}

TEST(Holidays, OutsideCoveredYearsAndInvalidDates) {
  EXPECT_FALSE(is_national_holiday({2100, 1, 1}));
  EXPECT_FALSE(is_national_holiday({1979, 1, 1}));
  EXPECT_FALSE(holiday_name({2025, 2, 30}));
  EXPECT_FALSE(is_kyujitsu({2025, 13, 1}));
  EXPECT_FALSE(kyujitsu_reason({2025, 0, 0}));
  // The year-end rule and Sundays do not need the holiday tables.
  EXPECT_TRUE(is_kyujitsu({2100, 1, 2}));
  EXPECT_TRUE(is_kyujitsu({2100, 1, 3}));
}

TEST(Holidays, KyujitsuForBilling) {
  // 年末年始.
  for (CivilDate d : {CivilDate{2024, 12, 29}, CivilDate{2024, 12, 30}, CivilDate{2024, 12, 31},
                      CivilDate{2025, 1, 1}, CivilDate{2025, 1, 2}, CivilDate{2025, 1, 3}}) {
    EXPECT_TRUE(is_kyujitsu(d)) << to_string(d);
  }
  EXPECT_FALSE(is_kyujitsu({2024, 12, 27}));  // Friday
  EXPECT_FALSE(is_kyujitsu({2025, 12, 26}));  // Friday
  EXPECT_FALSE(is_kyujitsu({2025, 1, 6}));    // Monday
  EXPECT_FALSE(is_national_holiday({2025, 1, 2}));
  EXPECT_EQ(kyujitsu_reason({2025, 12, 30}), "年末 12/30");
  EXPECT_EQ(kyujitsu_reason({2026, 1, 2}), "年始 1/2");
  EXPECT_EQ(kyujitsu_reason({2026, 1, 3}), "年始 1/3");
  EXPECT_EQ(kyujitsu_reason({2026, 1, 1}), "元日 2026-01-01");
  // Sundays are 休日; Saturdays are not, even when they are the day before a holiday.
  EXPECT_EQ(kyujitsu_reason({2025, 6, 1}), "日曜日 2025-06-01");
  EXPECT_TRUE(is_kyujitsu({2025, 6, 8}));
  EXPECT_FALSE(is_kyujitsu({2025, 6, 7}));
  EXPECT_FALSE(is_kyujitsu({2025, 5, 2}));   // Friday
  EXPECT_FALSE(is_kyujitsu({2024, 5, 1}));   // Wednesday
  EXPECT_FALSE(is_kyujitsu({2026, 9, 19}));  // Saturday before the silver week
  EXPECT_TRUE(is_kyujitsu({2026, 9, 20}));   // Sunday
  // A holiday on a Sunday names the holiday.
  EXPECT_EQ(kyujitsu_reason({2025, 5, 4}), "みどりの日 2025-05-04");
  EXPECT_EQ(kyujitsu_reason({2025, 5, 6}), "振替休日 2025-05-06");
  // Every Saturday of 2024–2026 that is not a national holiday is a working day for billing.
  for (CivilDate d{2024, 1, 6}; d.year <= 2026; d = add_days(d, 7)) {
    ASSERT_EQ(weekday(d), Weekday::kSaturday);
    EXPECT_EQ(is_kyujitsu(d), is_national_holiday(d) || (d.month == 12 && d.day >= 29) ||
                                  (d.month == 1 && d.day <= 3))
        << to_string(d);
  }
}

}  // namespace
}  // namespace oshin::billing
