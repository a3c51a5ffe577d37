#pragma once

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "oshin/common/errc.hpp"
#include "oshin/http/router.hpp"

namespace oshin::http {

/// A failure as the API shows it: {"error":{"code","message","field"?,"visitId"?}}.
struct ApiError {
  Errc code = Errc::internal;
  std::string message;   ///< human text; default_message(code) when empty
  std::string field;     ///< optional JSON path of the offending field
  std::string visit_id;  ///< set for refusals that still record a REJECTED visit
};

/// Body formats by content negotiation.
enum class Format { json, protobuf };

/// The format a request body is in: Content-Type application/json (or none) -> json,
/// application/x-protobuf -> protobuf; anything else -> Errc::unsupported_media_type.
Result<Format> request_format(const Request& req);

/// The format the client accepts for the answer: Accept absent, */*, application/json -> json;
/// application/x-protobuf -> protobuf (quality values honoured); neither -> Errc::not_acceptable.
Result<Format> response_format(const Request& req);

/// Whether the Accept header allows `media_type` (absent or empty Accept allows everything;
/// parameters of `media_type` are ignored). Any thread.
bool accepts(const Request& req, std::string_view media_type);

/// Parses the request body into `out`. JSON: the proto3 canonical mapping, unknown fields
/// rejected (ApiError{unknown_field or invalid_argument, field = the offending name}). An empty
/// body parses as an empty message. Never throws.
Result<void> decode_body(const Request& req, google::protobuf::Message& out, ApiError* error);

/// Parses canonical proto3 JSON into `out` (cleared first), unknown fields rejected:
/// ApiError{unknown_field, field = "path.name"}; a bad value: {invalid_argument, field = path};
/// broken JSON: {invalid_argument, "malformed JSON: ..."}. The input is never echoed back
/// beyond short, printable field names. Never throws; any thread.
Result<void> parse_json(std::string_view json, google::protobuf::Message& out, ApiError* error);

/// Prints a message as canonical JSON with default values printed (lists always present).
std::string to_json(const google::protobuf::Message& msg);

/// A response carrying `msg` in the negotiated format (JSON when the Accept header allows
/// nothing better); keep-alive and version copied from the request.
Response make_response(const Request& req, beast_http::status status,
                       const google::protobuf::Message& msg);

/// A response with no body (e.g. 204).
Response make_empty_response(const Request& req, beast_http::status status);

/// A response with a raw body and content type (text/plain metrics, text/csv, fhir+json...).
Response make_raw_response(const Request& req, beast_http::status status, std::string body,
                           std::string_view content_type);

/// The error response: status from the error table, JSON error body always.
Response make_error_response(const Request& req, const ApiError& error);

inline Response make_error_response(const Request& req, Errc code, std::string message = {},
                                    std::string field = {}) {
  return make_error_response(req, ApiError{code, std::move(message), std::move(field), {}});
}

}  // namespace oshin::http
