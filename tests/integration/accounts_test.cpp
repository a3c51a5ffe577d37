// Sessions and accounts over real sockets: login flow, every error code of these endpoints,
// 401/403, idempotency, disabling, and the failed-login limit.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

class Accounts : public ServerSuite {};

TEST_F(Accounts, LoginMeLogoutFlow) {
  std::string id = create_user("flow.nurse", "NURSE", station_id(), "flow-nurse-password");
  auto r = http_call(port(), verb::post, "/v1/login",
                     js({{"username", "flow.nurse"}, {"password", "flow-nurse-password"}}));
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = r.json().as_object();
  std::string token(body.at("token").as_string());
  EXPECT_EQ(token.size(), 43u);  // 256 bits, base64url without padding
  EXPECT_TRUE(body.at("expiresAt").is_string());
  EXPECT_EQ(body.at("user").at("id").as_string(), id);
  EXPECT_EQ(body.at("user").at("role").as_string(), "NURSE");
  EXPECT_EQ(body.at("user").at("active").as_bool(), true);
  EXPECT_EQ(body.at("user").as_object().if_contains("password"), nullptr);

  auto me = http_call(port(), verb::get, "/v1/me", {}, token);
  ASSERT_EQ(me.status, 200u);
  EXPECT_EQ(me.json().at("username").as_string(), "flow.nurse");
  EXPECT_EQ(me.json().at("organizationId").as_string(), station_id());

  auto out = http_call(port(), verb::post, "/v1/logout", {}, token);
  EXPECT_EQ(out.status, 204u);
  EXPECT_TRUE(out.body.empty());
  auto after = http_call(port(), verb::get, "/v1/me", {}, token);
  EXPECT_EQ(after.status, 401u);
  EXPECT_EQ(after.error_code(), "UNAUTHENTICATED");
}

TEST_F(Accounts, WrongPasswordAndUnknownUserLookTheSame) {
  create_user("same.answer", "NURSE", station_id(), "same-answer-password");
  auto wrong = http_call(port(), verb::post, "/v1/login",
                         js({{"username", "same.answer"}, {"password", "not-the-password"}}));
  auto unknown = http_call(port(), verb::post, "/v1/login",
                           js({{"username", "nobody.here"}, {"password", "not-the-password"}}));
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(unknown.status, 401u);
  EXPECT_EQ(wrong.error_code(), "INVALID_CREDENTIALS");
  EXPECT_EQ(wrong.body, unknown.body);
}

TEST_F(Accounts, FiveFailuresInAMinuteLockEvenTheRightPassword) {
  create_user("locked.out", "NURSE", station_id(), "locked-out-password");
  for (int i = 0; i < 5; ++i) {
    auto r = http_call(port(), verb::post, "/v1/login",
                       js({{"username", "locked.out"}, {"password", "wrong-password-x"}}));
    ASSERT_EQ(r.status, 401u) << "attempt " << i;
  }
  auto right = http_call(port(), verb::post, "/v1/login",
                         js({{"username", "locked.out"}, {"password", "locked-out-password"}}));
  EXPECT_EQ(right.status, 429u);
  EXPECT_EQ(right.error_code(), "TOO_MANY_ATTEMPTS");
  // Another username is not affected.
  create_user("not.locked", "NURSE", station_id(), "not-locked-password");
  EXPECT_FALSE(login(port(), "not.locked", "not-locked-password").empty());
}

TEST_F(Accounts, MissingBadAndRevokedTokensAre401) {
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me").status, 401u);
  auto bad = http_call(port(), verb::get, "/v1/me", {}, "not-a-real-token");
  EXPECT_EQ(bad.status, 401u);
  EXPECT_EQ(bad.error_code(), "UNAUTHENTICATED");
  auto basic =
      http_call(port(), verb::get, "/v1/me", {}, {}, {{"Authorization", "Basic YWRtaW46YWRtaW4="}});
  EXPECT_EQ(basic.status, 401u);
}

