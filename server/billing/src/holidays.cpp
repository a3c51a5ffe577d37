#include "oshin/billing/holidays.hpp"

#include <array>

namespace oshin::billing {
namespace {

constexpr int kOpenEnded = kLastHolidayYear;

// A holiday on the same month and day every year from `from` to `to` (inclusive).
struct FixedRule {
  std::string_view name;
  int month;
  int day;
  int from;
  int to;
};

// A holiday on the `nth` Monday of `month` (ハッピーマンデー) from `from` to `to`.
struct MondayRule {
  std::string_view name;
  int month;
  int nth;
  int from;
  int to;
};

// A holiday on one date only: special laws (e.g. 2019's accession) and moved holidays.
struct OneOffHoliday {
  CivilDate date;
  std::string_view name;
};

// A year in which a regular rule is suspended because a special law moved that holiday.
struct Suspension {
  int year;
  std::string_view name;
};

constexpr std::array kFixedRules{
    FixedRule{"元日", 1, 1, 1949, kOpenEnded},
    FixedRule{"成人の日", 1, 15, 1949, 1999},
    FixedRule{"建国記念の日", 2, 11, 1967, kOpenEnded},
    FixedRule{"天皇誕生日", 2, 23, 2020, kOpenEnded},
    FixedRule{"天皇誕生日", 4, 29, 1949, 1988},
    FixedRule{"みどりの日", 4, 29, 1989, 2006},
    FixedRule{"昭和の日", 4, 29, 2007, kOpenEnded},
    FixedRule{"憲法記念日", 5, 3, 1949, kOpenEnded},
    FixedRule{"みどりの日", 5, 4, 2007, kOpenEnded},
    FixedRule{"こどもの日", 5, 5, 1949, kOpenEnded},
    FixedRule{"海の日", 7, 20, 1996, 2002},
    FixedRule{"山の日", 8, 11, 2016, kOpenEnded},
    FixedRule{"敬老の日", 9, 15, 1966, 2002},
    FixedRule{"体育の日", 10, 10, 1966, 1999},
    FixedRule{"文化の日", 11, 3, 1948, kOpenEnded},
    FixedRule{"勤労感謝の日", 11, 23, 1948, kOpenEnded},
    FixedRule{"天皇誕生日", 12, 23, 1989, 2018},
};

constexpr std::array kMondayRules{
    MondayRule{"成人の日", 1, 2, 2000, kOpenEnded},
    MondayRule{"海の日", 7, 3, 2003, kOpenEnded},
    MondayRule{"敬老の日", 9, 3, 2003, kOpenEnded},
    MondayRule{"体育の日", 10, 2, 2000, 2019},
    MondayRule{"スポーツの日", 10, 2, 2020, kOpenEnded},
};

constexpr std::array kOneOffHolidays{
    OneOffHoliday{{1989, 2, 24}, "昭和天皇の大喪の礼"},
    OneOffHoliday{{1990, 11, 12}, "即位礼正殿の儀"},
    OneOffHoliday{{1993, 6, 9}, "皇太子徳仁親王の結婚の儀"},
    OneOffHoliday{{2019, 5, 1}, "天皇の即位の日"},
    OneOffHoliday{{2019, 10, 22}, "即位礼正殿の儀の行われる日"},
    // Tokyo 2020 Olympics (令和2年・3年の特例).
    OneOffHoliday{{2020, 7, 23}, "海の日"},
    OneOffHoliday{{2020, 7, 24}, "スポーツの日"},
    OneOffHoliday{{2020, 8, 10}, "山の日"},
    OneOffHoliday{{2021, 7, 22}, "海の日"},
    OneOffHoliday{{2021, 7, 23}, "スポーツの日"},
    OneOffHoliday{{2021, 8, 8}, "山の日"},
};

constexpr std::array kSuspensions{
    Suspension{2020, "海の日"}, Suspension{2020, "スポーツの日"}, Suspension{2020, "山の日"},
    Suspension{2021, "海の日"}, Suspension{2021, "スポーツの日"}, Suspension{2021, "山の日"},
};

// From 2007 a substitute holiday is the first non-祝日 day after a Sunday 祝日 (it may fall on a
// Tuesday or later), and a day between two 祝日 is a 休日 even on a Sunday.
constexpr CivilDate kCurrentArticle3From{2007, 1, 1};
// 国民の休日 exists since the 1985-12-27 amendment.
constexpr CivilDate kKokuminNoKyujitsuFrom{1985, 12, 27};

// The equinox formula: day = int(base + 0.242194 * (y - 1980)) - int((y - 1980) / 4), computed
// in millionths of a day so that it is exact.
int equinox_day(int year, std::int64_t base_micro_days) {
  if (year < kFirstHolidayYear || year > kLastHolidayYear) {
    return 0;
  }
  const std::int64_t n = year - 1980;
  return static_cast<int>((base_micro_days + 242194 * n) / 1000000 - n / 4);
}

bool suspended(int year, std::string_view name) {
  for (const Suspension& s : kSuspensions) {
    if (s.year == year && s.name == name) {
      return true;
    }
  }
  return false;
}

bool in_years(int year, int from, int to) {
  return year >= from && year <= to;
}

// The 国民の祝日 on a valid date in the covered years.
std::optional<std::string_view> shukujitsu_in_range(CivilDate d) {
  for (const OneOffHoliday& h : kOneOffHolidays) {
    if (h.date == d) {
      return h.name;
    }
  }
  for (const FixedRule& r : kFixedRules) {
    if (r.month == d.month && r.day == d.day && in_years(d.year, r.from, r.to) &&
        !suspended(d.year, r.name)) {
      return r.name;
    }
  }
  if (weekday(d) == Weekday::kMonday) {
    const int nth = (d.day - 1) / 7 + 1;
    for (const MondayRule& r : kMondayRules) {
      if (r.month == d.month && r.nth == nth && in_years(d.year, r.from, r.to) &&
          !suspended(d.year, r.name)) {
        return r.name;
      }
    }
  }
  if (d.month == 3 && d.day == vernal_equinox_day(d.year)) {
    return "春分の日";
  }
  if (d.month == 9 && d.day == autumnal_equinox_day(d.year)) {
    return "秋分の日";
  }
  return std::nullopt;
}

bool in_covered_years(CivilDate d) {
  return is_valid(d) && in_years(d.year, kFirstHolidayYear, kLastHolidayYear);
}

bool is_shukujitsu(CivilDate d) {
  return in_covered_years(d) && shukujitsu_in_range(d);
}

// Article 3(2) for a valid non-祝日 day.
bool is_substitute_holiday(CivilDate d) {
  if (d < kCurrentArticle3From) {
    const CivilDate previous = add_days(d, -1);
    return weekday(previous) == Weekday::kSunday && is_shukujitsu(previous);
  }
  // Walk back over the run of 祝日 that ends the day before; a Sunday in it moves here.
  CivilDate previous = add_days(d, -1);
  for (int i = 0; i < 7 && is_shukujitsu(previous); ++i) {
    if (weekday(previous) == Weekday::kSunday) {
      return true;
    }
    previous = add_days(previous, -1);
  }
  return false;
}

// Article 3(3) for a valid day that is neither a 祝日 nor a substitute holiday.
bool is_kokumin_no_kyujitsu(CivilDate d) {
  if (d < kKokuminNoKyujitsuFrom) {
    return false;
  }
  if (d < kCurrentArticle3From && weekday(d) == Weekday::kSunday) {
    return false;
  }
  return is_shukujitsu(add_days(d, -1)) && is_shukujitsu(add_days(d, 1));
}

std::string month_day(CivilDate d) {
  return std::to_string(d.month) + "/" + std::to_string(d.day);
}

}  // namespace

int vernal_equinox_day(int year) {
  return equinox_day(year, 20843100);
}

int autumnal_equinox_day(int year) {
  return equinox_day(year, 23248800);
}

std::optional<std::string_view> shukujitsu_name(CivilDate date) {
  if (!in_covered_years(date)) {
    return std::nullopt;
  }
  return shukujitsu_in_range(date);
}

std::optional<std::string_view> holiday_name(CivilDate date) {
  if (!in_covered_years(date)) {
    return std::nullopt;
  }
  if (auto name = shukujitsu_in_range(date)) {
    return name;
  }
  if (is_substitute_holiday(date)) {
    return "振替休日";
  }
  if (is_kokumin_no_kyujitsu(date)) {
    return "国民の休日";
  }
  return std::nullopt;
}

bool is_national_holiday(CivilDate date) {
  return holiday_name(date).has_value();
}

std::optional<std::string> kyujitsu_reason(CivilDate date) {
  if (!is_valid(date)) {
    return std::nullopt;
  }
  if (auto name = holiday_name(date)) {
    return std::string(*name) + " " + to_string(date);
  }
  if (date.month == 1 && (date.day == 2 || date.day == 3)) {
    return "年始 " + month_day(date);
  }
  if (date.month == 12 && date.day >= 29) {
    return "年末 " + month_day(date);
  }
  if (weekday(date) == Weekday::kSunday) {
    return "日曜日 " + to_string(date);
  }
  return std::nullopt;
}

bool is_kyujitsu(CivilDate date) {
  return kyujitsu_reason(date).has_value();
}

}  // namespace oshin::billing
