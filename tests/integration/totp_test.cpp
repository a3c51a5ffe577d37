// TOTP second factor over real sockets: a server started with totp.enabled in its config file.
// Codes are computed here from the secret the server hands out, with the server's own TOTP code
// (oshin_totp) and this machine's clock, which the server (no --clock-start) shares. Each account
// spends at most two codes computed from one step s (s and s + 1): the server accepts both
// whether it reads its clock in step s or s + 1, so no test waits for the clock.
#include "oshin/app/totp.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

/// Codes of one secret, relative to the step current when it was made.
struct Codes {
  std::vector<unsigned char> key;
  std::int64_t step = 0;
  std::string at(int steps_ahead) const {
    return app::hotp(key, static_cast<std::uint64_t>(step + steps_ahead));
  }
  std::string wrong() const {
    std::string c = at(0);
    return c == "000000" || at(1) == "000000" || at(-1) == "000000" ? "999999" : "000000";
  }
};

Codes codes_of(const std::string& base32_secret) {
  auto key = app::base32_decode(base32_secret);
  EXPECT_TRUE(key) << base32_secret;
  return Codes{key.value_or(std::vector<unsigned char>{}),
               app::totp_step(std::chrono::system_clock::now())};
}

/// POST /v1/me/totp and check the answer's shape; returns the secret.
std::string start_enrolment(unsigned short port, const std::string& token,
                            const std::string& username) {
  auto r = http_call(port, verb::post, "/v1/me/totp", {}, token);
  EXPECT_EQ(r.status, 201u) << r.body;
  if (r.status != 201) {
    return "";
  }
  std::string secret(r.json().at("secret").as_string());
  EXPECT_EQ(secret.size(), 32u);  // 20 bytes, base32 without padding
  std::string uri(r.json().at("otpauthUri").as_string());
  EXPECT_EQ(uri.rfind("otpauth://totp/", 0), 0u) << uri;
  EXPECT_NE(uri.find(username), std::string::npos) << uri;
  EXPECT_NE(uri.find("secret=" + secret), std::string::npos) << uri;
  return secret;
}

/// Enrols and confirms with the code of step s; the returned codes' at(1) is still unused.
Codes enrol(unsigned short port, const std::string& token, const std::string& username) {
  std::string secret = start_enrolment(port, token, username);
  Codes c = codes_of(secret);
  auto r = http_call(port, verb::post, "/v1/me/totp/confirm", js({{"code", c.at(0)}}), token);
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json().at("totpEnabled").as_bool(), true) << r.body;
  return c;
}

HttpResult login_with(unsigned short port, const std::string& username, const std::string& password,
                      const std::string& code = {}) {
  json::object body{{"username", username}, {"password", password}};
  if (!code.empty()) {
    body["totp"] = code;
  }
  return http_call(port, verb::post, "/v1/login", js(body));
}

void write_totp_config(const std::filesystem::path& path) {
  std::ofstream(path) << R"({"totp": {"enabled": true}, "serviceHours": {"always": true}})";
}

