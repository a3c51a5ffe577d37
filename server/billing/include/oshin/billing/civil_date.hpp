#pragma once
/// A calendar date without a time zone (proleptic Gregorian), the unit of 休日 and fee-table rules.

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "oshin/common/errc.hpp"

namespace oshin::billing {

/// A civil (calendar) date. Plain data: any field values may be stored, so every function that
/// takes one states what it does with an invalid date (see is_valid()).
struct CivilDate {
  int year = 1970;
  int month = 1;  ///< 1..12
  int day = 1;    ///< 1..31

  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 false positive on a defaulted <=>.
  friend constexpr auto operator<=>(const CivilDate&, const CivilDate&) = default;
};

/// Days of the week; numbering follows API.md (0 = Monday).
enum class Weekday { kMonday = 0, kTuesday, kWednesday, kThursday, kFriday, kSaturday, kSunday };

/// The first and last years a CivilDate may hold to be valid.
inline constexpr int kMinCivilYear = 1;
inline constexpr int kMaxCivilYear = 9999;

/// True for a leap year of the Gregorian calendar.
[[nodiscard]] constexpr bool is_leap_year(int year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/// Days in `month` (1..12) of `year`; 0 for a month outside 1..12.
[[nodiscard]] constexpr int days_in_month(int year, int month) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) {
    return 0;
  }
  if (month == 2 && is_leap_year(year)) {
    return 29;
  }
  return kDays[month - 1];
}

/// True when `d` names a real day with a year in kMinCivilYear..kMaxCivilYear.
[[nodiscard]] constexpr bool is_valid(CivilDate d) {
  return d.year >= kMinCivilYear && d.year <= kMaxCivilYear && d.day >= 1 &&
         d.day <= days_in_month(d.year, d.month);
}

/// Days since 1970-01-01 (negative before). Meaningful only for a valid date; never UB.
[[nodiscard]] std::int64_t days_since_epoch(CivilDate d);

/// The date `days` days after 1970-01-01. Results are clamped to 0001-01-01..9999-12-31, so
/// the date returned is always valid.
[[nodiscard]] CivilDate civil_from_days(std::int64_t days);

/// `d` moved by `days` (may be negative); clamped like civil_from_days(). `d` must be valid.
[[nodiscard]] CivilDate add_days(CivilDate d, std::int64_t days);

/// The day of the week of a valid date.
[[nodiscard]] Weekday weekday(CivilDate d);

/// "YYYY-MM-DD" (ISO 8601 calendar date) of a valid date.
[[nodiscard]] std::string to_string(CivilDate d);

/// Parses exactly "YYYY-MM-DD" into a valid date; anything else → Errc::invalid_argument.
[[nodiscard]] Result<CivilDate> parse_civil_date(std::string_view text);

}  // namespace oshin::billing
