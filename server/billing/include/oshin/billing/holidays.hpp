#pragma once
/// Japan's national holidays (国民の祝日に関する法律, as amended) and the 休日 that billing uses.
/// The rules are tables in holidays.cpp (fixed dates, happy Mondays, equinoxes, one-off dates such
/// as 2019's accession and the 2020/2021 Olympic moves), each with the years it applies to.

#include <optional>
#include <string>
#include <string_view>

#include "oshin/billing/civil_date.hpp"

namespace oshin::billing {

/// The years the holiday tables cover exactly (the equinox formula is valid for 1980–2099).
/// For a date outside them no national holiday is reported.
inline constexpr int kFirstHolidayYear = 1980;
inline constexpr int kLastHolidayYear = 2099;

/// Day of March of 春分の日 in `year` (1980–2099, the standard formula); 0 outside that range.
[[nodiscard]] int vernal_equinox_day(int year);

/// Day of September of 秋分の日 in `year` (1980–2099, the standard formula); 0 outside.
[[nodiscard]] int autumnal_equinox_day(int year);

/// The 国民の祝日 (a named holiday of the law's article 2, or a one-off day the law treats as one)
/// on `date`, e.g. "元日", "春分の日", "天皇の即位の日"; empty for other days and invalid dates.
[[nodiscard]] std::optional<std::string_view> shukujitsu_name(CivilDate date);

/// The holiday on `date` per the law: a 国民の祝日's name, "振替休日" (article 3(2): the first
/// non-祝日 day after a 祝日 on a Sunday; before 2007 only a Monday) or "国民の休日" (article 3(3):
/// a day between two 祝日). Empty for other days, invalid dates and years outside
/// kFirstHolidayYear..kLastHolidayYear. Sundays as such are not holidays here.
[[nodiscard]] std::optional<std::string_view> holiday_name(CivilDate date);

/// True when holiday_name(date) is set: the days on the Cabinet Office's list of national
/// holidays, substitute holidays and 国民の休日 included.
[[nodiscard]] bool is_national_holiday(CivilDate date);

/// True for a 休日 of billing (DESIGN.md): a Sunday, a national holiday (is_national_holiday()),
/// Jan 2, Jan 3 or Dec 29–31. Saturdays are not 休日. False for an invalid date.
[[nodiscard]] bool is_kyujitsu(CivilDate date);

/// Why `date` is a 休日, for people, in this order of preference: the holiday's name and date
/// ("振替休日 2025-05-06"), "年始 1/2", "年末 12/30", "日曜日 2025-06-01"; empty when it is not a
/// 休日.
[[nodiscard]] std::optional<std::string> kyujitsu_reason(CivilDate date);

}  // namespace oshin::billing
