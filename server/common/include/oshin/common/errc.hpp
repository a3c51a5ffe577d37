#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <string_view>
#include <type_traits>

namespace oshin {

/// Domain failures. Each maps to one HTTP status and one API error code (see api_error_code()).
/// Values are stable: they are never reordered, new ones are appended.
enum class Errc {
  ok = 0,
  invalid_argument = 1,          ///< 400 INVALID_ARGUMENT
  malformed_request = 2,         ///< 400 MALFORMED_REQUEST (unparseable HTTP, bad framing)
  unknown_field = 3,             ///< 400 INVALID_ARGUMENT (unknown JSON field)
  weak_password = 4,             ///< 400 WEAK_PASSWORD
  unauthenticated = 5,           ///< 401 UNAUTHENTICATED
  invalid_credentials = 6,       ///< 401 INVALID_CREDENTIALS
  permission_denied = 7,         ///< 403 PERMISSION_DENIED
  not_found = 8,                 ///< 404 NOT_FOUND
  method_not_allowed = 9,        ///< 405 METHOD_NOT_ALLOWED
  not_acceptable = 10,           ///< 406 NOT_ACCEPTABLE
  already_exists = 11,           ///< 409 ALREADY_EXISTS
  offer_not_pending = 12,        ///< 409 OFFER_NOT_PENDING
  invalid_transition = 13,       ///< 409 INVALID_TRANSITION
  payload_too_large = 14,        ///< 413 PAYLOAD_TOO_LARGE
  unsupported_media_type = 15,   ///< 415 UNSUPPORTED_MEDIA_TYPE
  idempotency_key_reused = 16,   ///< 422 IDEMPOTENCY_KEY_REUSED
  call_emergency_services = 17,  ///< 422 CALL_EMERGENCY_SERVICES
  out_of_service_area = 18,      ///< 422 OUT_OF_SERVICE_AREA
  outside_service_hours = 19,    ///< 422 OUTSIDE_SERVICE_HOURS
  too_many_attempts = 20,        ///< 429 TOO_MANY_ATTEMPTS
  rate_limited = 21,             ///< 429 RATE_LIMITED
  headers_too_large = 22,        ///< 431 HEADERS_TOO_LARGE
  internal = 23,                 ///< 500 INTERNAL
  unavailable = 24,              ///< 503 UNAVAILABLE (storage not writable, shutting down)
  storage_full = 25,             ///< 503 UNAVAILABLE (disk full)
  conflict = 26,                 ///< 409 CONFLICT (generic state conflict)
  request_timeout = 27,          ///< 408 REQUEST_TIMEOUT
  totp_required = 28,            ///< 401 TOTP_REQUIRED (right password, TOTP code missing)
  totp_enrolment_required = 29,  ///< 403 TOTP_ENROLMENT_REQUIRED (session may only enrol TOTP)
};

/// The boost::system category of Errc.
const boost::system::error_category& oshin_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), oshin_category()};
}

/// HTTP status for an Errc (e.g. 404 for not_found).
unsigned http_status(Errc e) noexcept;

/// The API's SNAKE_CASE error code for an Errc (e.g. "NOT_FOUND").
std::string_view api_error_code(Errc e) noexcept;

/// Default human text for an Errc.
std::string_view default_message(Errc e) noexcept;

/// Maps any error_code to an Errc: oshin's own category passes through, everything else is
/// `internal` (storage full and I/O errors are classified by the storage layer before this).
Errc to_errc(const boost::system::error_code& ec) noexcept;

template <class T>
using Result = boost::system::result<T>;

}  // namespace oshin

namespace boost::system {
template <>
struct is_error_code_enum<oshin::Errc> : std::true_type {};
}  // namespace boost::system
