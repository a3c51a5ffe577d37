#include "oshin/common/errc.hpp"

#include <array>
#include <string>

namespace oshin {
namespace {

struct ErrcInfo {
  unsigned status;
  std::string_view code;
  std::string_view message;
};

// One table maps every domain failure to its HTTP status and API code.
constexpr std::array<ErrcInfo, 30> kTable{{
    {200, "OK", "ok"},
    {400, "INVALID_ARGUMENT", "invalid argument"},
    {400, "MALFORMED_REQUEST", "malformed request"},
    {400, "INVALID_ARGUMENT", "unknown field"},
    {400, "WEAK_PASSWORD", "password must be at least 12 characters"},
    {401, "UNAUTHENTICATED", "missing, invalid or expired token"},
    {401, "INVALID_CREDENTIALS", "invalid username or password"},
    {403, "PERMISSION_DENIED", "this role may not call this endpoint"},
    {404, "NOT_FOUND", "not found"},
    {405, "METHOD_NOT_ALLOWED", "method not allowed"},
    {406, "NOT_ACCEPTABLE", "no acceptable representation"},
    {409, "ALREADY_EXISTS", "already exists"},
    {409, "OFFER_NOT_PENDING", "the offer is no longer pending"},
    {409, "INVALID_TRANSITION", "transition not allowed in the current status"},
    {413, "PAYLOAD_TOO_LARGE", "request body over 64 KiB"},
    {415, "UNSUPPORTED_MEDIA_TYPE", "unsupported content type"},
    {422, "IDEMPOTENCY_KEY_REUSED", "idempotency key reused with a different body"},
    {422, "CALL_EMERGENCY_SERVICES", "life-threatening: call 119 now"},
    {422, "OUT_OF_SERVICE_AREA", "patient is outside the service area"},
    {422, "OUTSIDE_SERVICE_HOURS", "outside service hours"},
    {429, "TOO_MANY_ATTEMPTS", "too many failed attempts; try again later"},
    {429, "RATE_LIMITED", "too many requests"},
    {431, "HEADERS_TOO_LARGE", "request header block over 8 KiB"},
    {500, "INTERNAL", "internal error"},
    {503, "UNAVAILABLE", "service unavailable"},
    {503, "UNAVAILABLE", "storage is full"},
    {409, "CONFLICT", "conflict"},
    {408, "REQUEST_TIMEOUT", "request timed out"},
    {401, "TOTP_REQUIRED", "this account needs a TOTP code (field totp) to log in"},
    {403, "TOTP_ENROLMENT_REQUIRED",
     "set up a TOTP authenticator first (POST /v1/me/totp, then /v1/me/totp/confirm)"},
}};

const ErrcInfo& info(Errc e) noexcept {
  auto i = static_cast<std::size_t>(e);
  if (i >= kTable.size()) {
    return kTable[static_cast<std::size_t>(Errc::internal)];
  }
  return kTable[i];
}

// boost::system::error_category has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class OshinCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "oshin"; }
  std::string message(int ev) const override {
    return std::string(info(static_cast<Errc>(ev)).message);
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& oshin_category() noexcept {
  static const OshinCategory category;
  return category;
}

unsigned http_status(Errc e) noexcept {
  return info(e).status;
}

std::string_view api_error_code(Errc e) noexcept {
  return info(e).code;
}

std::string_view default_message(Errc e) noexcept {
  return info(e).message;
}

Errc to_errc(const boost::system::error_code& ec) noexcept {
  if (!ec) {
    return Errc::ok;
  }
  if (ec.category() == oshin_category()) {
    auto v = ec.value();
    if (v >= 0 && static_cast<std::size_t>(v) < kTable.size()) {
      return static_cast<Errc>(v);
    }
  }
  return Errc::internal;
}

}  // namespace oshin
