#include "fhir_text.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace oshin::fhir::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i] and its code point, or 0 when invalid.
std::size_t utf8_sequence(std::string_view s, std::size_t i, char32_t& cp) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len = 0;
  char32_t min = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned char b = byte(i + k);
    if ((b & 0xC0u) != 0x80u) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

bool allowed_control(char32_t cp) {
  return cp == U'\t' || cp == U'\n' || cp == U'\r';
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::optional<std::string> format_parts(std::int64_t secs, std::int32_t nanos) {
  using namespace std::chrono;
  // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range a FHIR instant can write.
  constexpr std::int64_t kMin = -62135596800;
  constexpr std::int64_t kMax = 253402300799;
  if (secs < kMin || secs > kMax) {
    return std::nullopt;
  }
  if (nanos < 0 || nanos > 999'999'999) {
    nanos = 0;
  }
  const sys_seconds tp{seconds{secs}};
  const sys_days day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{tp - day};
  char buf[96];
  const int year = static_cast<int>(ymd.year());
  const unsigned month = static_cast<unsigned>(ymd.month());
  const unsigned dom = static_cast<unsigned>(ymd.day());
  const int hour = static_cast<int>(hms.hours().count());
  const int minute = static_cast<int>(hms.minutes().count());
  const int second = static_cast<int>(hms.seconds().count());
  const int millis = nanos / 1'000'000;
  int n = 0;
  if (millis > 0) {
    n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year, month, dom,
                      hour, minute, second, millis);
  } else {
    n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", year, month, dom, hour,
                      minute, second);
  }
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) {
    return std::nullopt;
  }
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::string clean_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(s, i, cp);
    if (len == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (cp < 0x20 && !allowed_control(cp)) {
      out += kReplacement;
    } else {
      out.append(s.substr(i, len));
    }
    i += len;
  }
  return out;
}

bool has_text(std::string_view s) {
  for (const char c : s) {
    if (!is_ascii_space(c)) {
      return true;
    }
  }
  return false;
}

std::string xhtml_escape(std::string_view s) {
  const std::string clean = clean_text(s);
  std::string out;
  out.reserve(clean.size() + clean.size() / 8);
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const char c = clean[i];
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '\r':
        if (i + 1 < clean.size() && clean[i + 1] == '\n') {
          ++i;
        }
        out += "<br/>";
        break;
      case '\n':
        out += "<br/>";
        break;
      default:
        out += c;
        break;
    }
  }
  return out;
}

std::optional<std::string> format_instant(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) {
    return std::nullopt;
  }
  return format_parts(t.seconds(), t.nanos());
}

std::optional<std::string> format_instant(SystemTime t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto nanos = duration_cast<nanoseconds>(t - secs).count();
  return format_parts(secs.time_since_epoch().count(), static_cast<std::int32_t>(nanos));
}

bool is_full_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  int parts[3] = {0, 0, 0};
  const std::size_t starts[3] = {0, 5, 8};
  const std::size_t lens[3] = {4, 2, 2};
  for (std::size_t p = 0; p < 3; ++p) {
    for (std::size_t k = 0; k < lens[p]; ++k) {
      const char c = s[starts[p] + k];
      if (c < '0' || c > '9') {
        return false;
      }
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  if (parts[0] < 1) {
    return false;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{parts[0]},
                                        std::chrono::month{static_cast<unsigned>(parts[1])},
                                        std::chrono::day{static_cast<unsigned>(parts[2])}};
  return ymd.ok();
}

}  // namespace oshin::fhir::detail