/// A server with TOTP required for ADMIN and STAFF; its admin has enrolled in SetUpTestSuite.
class Totp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    write_totp_config(dir_->path() / "oshin.json");
    server_ = std::make_unique<RunningServer>(
        start_server(dir_->path() / "data", {"--config", (dir_->path() / "oshin.json").string()}));
    // The first admin must enrol before it can do anything else.
    auto r = login_with(port(), "admin", ServerProcess::kAdminPassword);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.json().at("totpEnrolmentRequired").as_bool(), true);
    admin_token_ = std::string(r.json().at("token").as_string());
    auto denied = http_call(port(), verb::get, "/v1/organizations", {}, admin_token_);
    EXPECT_EQ(denied.status, 403u);
    EXPECT_EQ(denied.error_code(), "TOTP_ENROLMENT_REQUIRED");
    enrol(port(), admin_token_, "admin");
    auto orgs = http_call(port(), verb::get, "/v1/organizations", {}, admin_token_);
    ASSERT_EQ(orgs.status, 200u) << orgs.body;
    center_id_ = std::string(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
    auto station =
        http_call(port(), verb::post, "/v1/organizations",
                  js({{"name", "Station T"}, {"kind", "VISITING_NURSE_STATION"}}), admin_token_);
    ASSERT_EQ(station.status, 201u) << station.body;
    station_id_ = std::string(station.json().at("id").as_string());
  }
  static void TearDownTestSuite() {
    if (server_) {
      server_->process->terminate();
      server_->process->wait_exit();
    }
    server_.reset();
    dir_.reset();
  }
  static unsigned short port() { return server_->port; }

  static std::string create_user(const std::string& username, const std::string& role) {
    auto r = http_call(port(), verb::post, "/v1/users",
                       js({{"username", username},
                           {"password", username + "-password"},
                           {"displayName", "User " + username},
                           {"role", role},
                           {"organizationId", role == "NURSE" ? station_id_ : center_id_}}),
                       admin_token_);
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? std::string(r.json().at("id").as_string()) : std::string();
  }
  static std::string token_of(const HttpResult& r) {
    EXPECT_EQ(r.status, 200u) << r.body;
    return r.status == 200 ? std::string(r.json().at("token").as_string()) : std::string();
  }
  /// Audit entries of an action whose actor or detail names the user.
  static std::vector<json::object> audit_of(const std::string& action, const std::string& user) {
    auto r = http_call(port(), verb::get, "/v1/audit?action=" + action, {}, admin_token_);
    EXPECT_EQ(r.status, 200u) << r.body;
    std::vector<json::object> out;
    for (const auto& e : r.json().at("entries").as_array()) {
      const auto& o = e.as_object();
      if (o.at("actorId").as_string() == user ||
          std::string_view(o.at("detail").as_string()).find(user) != std::string_view::npos) {
        out.push_back(o);
      }
    }
    return out;
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<RunningServer> server_;
  static inline std::string admin_token_;
  static inline std::string center_id_;
  static inline std::string station_id_;
};

TEST_F(Totp, EnrolConfirmThenLoginNeedsAFreshCode) {
  std::string id = create_user("totp.nurse", "NURSE");
  // NURSE is not a required role: a full session, TOTP is optional.
  auto first = login_with(port(), "totp.nurse", "totp.nurse-password");
  std::string token = token_of(first);
  EXPECT_EQ(first.json().at("totpEnrolmentRequired").as_bool(), false);

  std::string secret = start_enrolment(port(), token, "totp.nurse");
  Codes c = codes_of(secret);
  auto wrong =
      http_call(port(), verb::post, "/v1/me/totp/confirm", js({{"code", c.wrong()}}), token);
  EXPECT_EQ(wrong.status, 400u) << wrong.body;
  EXPECT_EQ(wrong.error_code(), "INVALID_ARGUMENT");
  EXPECT_EQ(wrong.json().at("error").at("field").as_string(), "code");
  auto ok = http_call(port(), verb::post, "/v1/me/totp/confirm", js({{"code", c.at(0)}}), token);
  ASSERT_EQ(ok.status, 200u) << ok.body;
  EXPECT_EQ(ok.json().at("totpEnabled").as_bool(), true);

  auto missing = login_with(port(), "totp.nurse", "totp.nurse-password");
  EXPECT_EQ(missing.status, 401u);
  EXPECT_EQ(missing.error_code(), "TOTP_REQUIRED");
  // A wrong password looks exactly like an unknown user, code or not: TOTP stays hidden.
  auto bad_pw = login_with(port(), "totp.nurse", "not-the-password", c.at(1));
  auto unknown = login_with(port(), "nobody.at.all", "not-the-password", c.at(1));
  EXPECT_EQ(bad_pw.status, 401u);
  EXPECT_EQ(bad_pw.body, unknown.body);
  EXPECT_EQ(login_with(port(), "totp.nurse", "not-the-password").body, unknown.body);
  // The confirm's code is spent; the next step's code opens a session once.
  auto replay_confirm = login_with(port(), "totp.nurse", "totp.nurse-password", c.at(0));
  EXPECT_EQ(replay_confirm.status, 401u);
  EXPECT_EQ(replay_confirm.error_code(), "INVALID_CREDENTIALS");
  auto in = login_with(port(), "totp.nurse", "totp.nurse-password", c.at(1));
  std::string full = token_of(in);
  EXPECT_EQ(in.json().at("user").at("totpEnabled").as_bool(), true);
  auto replay = login_with(port(), "totp.nurse", "totp.nurse-password", c.at(1));
  EXPECT_EQ(replay.status, 401u);
  EXPECT_EQ(replay.error_code(), "INVALID_CREDENTIALS");

  // The secret is never shown again.
  auto me = http_call(port(), verb::get, "/v1/me", {}, full);
  ASSERT_EQ(me.status, 200u);
  EXPECT_EQ(me.json().at("totpEnabled").as_bool(), true);
  EXPECT_EQ(me.body.find(secret), std::string::npos);
  auto users = http_call(port(), verb::get, "/v1/users", {}, admin_token_);
  EXPECT_EQ(users.body.find(secret), std::string::npos);
  EXPECT_EQ(server_->process->output().find(secret), std::string::npos);
  // Enrolling again while on is refused.
  auto again = http_call(port(), verb::post, "/v1/me/totp", {}, full);
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(again.error_code(), "CONFLICT");

  EXPECT_EQ(audit_of("totp.enrol", id).size(), 1u);
  auto confirms = audit_of("totp.confirm", id);
  ASSERT_EQ(confirms.size(), 2u);
  EXPECT_EQ(confirms[0].at("outcome").as_string(), "failed");
  EXPECT_EQ(confirms[1].at("outcome").as_string(), "ok");
  int totp_failed = 0;
  for (const auto& e : audit_of("login", id)) {
    totp_failed += e.at("outcome").as_string() == "totp_failed" ? 1 : 0;
  }
  EXPECT_EQ(totp_failed, 2);
}

