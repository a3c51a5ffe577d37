#include "oshin/http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <map>
#include <stdexcept>

#include "oshin/http/codec.hpp"

namespace oshin::http {
namespace {

namespace bh = boost::beast::http;

class FakeAuthenticator : public Authenticator {
 public:
  std::optional<Principal> authenticate(std::string_view bearer_token) override {
    last_token = std::string(bearer_token);
    auto it = tokens.find(std::string(bearer_token));
    if (it == tokens.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  std::optional<Principal> active_account(std::string_view user_id) override {
    Principal p;
    p.user_id = std::string(user_id);
    return p;
  }
  std::map<std::string, Principal> tokens;
  std::string last_token;
};

Principal principal_with(Role role) {
  Principal p;
  p.user_id = "u-" + std::to_string(static_cast<int>(role));
  p.username = "user";
  p.role = role;
  return p;
}

struct Call {
  std::optional<Response> response;
  std::shared_ptr<RequestContext> ctx;  // what the handler saw (null when it did not run)
};

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    auth_.tokens["staff-token"] = principal_with(Role::staff);
    auth_.tokens["doctor-token"] = principal_with(Role::doctor);
    auth_.tokens["admin-token"] = principal_with(Role::admin);
  }

  // A handler that records its context and answers 200 with the route in a header.
  Handler recording(std::string tag) {
    return [this, tag](std::shared_ptr<RequestContext> ctx, Responder respond) {
      seen_ = ctx;
      auto res = make_empty_response(ctx->request, bh::status::ok);
      res.set("X-Handler", tag);
      respond(std::move(res));
    };
  }

  Call call(bh::verb method, std::string target, std::map<std::string, std::string> headers = {}) {
    seen_.reset();
    auto ctx = std::make_shared<RequestContext>();
    ctx->request = Request{method, target, 11};
    for (auto& [name, value] : headers) {
      ctx->request.set(name, value);
    }
    Call out;
    router_.dispatch(ctx, [&out](Response res) {
      if (!out.response) {
        out.response = std::move(res);
      }
    });
    out.ctx = seen_;
    return out;
  }

  static std::string error_code_of(const Response& res) {
    auto v = boost::json::parse(res.body());
    return std::string(v.at("error").at("code").as_string());
  }

