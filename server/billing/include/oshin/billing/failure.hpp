#pragma once
/// Failures of the billing rules: an Errc plus a message for people.

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <string>

#include "oshin/common/errc.hpp"

namespace oshin::billing {

/// Why a billing function failed: `code` for the API mapping, `message` naming the problem
/// (e.g. "timeAddOns.points.ZAISHIN.urgent: expected an integer 0..100000").
struct Failure {
  Errc code = Errc::invalid_argument;
  std::string message;
};

/// A value or a Failure. Test has_value() (or operator bool) before using the value.
template <class T>
using Outcome = boost::system::result<T, Failure>;

/// Called by Outcome<T>::value() on a failure (found by argument-dependent lookup): throws
/// boost::system::system_error holding the code and message. Prefer testing the Outcome.
[[noreturn]] void throw_exception_from_error(const Failure& failure,
                                             const boost::source_location& location);

}  // namespace oshin::billing
