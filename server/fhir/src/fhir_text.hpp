#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <string_view>

#include "oshin/common/clock.hpp"

namespace oshin::fhir::detail {

/// `s` as valid UTF-8 fit for a FHIR string: invalid or overlong sequences, surrogates and
/// control characters other than TAB, LF and CR each become U+FFFD.
std::string clean_text(std::string_view s);

/// True when `s` holds at least one character that is not ASCII whitespace (FHIR has no empty
/// strings: a blank value is left out).
bool has_text(std::string_view s);

/// `s` cleaned (clean_text) and escaped for XHTML character data: & < > " ' as entities, line
/// breaks (LF, CR LF, CR) as <br/>.
std::string xhtml_escape(std::string_view s);

/// A FHIR instant/dateTime in UTC, "YYYY-MM-DDThh:mm:ss[.fff]Z" (milliseconds only when
/// non-zero). Empty outside years 0001..9999, and for an unset (all-zero) proto Timestamp.
std::optional<std::string> format_instant(const google::protobuf::Timestamp& t);
std::optional<std::string> format_instant(SystemTime t);

/// True for a real calendar date written "YYYY-MM-DD" (a FHIR date).
bool is_full_date(std::string_view s);

}  // namespace oshin::fhir::detail
