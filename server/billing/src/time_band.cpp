#include "oshin/billing/time_band.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "oshin/billing/holidays.hpp"

namespace oshin::billing {
namespace {

constexpr int kSecondsPerDay = 24 * 60 * 60;

constexpr int at_hour(int hour) {
  return hour * 60 * 60;
}

std::string two_digits_colon(int a, int b) {
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof buffer, "%02d:%02d", a, b);
  if (n < 0) {
    return {};
  }
  return std::string(buffer);
}

std::string zone_label(int utc_offset_minutes) {
  if (utc_offset_minutes == kTokyoUtcOffsetMinutes) {
    return "JST";
  }
  const int magnitude = std::abs(utc_offset_minutes);
  return std::string("UTC") + (utc_offset_minutes < 0 ? "-" : "+") +
         two_digits_colon(magnitude / 60, magnitude % 60);
}

std::string started(const LocalDateTime& local, int utc_offset_minutes) {
  const int minutes = local.seconds_of_day / 60;
  return "started " + two_digits_colon(minutes / 60, minutes % 60) + " " +
         zone_label(utc_offset_minutes);
}

}  // namespace

std::string_view to_string(TimeBand band) {
  switch (band) {
    case TimeBand::kDay:
      return "DAY";
    case TimeBand::kNight:
      return "NIGHT";
    case TimeBand::kLateNight:
      return "LATE_NIGHT";
    case TimeBand::kHoliday:
      return "HOLIDAY";
  }
  return {};
}

Result<LocalDateTime> to_local(SystemTime at, int utc_offset_minutes) {
  if (utc_offset_minutes < -kMaxUtcOffsetMinutes || utc_offset_minutes > kMaxUtcOffsetMinutes) {
    return Errc::invalid_argument;
  }
  // SystemTime spans a few hundred years around 1970, so seconds plus the offset cannot overflow.
  const std::int64_t seconds =
      std::chrono::floor<std::chrono::seconds>(at.time_since_epoch()).count() +
      std::int64_t{utc_offset_minutes} * 60;
  std::int64_t days = seconds / kSecondsPerDay;
  std::int64_t rest = seconds % kSecondsPerDay;
  if (rest < 0) {
    rest += kSecondsPerDay;
    days -= 1;
  }
  return LocalDateTime{civil_from_days(days), static_cast<int>(rest)};
}

Result<TimeBandInfo> classify_time_band(SystemTime started_at, int utc_offset_minutes) {
  auto local = to_local(started_at, utc_offset_minutes);
  if (!local) {
    return local.error();
  }
  const int s = local->seconds_of_day;
  TimeBandInfo info;
  info.local = *local;
  if (s >= at_hour(22) || s < at_hour(6)) {
    info.band = TimeBand::kLateNight;
    info.reason = "深夜 (22:00–06:00): " + started(*local, utc_offset_minutes);
  } else if (auto holiday = kyujitsu_reason(local->date)) {
    info.band = TimeBand::kHoliday;
    info.reason = "休日: " + *holiday;
  } else if (s >= at_hour(18)) {
    info.band = TimeBand::kNight;
    info.reason = "夜間 (18:00–22:00): " + started(*local, utc_offset_minutes);
  } else if (s < at_hour(8)) {
    info.band = TimeBand::kNight;
    info.reason = "夜間 (06:00–08:00): " + started(*local, utc_offset_minutes);
  } else {
    info.band = TimeBand::kDay;
    info.reason = "日中 (08:00–18:00): " + started(*local, utc_offset_minutes);
  }
  return info;
}

}  // namespace oshin::billing