TEST_F(Totp, FiveWrongCodesLockTheLogin) {
  create_user("totp.locked", "NURSE");
  std::string token = token_of(login_with(port(), "totp.locked", "totp.locked-password"));
  Codes c = enrol(port(), token, "totp.locked");
  for (int i = 0; i < 5; ++i) {
    auto r = login_with(port(), "totp.locked", "totp.locked-password", c.wrong());
    EXPECT_EQ(r.status, 401u) << i;
    EXPECT_EQ(r.error_code(), "INVALID_CREDENTIALS") << i;
  }
  auto right = login_with(port(), "totp.locked", "totp.locked-password", c.at(1));
  EXPECT_EQ(right.status, 429u);
  EXPECT_EQ(right.error_code(), "TOO_MANY_ATTEMPTS");
}

TEST_F(Totp, RequiredRoleWithoutEnrolmentMayOnlyEnrol) {
  create_user("totp.staff", "STAFF");
  auto r = login_with(port(), "totp.staff", "totp.staff-password");
  std::string token = token_of(r);
  EXPECT_EQ(r.json().at("totpEnrolmentRequired").as_bool(), true);
  EXPECT_EQ(r.json().at("user").at("totpEnabled").as_bool(), false);
  for (const auto& [method, target] :
       std::vector<std::pair<verb, std::string>>{{verb::get, "/v1/visits"},
                                                 {verb::get, "/v1/patients"},
                                                 {verb::get, "/v1/teams"},
                                                 {verb::post, "/v1/stream-tickets"},
                                                 {verb::get, "/v1/center"}}) {
    auto denied = http_call(port(), method, target, {}, token);
    EXPECT_EQ(denied.status, 403u) << target << " " << denied.body;
    EXPECT_EQ(denied.error_code(), "TOTP_ENROLMENT_REQUIRED") << target;
  }
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, token).status, 200u);
  Codes c = enrol(port(), token, "totp.staff");
  // The session that proved the code is a full one now.
  auto visits = http_call(port(), verb::get, "/v1/visits", {}, token);
  EXPECT_EQ(visits.status, 200u) << visits.body;
  // The next login needs a code like any enrolled account.
  EXPECT_EQ(login_with(port(), "totp.staff", "totp.staff-password").error_code(), "TOTP_REQUIRED");
  auto in = login_with(port(), "totp.staff", "totp.staff-password", c.at(1));
  std::string full = token_of(in);
  EXPECT_EQ(in.json().at("totpEnrolmentRequired").as_bool(), false);
  EXPECT_EQ(http_call(port(), verb::post, "/v1/logout", {}, full).status, 204u);
  EXPECT_EQ(http_call(port(), verb::post, "/v1/logout", {}, token).status, 204u);
}