  FakeAuthenticator auth_;
  Router router_{&auth_};
  std::shared_ptr<RequestContext> seen_;
};

TEST_F(RouterTest, MatchesLiteralAndParamSegments) {
  router_.add(bh::verb::get, "/v1/users/{id}", Access::open(), recording("user"));
  router_.add(bh::verb::post, "/v1/users/{id}/disable", Access::open(), recording("disable"));

  auto c = call(bh::verb::get, "/v1/users/u-42");
  ASSERT_TRUE(c.response);
  EXPECT_EQ(c.response->result(), bh::status::ok);
  ASSERT_TRUE(c.ctx);
  EXPECT_EQ(c.ctx->route, "/v1/users/{id}");
  EXPECT_EQ(c.ctx->param("id"), "u-42");
  EXPECT_EQ(c.ctx->param("missing"), "");

  c = call(bh::verb::post, "/v1/users/a%20b/disable");
  ASSERT_TRUE(c.ctx);
  EXPECT_EQ(c.ctx->route, "/v1/users/{id}/disable");
  EXPECT_EQ(c.ctx->param("id"), "a b");
}

TEST_F(RouterTest, LiteralSegmentsWinOverParams) {
  router_.add(bh::verb::get, "/v1/visits/{id}", Access::open(), recording("by-id"));
  router_.add(bh::verb::get, "/v1/visits/board", Access::open(), recording("board"));
  router_.add(bh::verb::get, "/static/{path*}", Access::open(), recording("static"));
  router_.add(bh::verb::get, "/static/index.html", Access::open(), recording("index"));

  EXPECT_EQ(call(bh::verb::get, "/v1/visits/board").response->at("X-Handler"), "board");
  EXPECT_EQ(call(bh::verb::get, "/v1/visits/v-1").response->at("X-Handler"), "by-id");
  EXPECT_EQ(call(bh::verb::get, "/static/index.html").response->at("X-Handler"), "index");
  auto c = call(bh::verb::get, "/static/js/app.js");
  EXPECT_EQ(c.response->at("X-Handler"), "static");
  EXPECT_EQ(c.ctx->param("path"), "js/app.js");
  EXPECT_EQ(call(bh::verb::get, "/static").response->result(), bh::status::not_found);
}

TEST_F(RouterTest, DecodesQueryParameters) {
  router_.add(bh::verb::get, "/v1/visits", Access::open(), recording("list"));
  auto c = call(bh::verb::get,
                "/v1/visits?from=2025-01-01T00%3A00%3A00Z&name=a+b%26c&flag&x=1&x=2&empty=");
  ASSERT_TRUE(c.ctx);
  EXPECT_EQ(c.ctx->query_param("from"), "2025-01-01T00:00:00Z");
  EXPECT_EQ(c.ctx->query_param("name"), "a b&c");
  EXPECT_EQ(c.ctx->query_param("flag"), "");
  EXPECT_EQ(c.ctx->query_param("x"), "1");  // first occurrence wins
  EXPECT_EQ(c.ctx->query_param("empty"), "");
  EXPECT_EQ(c.ctx->query_param("absent"), std::nullopt);
}

TEST_F(RouterTest, UnknownPathIs404InErrorShape) {
  router_.add(bh::verb::get, "/v1/visits", Access::open(), recording("list"));
  auto c = call(bh::verb::get, "/v1/nothing");
  ASSERT_TRUE(c.response);
  EXPECT_EQ(c.response->result(), bh::status::not_found);
  EXPECT_EQ(error_code_of(*c.response), "NOT_FOUND");
  EXPECT_FALSE(c.ctx);
  EXPECT_EQ(c.response->at(bh::field::content_type), "application/json; charset=utf-8");
}

TEST_F(RouterTest, RejectsPathTricks) {
  router_.add(bh::verb::get, "/v1/users/{id}", Access::open(), recording("user"));
  router_.add(bh::verb::get, "/v1/users", Access::open(), recording("users"));
  for (const char* target :
       {"/v1/users/../users/x", "/v1/users/.", "/v1/users/..", "//v1/users", "/v1//users",
        "/v1/users/", "/v1/users/a%2Fb", "/v1/users/%2E%2E", "/v1/users/a%00b"}) {
    auto c = call(bh::verb::get, target);
    ASSERT_TRUE(c.response) << target;
    EXPECT_EQ(c.response->result(), bh::status::not_found) << target;
    EXPECT_FALSE(c.ctx) << target;
  }
  for (const char* target : {"/v1/users/%zz", "http://evil.example/v1/users", "*", ""}) {
    auto c = call(bh::verb::get, target);
    ASSERT_TRUE(c.response) << target;
    EXPECT_EQ(c.response->result(), bh::status::bad_request) << target;
    EXPECT_EQ(error_code_of(*c.response), "MALFORMED_REQUEST") << target;
  }
}

TEST_F(RouterTest, OtherMethodIs405WithAllow) {
  router_.add(bh::verb::get, "/v1/visits", Access::open(), recording("list"));
  router_.add(bh::verb::post, "/v1/visits", Access::open(), recording("create"));
  auto c = call(bh::verb::delete_, "/v1/visits");
  ASSERT_TRUE(c.response);
  EXPECT_EQ(c.response->result(), bh::status::method_not_allowed);
  EXPECT_EQ(c.response->at(bh::field::allow), "GET, HEAD, POST");
  EXPECT_EQ(error_code_of(*c.response), "METHOD_NOT_ALLOWED");
}

TEST_F(RouterTest, HeadUsesGetRoute) {
  router_.add(bh::verb::get, "/v1/visits", Access::open(), recording("list"));
  auto c = call(bh::verb::head, "/v1/visits");
  EXPECT_EQ(c.response->at("X-Handler"), "list");
}

TEST_F(RouterTest, MissingOrBadTokenIs401) {
  router_.add(bh::verb::get, "/v1/me", Access::roles_of(RoleSet::all()), recording("me"));

  auto c = call(bh::verb::get, "/v1/me");
  EXPECT_EQ(c.response->result(), bh::status::unauthorized);
  EXPECT_EQ(c.response->at(bh::field::www_authenticate), "Bearer");
  EXPECT_EQ(error_code_of(*c.response), "UNAUTHENTICATED");
  EXPECT_FALSE(c.ctx);

  c = call(bh::verb::get, "/v1/me", {{"Authorization", "Bearer wrong-token"}});
  EXPECT_EQ(c.response->result(), bh::status::unauthorized);
  EXPECT_EQ(c.response->at(bh::field::www_authenticate), "Bearer error=\"invalid_token\"");

  for (const char* header : {"Basic staff-token", "Bearer", "Bearer ", "staff-token",
                             "Bearer staff token", "Bearer st@ff"}) {
    c = call(bh::verb::get, "/v1/me", {{"Authorization", header}});
    EXPECT_EQ(c.response->result(), bh::status::unauthorized) << header;
  }
}

TEST_F(RouterTest, BearerSchemeIsCaseInsensitive) {
  router_.add(bh::verb::get, "/v1/me", Access::roles_of(RoleSet::all()), recording("me"));
  for (const char* header : {"Bearer staff-token", "bearer staff-token", "BEARER  staff-token "}) {
    auto c = call(bh::verb::get, "/v1/me", {{"Authorization", header}});
    EXPECT_EQ(c.response->result(), bh::status::ok) << header;
    ASSERT_TRUE(c.ctx);
    ASSERT_TRUE(c.ctx->principal);
    EXPECT_EQ(c.ctx->principal->role, Role::staff);
  }
  EXPECT_EQ(auth_.last_token, "staff-token");
}

TEST_F(RouterTest, WrongRoleIs403) {
  router_.add(bh::verb::post, "/v1/visits", Access::roles_of({Role::staff, Role::nurse}),
              recording("create"));
  auto c = call(bh::verb::post, "/v1/visits", {{"Authorization", "Bearer doctor-token"}});
  EXPECT_EQ(c.response->result(), bh::status::forbidden);
  EXPECT_EQ(error_code_of(*c.response), "PERMISSION_DENIED");
  EXPECT_FALSE(c.ctx);
  c = call(bh::verb::post, "/v1/visits", {{"Authorization", "Bearer staff-token"}});
  EXPECT_EQ(c.response->result(), bh::status::ok);
}

TEST_F(RouterTest, DenyByDefault) {
  router_.add(bh::verb::get, "/v1/secret", Access{}, recording("secret"));
  for (const char* token : {"Bearer admin-token", "Bearer staff-token", "Bearer doctor-token"}) {
    auto c = call(bh::verb::get, "/v1/secret", {{"Authorization", token}});
    EXPECT_EQ(c.response->result(), bh::status::forbidden) << token;
    EXPECT_FALSE(c.ctx);
  }
  EXPECT_EQ(call(bh::verb::get, "/v1/secret").response->result(), bh::status::unauthorized);
}

TEST_F(RouterTest, ATotpEnrolmentOnlySessionReachesOnlyEnrolmentRoutes) {
  Principal enrolling = principal_with(Role::staff);
  enrolling.totp_enrolment_only = true;
  auth_.tokens["enrolling-token"] = enrolling;
  router_.add(bh::verb::get, "/v1/me", Access::enrolment(RoleSet::all()), recording("me"));
  router_.add(bh::verb::get, "/v1/visits", Access::roles_of({Role::staff}), recording("visits"));
  router_.add(bh::verb::get, "/v1/users", Access::roles_of({Role::admin}), recording("users"));
  const std::map<std::string, std::string> as_enrolling{
      {"Authorization", "Bearer enrolling-token"}};
  auto me = call(bh::verb::get, "/v1/me", as_enrolling);
  EXPECT_EQ(me.response->result(), bh::status::ok);
  ASSERT_TRUE(me.ctx);
  EXPECT_TRUE(me.ctx->principal->totp_enrolment_only);
  auto visits = call(bh::verb::get, "/v1/visits", as_enrolling);
  EXPECT_EQ(visits.response->result(), bh::status::forbidden);
  EXPECT_NE(visits.response->body().find("TOTP_ENROLMENT_REQUIRED"), std::string::npos);
  EXPECT_FALSE(visits.ctx);
  // A role never allowed stays PERMISSION_DENIED.
  auto users = call(bh::verb::get, "/v1/users", as_enrolling);
  EXPECT_EQ(users.response->result(), bh::status::forbidden);
  EXPECT_NE(users.response->body().find("PERMISSION_DENIED"), std::string::npos);
  // A full session of the same role reaches both.
  const std::map<std::string, std::string> as_staff{{"Authorization", "Bearer staff-token"}};
  EXPECT_EQ(call(bh::verb::get, "/v1/visits", as_staff).response->result(), bh::status::ok);
  EXPECT_EQ(call(bh::verb::get, "/v1/me", as_staff).response->result(), bh::status::ok);
}

TEST_F(RouterTest, NoAuthenticatorMeansNoAccess) {
  Router router(nullptr);
  router.add(bh::verb::get, "/v1/me", Access::roles_of(RoleSet::all()),
             [](std::shared_ptr<RequestContext> ctx, Responder respond) {
               respond(make_empty_response(ctx->request, bh::status::ok));
             });
  auto ctx = std::make_shared<RequestContext>();
  ctx->request = Request{bh::verb::get, "/v1/me", 11};
  ctx->request.set(bh::field::authorization, "Bearer staff-token");
  std::optional<Response> got;
  router.dispatch(ctx, [&got](Response res) { got = std::move(res); });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->result(), bh::status::unauthorized);
}

TEST_F(RouterTest, PublicRouteNeedsNoToken) {
  router_.add(bh::verb::post, "/v1/login", Access::open(), recording("login"));
  auto c = call(bh::verb::post, "/v1/login");
  EXPECT_EQ(c.response->result(), bh::status::ok);
  ASSERT_TRUE(c.ctx);
  EXPECT_FALSE(c.ctx->principal);
}

TEST_F(RouterTest, AcceptAllowingNoAnswerTypeIs406BeforeTheHandler) {
  router_.add(bh::verb::get, "/v1/thing", Access::open(), recording("thing"));
  router_.add(bh::verb::get, "/metrics", Access::open(), recording("metrics"), {"text/plain"});

  auto png = call(bh::verb::get, "/v1/thing", {{"Accept", "image/png"}});
  EXPECT_EQ(png.response->result(), bh::status::not_acceptable);
  EXPECT_EQ(error_code_of(*png.response), "NOT_ACCEPTABLE");
  EXPECT_FALSE(png.ctx);
  for (std::string ok :
       {"application/json", "application/x-protobuf", "*/*", "application/*", ""}) {
    auto c = call(bh::verb::get, "/v1/thing", {{"Accept", ok}});
    EXPECT_EQ(c.response->result(), bh::status::ok) << ok;
  }
  auto refused = call(bh::verb::get, "/v1/thing", {{"Accept", "application/json;q=0"}});
  EXPECT_EQ(refused.response->result(), bh::status::not_acceptable);

  // A fixed-type route checks its own type, not JSON/protobuf.
  EXPECT_EQ(call(bh::verb::get, "/metrics", {{"Accept", "text/plain"}}).response->result(),
            bh::status::ok);
  EXPECT_EQ(call(bh::verb::get, "/metrics", {{"Accept", "text/*;q=0.5"}}).response->result(),
            bh::status::ok);
  EXPECT_EQ(call(bh::verb::get, "/metrics", {{"Accept", "application/json"}}).response->result(),
            bh::status::not_acceptable);
}

TEST_F(RouterTest, RateLimitsPerAddressAndPerAccountAnswer429WithRetryAfter) {
  ManualClock clock{SystemTime(std::chrono::hours(500000))};
  RateLimiter per_address({.rate_per_second = 1, .burst = 3}, clock);
  RateLimiter per_account({.rate_per_second = 0.5, .burst = 1}, clock);
  router_.set_rate_limits(&per_address, &per_account);
  router_.add(bh::verb::get, "/open", Access::open(), recording("open"));
  router_.add(bh::verb::get, "/mine", Access::roles_of({Role::staff, Role::doctor}),
              recording("mine"));
  auto from = [this](std::string address, std::string target, std::string token = {}) {
    seen_.reset();
    auto ctx = std::make_shared<RequestContext>();
    ctx->request = Request{bh::verb::get, target, 11};
    ctx->peer_address = std::move(address);
    if (!token.empty()) {
      ctx->request.set(bh::field::authorization, "Bearer " + token);
    }
    std::optional<Response> got;
    router_.dispatch(ctx, [&got](Response res) { got = std::move(res); });
    return *got;
  };
  // The account's bucket: one request, then 429 for two seconds; another account is unaffected.
  EXPECT_EQ(from("10.0.0.1", "/mine", "staff-token").result(), bh::status::ok);
  auto limited = from("10.0.0.2", "/mine", "staff-token");
  EXPECT_EQ(limited.result(), bh::status::too_many_requests);
  EXPECT_EQ(error_code_of(limited), "RATE_LIMITED");
  EXPECT_EQ(limited[bh::field::retry_after], "2");
  EXPECT_FALSE(seen_);
  EXPECT_EQ(from("10.0.0.2", "/mine", "doctor-token").result(), bh::status::ok);
  // The address's bucket: 10.0.0.1 has spent one; two more, then 429 even on a public route.
  EXPECT_EQ(from("10.0.0.1", "/open").result(), bh::status::ok);
  EXPECT_EQ(from("10.0.0.1", "/open").result(), bh::status::ok);
  auto flooded = from("10.0.0.1", "/open");
  EXPECT_EQ(flooded.result(), bh::status::too_many_requests);
  EXPECT_EQ(flooded[bh::field::retry_after], "1");
  EXPECT_EQ(from("10.0.0.3", "/open").result(), bh::status::ok);
  // Time heals.
  clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(from("10.0.0.1", "/mine", "staff-token").result(), bh::status::ok);
}

TEST_F(RouterTest, ThrowingHandlerIs500) {
  router_.add(
      bh::verb::get, "/boom", Access::open(),
      [](std::shared_ptr<RequestContext>, Responder) -> void { throw std::runtime_error("boom"); });
  auto c = call(bh::verb::get, "/boom");
  ASSERT_TRUE(c.response);
  EXPECT_EQ(c.response->result(), bh::status::internal_server_error);
  EXPECT_EQ(error_code_of(*c.response), "INTERNAL");
}

TEST_F(RouterTest, MatchPatternIgnoresMethodAndQuery) {
  router_.add(bh::verb::post, "/v1/users/{id}/disable", Access{}, recording("disable"));
  EXPECT_EQ(router_.match_pattern("/v1/users/u1/disable?x=1"), "/v1/users/{id}/disable");
  EXPECT_EQ(router_.match_pattern("/v1/users/u1"), "");
  EXPECT_EQ(router_.match_pattern("/v1/users/../x/disable"), "");
}

TEST_F(RouterTest, RejectsBadPatternsAtStartup) {
  router_.add(bh::verb::get, "/v1/a", Access::open(), recording("a"));
  EXPECT_THROW(router_.add(bh::verb::get, "/v1/a", Access::open(), recording("again")),
               std::invalid_argument);
  EXPECT_THROW(router_.add(bh::verb::get, "v1/a", Access::open(), recording("x")),
               std::invalid_argument);
  EXPECT_THROW(router_.add(bh::verb::get, "/v1//a", Access::open(), recording("x")),
               std::invalid_argument);
  EXPECT_THROW(router_.add(bh::verb::get, "/{rest*}/x", Access::open(), recording("x")),
               std::invalid_argument);
}

TEST(BearerToken, ParsesOnlyWellFormedHeaders) {
  Request req{bh::verb::get, "/", 11};
  EXPECT_EQ(bearer_token(req), std::nullopt);
  req.set(bh::field::authorization, "Bearer abc.DEF-123_~+/==");
  EXPECT_EQ(bearer_token(req), "abc.DEF-123_~+/==");
  req.set(bh::field::authorization, "Bearer a=b");
  EXPECT_EQ(bearer_token(req), std::nullopt);
  req.set(bh::field::authorization, "Bearer abc");
  req.insert(bh::field::authorization, "Bearer def");
  EXPECT_EQ(bearer_token(req), std::nullopt);  // repeated header
}

}  // namespace
}  // namespace oshin::http
