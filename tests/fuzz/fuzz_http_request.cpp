// libFuzzer target: raw request bytes through the HTTP request path — Beast's request_parser
// with the server's limits (8 KiB header, 64 KiB body), then Router::dispatch into a few routes
// that decode bodies with the codec, as the real handlers do, with a fake Authenticator.
// Properties: never crashes; every dispatched request is answered exactly once, with a status
// the API uses.
#include <google/protobuf/stubs/logging.h>

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oshin/http/codec.hpp"
#include "oshin/http/router.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/visits.pb.h"

namespace {

namespace bh = boost::beast::http;
using namespace oshin;
using namespace oshin::http;

constexpr std::size_t kMaxHeaderBytes = 8192;  // HttpOptions defaults, as the server runs
constexpr std::size_t kMaxBodyBytes = 65536;

class FakeAuthenticator final : public Authenticator {
 public:
  std::optional<Principal> authenticate(std::string_view token) override {
    Principal p;
    p.username = "fuzz";
    if (token == "staff-token") {
      p.user_id = "u-staff";
      p.role = Role::staff;
      return p;
    }
    if (token == "doctor-token") {
      p.user_id = "u-doctor";
      p.role = Role::doctor;
      return p;
    }
    return std::nullopt;
  }
  std::optional<oshin::Principal> active_account(std::string_view user_id) override {
    oshin::Principal p;
    p.user_id = std::string(user_id);
    return p;
  }
};

// A handler that decodes the body into T and answers it back (as JSON or protobuf).
template <typename T>
Handler decoding() {
  return [](std::shared_ptr<RequestContext> ctx, Responder respond) {
    T msg;
    ApiError error;
    if (!decode_body(ctx->request, msg, &error)) {
      return respond(make_error_response(ctx->request, error));
    }
    respond(make_response(ctx->request, bh::status::created, msg));
  };
}

Handler echo_params() {
  return [](std::shared_ptr<RequestContext> ctx, Responder respond) {
    std::string body;
    for (const auto& [k, v] : ctx->path_params) {
      body += k + "=" + v + "\n";
    }
    for (const auto& [k, v] : ctx->query) {
      body += k + "=" + v + "\n";
    }
    respond(make_raw_response(ctx->request, bh::status::ok, std::move(body), "text/plain"));
  };
}

const Router& router() {
  static FakeAuthenticator auth;
  static const Router* r = [] {
    auto* built = new Router(&auth);
    RoleSet staff{Role::staff, Role::nurse};
    built->add(bh::verb::post, "/v1/auth/login", Access::open(), decoding<v1::LoginRequest>());
    built->add(bh::verb::post, "/v1/visits", Access::roles_of(staff),
               decoding<v1::CreateVisitRequest>());
    built->add(bh::verb::get, "/v1/visits/{id}", Access::roles_of(RoleSet::all()), echo_params());
    built->add(bh::verb::post, "/v1/patients", Access::roles_of(staff),
               decoding<v1::CreatePatientRequest>());
    built->add(bh::verb::post, "/v1/visits/{id}/summary", Access::roles_of({Role::doctor}),
               decoding<v1::CreateSummaryRequest>());
    built->add(bh::verb::get, "/fhir/{path*}", Access::roles_of({Role::doctor}), echo_params(),
               {"application/fhir+json"});
    built->add(bh::verb::get, "/healthz", Access::open(), echo_params(), {"text/plain"});
    return built;
  }();
  return *r;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // protobuf's parse complaints would drown the output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bh::request_parser<bh::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser.body_limit(kMaxBodyBytes);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < size && !parser.is_done()) {
    std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    if (ec == bh::error::need_more) {
      return 0;  // the session would wait for more bytes
    }
    if (ec) {
      return 0;  // the session answers 400/413/431 from the error code
    }
    if (n == 0) {
      break;
    }
    used += n;
  }
  if (!parser.is_done()) {
    if (!parser.got_some()) {
      return 0;  // nothing arrived: the session just waits for bytes or its deadline
    }
    parser.put_eof(ec);
    if (ec || !parser.is_done()) {
      return 0;
    }
  }

  auto ctx = std::make_shared<RequestContext>();
  ctx->request = parser.release();
  ctx->request_id = "fuzz";
  ctx->peer_address = "127.0.0.1";
  (void)bearer_token(ctx->request);
  (void)router().match_pattern(ctx->request.target());

  int answers = 0;
  router().dispatch(ctx, [&answers](Response res) {
    ++answers;
    auto status = res.result_int();
    if (status < 200 || status > 599 || status == 500) {
      std::abort();  // a handler threw or a status outside the API's table
    }
  });
  if (answers != 1) {
    std::abort();
  }
  return 0;
}