TEST_F(Totp, AdminResetForALostPhone) {
  std::string id = create_user("totp.lost", "STAFF");
  std::string token = token_of(login_with(port(), "totp.lost", "totp.lost-password"));
  Codes c = enrol(port(), token, "totp.lost");
  std::string full = token_of(login_with(port(), "totp.lost", "totp.lost-password", c.at(1)));
  // Only ADMIN resets.
  auto by_staff = http_call(port(), verb::post, "/v1/users/" + id + "/totp/reset", {}, full);
  EXPECT_EQ(by_staff.status, 403u);
  EXPECT_EQ(by_staff.error_code(), "PERMISSION_DENIED");
  auto unknown = http_call(port(), verb::post, "/v1/users/usr_nobody/totp/reset", {}, admin_token_);
  EXPECT_EQ(unknown.status, 404u);
  auto reset = http_call(port(), verb::post, "/v1/users/" + id + "/totp/reset", {}, admin_token_);
  ASSERT_EQ(reset.status, 200u) << reset.body;
  EXPECT_EQ(reset.json().at("totpEnabled").as_bool(), false);
  // Its tokens are revoked; the password alone gives an enrolment-only session again.
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, full).status, 401u);
  EXPECT_EQ(http_call(port(), verb::get, "/v1/me", {}, token).status, 401u);
  auto again = login_with(port(), "totp.lost", "totp.lost-password");
  std::string restricted = token_of(again);
  EXPECT_EQ(again.json().at("totpEnrolmentRequired").as_bool(), true);
  EXPECT_EQ(http_call(port(), verb::get, "/v1/visits", {}, restricted).error_code(),
            "TOTP_ENROLMENT_REQUIRED");
  auto entries = audit_of("totp.reset", id);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].at("outcome").as_string(), "ok");
  EXPECT_EQ(entries[0].at("actorRole").as_string(), "ADMIN");
}

TEST(TotpRestart, KillNineAfterConfirmStillRequiresTheCode) {
  TempDir dir;
  write_totp_config(dir.path() / "oshin.json");
  std::vector<std::string> args{"--config", (dir.path() / "oshin.json").string()};
  auto server = start_server(dir.path() / "data", args);
  auto first = login_with(server.port, "admin", ServerProcess::kAdminPassword);
  ASSERT_EQ(first.status, 200u) << first.body;
  Codes c = enrol(server.port, std::string(first.json().at("token").as_string()), "admin");
  server.process->kill_hard();
  server.process->wait_exit();

  auto again = start_server(dir.path() / "data", args);
  auto missing = login_with(again.port, "admin", ServerProcess::kAdminPassword);
  EXPECT_EQ(missing.status, 401u) << missing.body;
  EXPECT_EQ(missing.error_code(), "TOTP_REQUIRED");
  // The step confirm used stays spent across the crash.
  EXPECT_EQ(login_with(again.port, "admin", ServerProcess::kAdminPassword, c.at(0)).error_code(),
            "INVALID_CREDENTIALS");
  auto in = login_with(again.port, "admin", ServerProcess::kAdminPassword, c.at(1));
  ASSERT_EQ(in.status, 200u) << in.body;
  EXPECT_EQ(in.json().at("totpEnrolmentRequired").as_bool(), false);
  auto orgs = http_call(again.port, verb::get, "/v1/organizations", {},
                        std::string(in.json().at("token").as_string()));
  EXPECT_EQ(orgs.status, 200u);
  again.process->terminate();
  EXPECT_EQ(again.process->wait_exit(), 0);
}

}  // namespace
}  // namespace oshin::testing
