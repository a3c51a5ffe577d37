#pragma once
/// RFC 3339 timestamps ("2026-01-10T21:14:00+09:00", fractional seconds and Z accepted).

#include <optional>
#include <string>
#include <string_view>

#include "oshin/dispatcher/time.hpp"

namespace oshin::dispatcher {

/// A parsed timestamp and the UTC offset it was written with.
struct ParsedTime {
  TimePoint at;           ///< the instant (UTC), millisecond resolution (finer is truncated)
  int offset_minutes{0};  ///< e.g. 540 for +09:00
};

/// Parses an RFC 3339 date-time; empty when malformed or out of range (years 1970-9999).
[[nodiscard]] std::optional<ParsedTime> parse_rfc3339(std::string_view text);

/// Formats `at` in the given UTC offset; milliseconds are printed only when non-zero.
[[nodiscard]] std::string format_rfc3339(TimePoint at, int offset_minutes);

}  // namespace oshin::dispatcher