TEST_F(Accounts, RolesOtherThanAdminAre403OnAccountEndpoints) {
  create_user("plain.nurse", "NURSE", station_id(), "plain-nurse-password");
  create_user("center.staff", "STAFF", center_id(), "center-staff-password");
  for (const auto& [user, pass] : std::vector<std::pair<std::string, std::string>>{
           {"plain.nurse", "plain-nurse-password"}, {"center.staff", "center-staff-password"}}) {
    std::string token = login(port(), user, pass);
    ASSERT_FALSE(token.empty());
    EXPECT_EQ(http_call(port(), verb::get, "/v1/users", {}, token).status, 403u);
    EXPECT_EQ(http_call(port(), verb::get, "/v1/organizations", {}, token).status, 403u);
    EXPECT_EQ(http_call(port(), verb::get, "/v1/audit", {}, token).status, 403u);
    EXPECT_EQ(http_call(port(), verb::get, "/v1/audit/verify", {}, token).status, 403u);
    auto create = http_call(port(), verb::post, "/v1/organizations",
                            js({{"name", "X"}, {"kind", "CLINIC"}}), token);
    EXPECT_EQ(create.status, 403u);
    EXPECT_EQ(create.error_code(), "PERMISSION_DENIED");
    EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, token).status, 200u);
  }
}

TEST_F(Accounts, CreateUserValidation) {
  auto make = [&](json::object o) {
    return http_call(port(), verb::post, "/v1/users", js(o), admin_token());
  };
  json::object ok{{"username", "valid.user"},
                  {"password", "valid-user-password"},
                  {"displayName", "Valid"},
                  {"role", "NURSE"},
                  {"organizationId", station_id()}};
  auto weak = ok;
  weak["password"] = "short-pass1";  // 11 characters
  auto r = make(weak);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_code(), "WEAK_PASSWORD");
  EXPECT_EQ(r.json().at("error").at("field").as_string(), "password");

  auto no_org = ok;
  no_org["organizationId"] = "org_missing";
  r = make(no_org);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_code(), "INVALID_ARGUMENT");

  auto wrong_kind = ok;
  wrong_kind["role"] = "DOCTOR";  // doctors belong to the center
  r = make(wrong_kind);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_code(), "INVALID_ARGUMENT");

  auto no_role = ok;
  no_role.erase("role");
  EXPECT_EQ(make(no_role).status, 400u);

  auto bad_role = ok;
  bad_role["role"] = "SUPERUSER";
  EXPECT_EQ(make(bad_role).status, 400u);

  auto unknown = ok;
  unknown["isAdmin"] = true;
  r = make(unknown);
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.error_code(), "INVALID_ARGUMENT");

  auto bad_name = ok;
  bad_name["username"] = "a b";
  EXPECT_EQ(make(bad_name).status, 400u);

  r = make(ok);
  ASSERT_EQ(r.status, 201u) << r.body;
  EXPECT_EQ(r.json().at("active").as_bool(), true);
  EXPECT_EQ(r.json().as_object().if_contains("password"), nullptr);
  auto again = ok;
  again["username"] = "VALID.user";  // usernames are case-insensitive
  r = make(again);
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(r.error_code(), "ALREADY_EXISTS");

  auto list = http_call(port(), verb::get, "/v1/users", {}, admin_token());
  ASSERT_EQ(list.status, 200u);
  bool found = false;
  for (const auto& u : list.json().at("users").as_array()) {
    found = found || u.at("username").as_string() == "valid.user";
    EXPECT_EQ(u.as_object().if_contains("passwordHash"), nullptr);
  }
  EXPECT_TRUE(found);
}

