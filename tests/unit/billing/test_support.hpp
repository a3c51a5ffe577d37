#pragma once
/// Helpers shared by the billing tests.

#include <chrono>
#include <cstdint>

#include "oshin/billing/civil_date.hpp"
#include "oshin/common/clock.hpp"

namespace oshin::billing::testing {

/// The instant of a local wall-clock time at a UTC offset (default JST).
inline SystemTime local_time(CivilDate date, int hour, int minute, int second = 0,
                             int utc_offset_minutes = 540) {
  const std::int64_t seconds = days_since_epoch(date) * 86400 + hour * 3600 + minute * 60 + second -
                               std::int64_t{utc_offset_minutes} * 60;
  return SystemTime(std::chrono::seconds(seconds));
}

/// A JST instant: jst(2025, 5, 6, 10, 30).
inline SystemTime jst(int year, int month, int day, int hour, int minute, int second = 0) {
  return local_time(CivilDate{year, month, day}, hour, minute, second);
}

}  // namespace oshin::billing::testing
