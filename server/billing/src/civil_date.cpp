#include "oshin/billing/civil_date.hpp"

#include <algorithm>
#include <cstdio>

namespace oshin::billing {
namespace {

// Floor division for a positive divisor.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// H. Hinnant's days_from_civil, in 64-bit so that no int input can overflow.
constexpr std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(y, 400);
  const std::int64_t yoe = y - era * 400;                          // [0, 399]
  const std::int64_t mp = m > 2 ? m - 3 : m + 9;                   // March = 0
  const std::int64_t doy = (153 * mp + 2) / 5 + d - 1;             // [0, 365]
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  // [0, 146096]
  return era * 146097 + doe - 719468;
}

constexpr std::int64_t kMinDays = days_from_civil(kMinCivilYear, 1, 1);
constexpr std::int64_t kMaxDays = days_from_civil(kMaxCivilYear, 12, 31);

int parse_digits(std::string_view text) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return -1;
    }
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

std::int64_t days_since_epoch(CivilDate d) {
  return days_from_civil(d.year, d.month, d.day);
}

CivilDate civil_from_days(std::int64_t days) {
  // H. Hinnant's civil_from_days; the clamp keeps the year inside int and the date valid.
  const std::int64_t z = std::clamp(days, kMinDays, kMaxDays) + 719468;
  const std::int64_t era = floor_div(z, 146097);
  const std::int64_t doe = z - era * 146097;                                       // [0, 146096]
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const std::int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;                           // [1, 31]
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;                            // [1, 12]
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return CivilDate{static_cast<int>(year), static_cast<int>(month), static_cast<int>(day)};
}

CivilDate add_days(CivilDate d, std::int64_t days) {
  // Any shift beyond the valid range clamps anyway; bounding it first avoids overflow.
  const std::int64_t span = kMaxDays - kMinDays + 1;
  return civil_from_days(days_since_epoch(d) + std::clamp(days, -span, span));
}

Weekday weekday(CivilDate d) {
  // 1970-01-01 was a Thursday (3 when Monday is 0).
  const std::int64_t index = (days_since_epoch(d) % 7 + 7 + 3) % 7;
  return static_cast<Weekday>(index);
}

std::string to_string(CivilDate d) {
  char buffer[48];
  const int n = std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02d", d.year, d.month, d.day);
  if (n < 0) {
    return {};
  }
  return std::string(buffer, std::min(static_cast<std::size_t>(n), sizeof buffer - 1));
}

Result<CivilDate> parse_civil_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return Errc::invalid_argument;
  }
  const CivilDate d{parse_digits(text.substr(0, 4)), parse_digits(text.substr(5, 2)),
                    parse_digits(text.substr(8, 2))};
  if (!is_valid(d)) {
    return Errc::invalid_argument;
  }
  return d;
}

}  // namespace oshin::billing