TEST_F(Accounts, OrganizationsWithWebhookGetASecretShownOnce) {
  auto r = http_call(
      port(), verb::post, "/v1/organizations",
      js({{"name", "Clinic W"}, {"kind", "CLINIC"}, {"webhookUrl", "https://clinic.example/hook"}}),
      admin_token());
  ASSERT_EQ(r.status, 201u) << r.body;
  std::string secret(r.json().at("webhookSecret").as_string());
  EXPECT_GE(secret.size(), 32u);
  auto list = http_call(port(), verb::get, "/v1/organizations", {}, admin_token());
  for (const auto& o : list.json().at("organizations").as_array()) {
    EXPECT_EQ(o.as_object().if_contains("webhookSecret"), nullptr);
  }
  auto bad = http_call(port(), verb::post, "/v1/organizations",
                       js({{"name", "Clinic X"}, {"kind", "CLINIC"}, {"webhookUrl", "ftp://x"}}),
                       admin_token());
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.json().at("error").at("field").as_string(), "webhookUrl");
  auto no_kind =
      http_call(port(), verb::post, "/v1/organizations", js({{"name", "No kind"}}), admin_token());
  EXPECT_EQ(no_kind.status, 400u);
}

TEST_F(Accounts, DisablingAUserRevokesItsTokensAtOnce) {
  std::string id = create_user("to.disable", "NURSE", station_id(), "to-disable-password");
  std::string t1 = login(port(), "to.disable", "to-disable-password");
  std::string t2 = login(port(), "to.disable", "to-disable-password");
  ASSERT_EQ(http_call(port(), verb::get, "/v1/me", {}, t1).status, 200u);
  auto r = http_call(port(), verb::post, "/v1/users/" + id + "/disable", {}, admin_token());
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("active").as_bool(), false);
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, t1).status, 401u);
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, t2).status, 401u);
  auto again = http_call(port(), verb::post, "/v1/login",
                         js({{"username", "to.disable"}, {"password", "to-disable-password"}}));
  EXPECT_EQ(again.status, 401u);
  EXPECT_EQ(again.error_code(), "INVALID_CREDENTIALS");
  auto missing = http_call(port(), verb::post, "/v1/users/usr_nope/disable", {}, admin_token());
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.error_code(), "NOT_FOUND");
}

TEST_F(Accounts, IdempotencyKeyReplaysAndRejectsReuse) {
  json::object body{{"username", "idem.user"},
                    {"password", "idem-user-password"},
                    {"displayName", "Idem"},
                    {"role", "NURSE"},
                    {"organizationId", station_id()}};
  std::map<std::string, std::string> key{{"Idempotency-Key", "create-idem-user-1"}};
  auto first = http_call(port(), verb::post, "/v1/users", js(body), admin_token(), key);
  ASSERT_EQ(first.status, 201u) << first.body;
  auto second = http_call(port(), verb::post, "/v1/users", js(body), admin_token(), key);
  EXPECT_EQ(second.status, 201u);
  EXPECT_EQ(second.json().at("id"), first.json().at("id"));
  auto changed = body;
  changed["displayName"] = "Other";
  auto reused = http_call(port(), verb::post, "/v1/users", js(changed), admin_token(), key);
  EXPECT_EQ(reused.status, 422u);
  EXPECT_EQ(reused.error_code(), "IDEMPOTENCY_KEY_REUSED");
  // Only one user was created.
  auto list = http_call(port(), verb::get, "/v1/users", {}, admin_token());
  int count = 0;
  for (const auto& u : list.json().at("users").as_array()) {
    count += u.at("username").as_string() == "idem.user" ? 1 : 0;
  }
  EXPECT_EQ(count, 1);
}

TEST_F(Accounts, ConcurrentRetriesWithOneKeyCreateOnce) {
  json::object body{{"name", "Concurrent Org"}, {"kind", "HOSPITAL"}};
  std::map<std::string, std::string> key{{"Idempotency-Key", "concurrent-org-1"}};
  std::vector<std::thread> threads;
  std::vector<HttpResult> results(6);
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] = http_call(port(), verb::post, "/v1/organizations", js(body), admin_token(), key);
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  std::set<std::string> ids;
  for (const auto& r : results) {
    ASSERT_EQ(r.status, 201u) << r.body;
    ids.insert(std::string(r.json().at("id").as_string()));
  }
  EXPECT_EQ(ids.size(), 1u);
}

}  // namespace
}  // namespace oshin::testing
