#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace oshin::fhir::detail {

/// Compact JSON of `v`, keys in insertion order. Strings and integers are written by the
/// Boost.JSON serializer; doubles by std::to_chars (shortest round-trip, "35.6716" rather than
/// Boost's "3.56716E1", which FHIR decimals read badly); non-finite doubles as null.
std::string to_compact_json(const boost::json::value& v);

}  // namespace oshin::fhir::detail
