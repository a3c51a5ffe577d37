#include "oshin/billing/failure.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace oshin::billing {

void throw_exception_from_error(const Failure& failure, const boost::source_location& location) {
  boost::throw_exception(
      boost::system::system_error(make_error_code(failure.code), failure.message), location);
}

}  // namespace oshin::billing
