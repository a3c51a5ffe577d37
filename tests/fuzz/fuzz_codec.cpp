// libFuzzer target: request bodies (JSON and protobuf) decoded into API messages, the way every
// handler does it (decode_body by Content-Type), plus the Accept-header negotiation.
// Input: byte 0 picks the message, byte 1 the Content-Type, the rest is the body.
// Properties: never crashes; a body that decodes prints as JSON that decodes again to an equal
// message (NaN equal to NaN; unknown fields of a protobuf body are skipped, as proto3 does and
// the handlers never read them — only unknown JSON fields are refused, API.md "Conventions").
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "oshin/http/codec.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/visits.pb.h"

namespace {

namespace bh = boost::beast::http;
using oshin::http::ApiError;
using oshin::http::Request;

std::unique_ptr<google::protobuf::Message> make_message(std::uint8_t selector) {
  switch (selector % 4) {
    case 0:
      return std::make_unique<oshin::v1::CreateVisitRequest>();
    case 1:
      return std::make_unique<oshin::v1::CreatePatientRequest>();
    case 2:
      return std::make_unique<oshin::v1::CreateSummaryRequest>();
    default:
      return std::make_unique<oshin::v1::LoginRequest>();
  }
}

constexpr std::array<std::string_view, 6> kContentTypes = {
    "application/json", "application/x-protobuf",       "", "application/json; charset=utf-8",
    "text/plain",       "Application/X-Protobuf ; q=1",
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // "invalid UTF-8" lines would drown the output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  auto msg = make_message(data[0]);
  std::string_view content_type = kContentTypes[data[1] % kContentTypes.size()];
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  Request req{bh::verb::post, "/v1/visits", 11};
  if (!content_type.empty()) {
    req.set(bh::field::content_type, content_type);
  }
  req.body() = std::string(body);
  req.prepare_payload();

  // The Accept header is the body too: negotiation must never crash on any bytes.
  Request negotiate{bh::verb::get, "/v1/visits", 11};
  negotiate.set(bh::field::accept, body);
  (void)oshin::http::response_format(negotiate);
  (void)oshin::http::accepts(negotiate, "application/fhir+json; fhirVersion=4.0");

  ApiError error;
  auto decoded = oshin::http::decode_body(req, *msg, &error);
  if (!decoded) {
    // A refusal always carries an error code the API knows.
    if (error.code == oshin::Errc::internal) {
      std::abort();
    }
    return 0;
  }
  msg->DiscardUnknownFields();
  // Whatever decoded prints as canonical JSON that decodes back to the same message.
  std::string json = oshin::http::to_json(*msg);
  auto again = make_message(data[0]);
  ApiError again_error;
  if (!oshin::http::parse_json(json, *again, &again_error)) {
    std::abort();
  }
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  if (!differencer.Compare(*msg, *again)) {
    std::abort();
  }
  return 0;
}
