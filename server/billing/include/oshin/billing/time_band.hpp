#pragma once
/// The time band of a house call (C000 time add-ons), from the instant the doctor started the
/// visit.

#include <string>
#include <string_view>

#include "oshin/billing/civil_date.hpp"
#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"

namespace oshin::billing {

/// Billing time bands. Values equal oshin.v1.TimeBand.
enum class TimeBand {
  kDay = 1,        ///< 08:00–18:00 on a day that is not a 休日
  kNight = 2,      ///< 夜間: 18:00–22:00 and 06:00–08:00 on a day that is not a 休日
  kLateNight = 3,  ///< 深夜: 22:00–06:00, every day
  kHoliday = 4,    ///< 休日: 06:00–22:00 of a 休日 (is_kyujitsu())
};

/// The API name of a band: "DAY", "NIGHT", "LATE_NIGHT", "HOLIDAY" ("" for a value outside the
/// enum).
[[nodiscard]] std::string_view to_string(TimeBand band);

/// UTC offset of Asia/Tokyo (JST, no daylight saving time), in minutes.
inline constexpr int kTokyoUtcOffsetMinutes = 540;
/// Largest UTC offset accepted, either way, in minutes (UTC+14:00 exists; 15 hours does not).
inline constexpr int kMaxUtcOffsetMinutes = 14 * 60;

/// A local date and time of day.
struct LocalDateTime {
  CivilDate date;
  int seconds_of_day = 0;  ///< 0..86399, seconds since local midnight (fractions dropped)
};

/// The local date and time of `at` at a fixed UTC offset (minutes east of UTC).
/// Errc::invalid_argument when |utc_offset_minutes| > kMaxUtcOffsetMinutes.
[[nodiscard]] Result<LocalDateTime> to_local(SystemTime at,
                                             int utc_offset_minutes = kTokyoUtcOffsetMinutes);

/// A band and why it applies.
struct TimeBandInfo {
  TimeBand band = TimeBand::kDay;
  /// For people, Japanese with the time in English: "深夜 (22:00–06:00): started 23:14 JST",
  /// "休日: 振替休日 2025-05-06", "休日: 年末 12/30", "夜間 (18:00–22:00): started 19:05 JST",
  /// "日中 (08:00–18:00): started 10:30 JST". The zone reads "JST" at +09:00, else "UTC+hh:mm".
  std::string reason;
  LocalDateTime local;  ///< the local start of the visit
};

/// Classifies a visit by the instant the doctor started it (arrival on site), in local time at
/// `utc_offset_minutes`. Bands are half-open: 22:00:00 is 深夜, 06:00:00 夜間, 08:00:00 日中,
/// 18:00:00 夜間. Precedence: 深夜 beats 休日 beats 夜間. Errc::invalid_argument for a bad offset.
[[nodiscard]] Result<TimeBandInfo> classify_time_band(
    SystemTime started_at, int utc_offset_minutes = kTokyoUtcOffsetMinutes);

}  // namespace oshin::billing
