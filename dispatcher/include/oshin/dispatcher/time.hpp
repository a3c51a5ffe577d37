#pragma once
/// Time types of the scheduling core. The core never reads a clock: every instant is an argument.
/// Resolution is one millisecond; travel times are rounded up, never down.

#include <chrono>
#include <cstdint>

namespace oshin::dispatcher {

/// A span of time, in milliseconds.
using Duration = std::chrono::milliseconds;
/// An instant (UTC), millisecond resolution.
using TimePoint = std::chrono::sys_time<Duration>;

/// Converts a duration to fractional minutes (for costs and KPIs).
[[nodiscard]] constexpr double to_minutes(Duration d) {
  return static_cast<double>(d.count()) / 60000.0;
}

/// Converts fractional seconds to a duration, rounding up to the next millisecond.
[[nodiscard]] Duration ceil_seconds(double seconds);

/// Converts whole minutes to a duration.
[[nodiscard]] constexpr Duration minutes(std::int64_t m) {
  return std::chrono::minutes(m);
}

}  // namespace oshin::dispatcher
