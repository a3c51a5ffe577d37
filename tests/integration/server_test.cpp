// The server shell over real sockets: health, metrics, limits, content negotiation, routing.
#include <gtest/gtest.h>

#include "fixture.hpp"
#include "oshin/v1/accounts.pb.h"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

class Shell : public ServerSuite {};

TEST_F(Shell, HealthAndReadiness) {
  auto h = http_call(port(), verb::get, "/healthz");
  EXPECT_EQ(h.status, 200u);
  EXPECT_EQ(h.json().at("status").as_string(), "ok");
  EXPECT_EQ(http_call(port(), verb::get, "/readyz").status, 200u);
}

TEST_F(Shell, MetricsNameTheContractSeriesAndCountRequests) {
  http_call(port(), verb::get, "/healthz");
  auto m = http_call(port(), verb::get, "/metrics");
  ASSERT_EQ(m.status, 200u);
  EXPECT_NE(m.header("content-type").find("text/plain"), std::string::npos);
  for (const char* series :
       {"oshin_http_requests_total", "oshin_http_request_duration_seconds", "oshin_visits_total",
        "oshin_dispatch_decision_seconds", "oshin_ws_connections", "oshin_store_commit_seconds"}) {
    EXPECT_NE(m.body.find(series), std::string::npos) << series;
  }
  EXPECT_NE(m.body.find("oshin_http_requests_total{route=\"/healthz\",code=\"200\"}"),
            std::string::npos);
  EXPECT_NE(m.body.find("oshin_store_commit_seconds_count"), std::string::npos);
  // Route patterns, never raw targets with ids or tokens.
  http_call(port(), verb::post, "/v1/users/usr_secretid/disable", {}, admin_token());
  auto m2 = http_call(port(), verb::get, "/metrics");
  EXPECT_EQ(m2.body.find("usr_secretid"), std::string::npos);
  EXPECT_NE(m2.body.find("route=\"/v1/users/{id}/disable\""), std::string::npos);
}

TEST_F(Shell, UnknownPathIs404AndWrongMethodIs405) {
  auto r = http_call(port(), verb::get, "/v1/nothing-here", {}, admin_token());
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.error_code(), "NOT_FOUND");
  auto m = http_call(port(), verb::delete_, "/v1/users", {}, admin_token());
  EXPECT_EQ(m.status, 405u);
  EXPECT_EQ(m.error_code(), "METHOD_NOT_ALLOWED");
  EXPECT_NE(m.header("allow").find("GET"), std::string::npos);
}

TEST_F(Shell, ErrorBodyShape) {
  auto r = http_call(port(), verb::post, "/v1/login", "{not json");
  EXPECT_EQ(r.status, 400u);
  auto err = r.json().at("error").as_object();
  EXPECT_EQ(err.at("code").as_string(), "INVALID_ARGUMENT");
  EXPECT_FALSE(err.at("message").as_string().empty());
  auto unknown = http_call(port(), verb::post, "/v1/login",
                           js({{"username", "a"}, {"password", "b"}, {"extra", 1}}));
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_EQ(unknown.json().at("error").at("field").as_string(), "extra");
  EXPECT_FALSE(r.header("x-request-id").empty());
}

TEST_F(Shell, HeaderBlockOver8KiBIs431) {
  HttpClient c(port());
  auto r = c.request(verb::get, "/healthz", {}, {}, {{"X-Padding", std::string(9000, 'a')}});
  EXPECT_EQ(r.status, 431u);
  EXPECT_EQ(r.error_code(), "HEADERS_TOO_LARGE");
}

TEST_F(Shell, BodyOver64KiBIs413) {
  HttpClient c(port());
  std::string big = "{\"username\":\"" + std::string(64 * 1024, 'a') + "\"}";
  auto r = c.request(verb::post, "/v1/login", big);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.error_code(), "PAYLOAD_TOO_LARGE");
}

TEST_F(Shell, ContentLengthWithTransferEncodingIs400) {
  HttpClient c(port());
  auto r = c.raw(
      "POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 400u);
  EXPECT_TRUE(r.closed);
}

TEST_F(Shell, GarbageRequestLineIs400) {
  HttpClient c(port());
  auto r = c.raw("HELLO\r\n\r\n");
  EXPECT_EQ(r.status, 400u);
}

TEST_F(Shell, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient c(port());
  for (int i = 0; i < 5; ++i) {
    auto r = c.get("/healthz");
    ASSERT_EQ(r.status, 200u);
    EXPECT_FALSE(r.closed);
  }
}

TEST_F(Shell, ProtobufRequestAndResponseByNegotiation) {
  create_user("proto.nurse", "NURSE", station_id(), "proto-nurse-password");
  v1::LoginRequest req;
  req.set_username("proto.nurse");
  req.set_password("proto-nurse-password");
  auto r =
      http_call(port(), verb::post, "/v1/login", req.SerializeAsString(), {},
                {{"Content-Type", "application/x-protobuf"}, {"Accept", "application/x-protobuf"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-protobuf");
  v1::LoginResponse res;
  ASSERT_TRUE(res.ParseFromString(r.body));
  EXPECT_EQ(res.user().username(), "proto.nurse");
  EXPECT_EQ(res.user().role(), v1::NURSE);
  // JSON in, protobuf out; and the reverse.
  auto me = http_call(port(), verb::get, "/v1/me", {}, res.token(),
                      {{"Accept", "application/x-protobuf"}});
  v1::User user;
  ASSERT_TRUE(user.ParseFromString(me.body));
  EXPECT_EQ(user.username(), "proto.nurse");
  auto js_me =
      http_call(port(), verb::get, "/v1/me", {}, res.token(), {{"Accept", "application/json"}});
  EXPECT_EQ(js_me.json().at("username").as_string(), "proto.nurse");
}

TEST_F(Shell, UnsupportedMediaTypeAndNotAcceptable) {
  auto r = http_call(port(), verb::post, "/v1/login", "username=a", {},
                     {{"Content-Type", "application/x-www-form-urlencoded"}});
  EXPECT_EQ(r.status, 415u);
  EXPECT_EQ(r.error_code(), "UNSUPPORTED_MEDIA_TYPE");
  auto n = http_call(port(), verb::get, "/v1/me", {}, admin_token(), {{"Accept", "image/png"}});
  EXPECT_EQ(n.status, 406u);
  EXPECT_EQ(n.error_code(), "NOT_ACCEPTABLE");
}

TEST_F(Shell, JsonPrintsDefaults) {
  auto r = http_call(port(), verb::get, "/v1/me", {}, admin_token());
  ASSERT_EQ(r.status, 200u);
  // A false boolean is printed, not omitted.
  EXPECT_EQ(r.json().at("totpEnabled").as_bool(), false);
}

}  // namespace
}  // namespace oshin::testing
