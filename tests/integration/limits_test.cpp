// Abuse limits on the real server: per-account and per-address request rates (429 with
// Retry-After), the failed-login lock's Retry-After, and the per-address connection cap.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

struct Server {
  TempDir dir;
  std::optional<ServerProcess> process;
  unsigned short port = 0;

  explicit Server(const json::object& limits) {
    auto config = dir.path() / "oshin.json";
    std::ofstream(config) << js({{"dataDir", (dir.path() / "data").string()}, {"limits", limits}});
    ServerProcess::Options o;
    o.args = {"--config", config.string(), "--listen", "127.0.0.1:0"};
    process.emplace(o);
    auto p = process->wait_listening();
    if (!p) {
      throw std::runtime_error("server did not start: " + process->output());
    }
    port = *p;
  }
};

TEST(Limits, AnAccountOverItsRateGets429WithRetryAfterOthersDoNot) {
  Server s({{"requestsPerSecondPerAccount", 0.5}, {"burstPerAccount", 3}});
  std::string admin = login(s.port, "admin", ServerProcess::kAdminPassword);
  ASSERT_FALSE(admin.empty());
  // The admin spends one request creating a second account.
  auto orgs = http_call(s.port, verb::get, "/v1/organizations", {}, admin);
  ASSERT_EQ(orgs.status, 200u);
  std::string center(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
  auto made = http_call(s.port, verb::post, "/v1/users",
                        js({{"username", "staff.a"},
                            {"password", "staff-a-password"},
                            {"displayName", "Staff A"},
                            {"role", "STAFF"},
                            {"organizationId", center}}),
                        admin);
  ASSERT_EQ(made.status, 201u) << made.body;
  // Two spent, one left at most (0.5 per second may have added a little).
  EXPECT_EQ(http_call(s.port, verb::get, "/v1/me", {}, admin).status, 200u);
  HttpResult limited;
  for (int i = 0; i < 3 && limited.status != 429; ++i) {
    limited = http_call(s.port, verb::get, "/v1/me", {}, admin);
  }
  ASSERT_EQ(limited.status, 429u);
  EXPECT_EQ(limited.error_code(), "RATE_LIMITED");
  int retry = std::stoi(limited.header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 2);
  // Another account is not held back by the first one's flood.
  std::string other = login(s.port, "staff.a", "staff-a-password");
  ASSERT_FALSE(other.empty());
  EXPECT_EQ(http_call(s.port, verb::get, "/v1/me", {}, other).status, 200u);
}

TEST(Limits, AnAddressOverItsRateGets429EvenOnPublicRoutes) {
  Server s({{"requestsPerSecondPerAddress", 0.2}, {"burstPerAddress", 4}});
  int ok = 0;
  HttpResult limited;
  for (int i = 0; i < 10 && limited.status != 429; ++i) {
    auto r = http_call(s.port, verb::get, "/healthz");
    if (r.status == 200) {
      ++ok;
    } else {
      limited = r;
    }
  }
  EXPECT_EQ(ok, 4);  // the burst, then nothing: 0.2 per second adds no token that fast
  ASSERT_EQ(limited.status, 429u);
  EXPECT_EQ(limited.error_code(), "RATE_LIMITED");
  EXPECT_GE(std::stoi(limited.header("retry-after")), 1);
}

TEST(Limits, TheFailedLoginLockSaysWhenToRetry) {
  Server s(json::object{});
  HttpResult r;
  for (int i = 0; i < 6; ++i) {
    r = http_call(s.port, verb::post, "/v1/login",
                  js({{"username", "admin"}, {"password", "wrong-password-" + std::to_string(i)}}));
  }
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.error_code(), "TOO_MANY_ATTEMPTS");
  EXPECT_EQ(r.header("retry-after"), "60");
}

TEST(Limits, ConnectionsPerAddressAreCapped) {
  Server s({{"maxConnectionsPerAddress", 2}});
  HttpClient a(s.port);
  HttpClient b(s.port);
  ASSERT_EQ(a.get("/healthz").status, 200u);
  ASSERT_EQ(b.get("/healthz").status, 200u);
  HttpClient c(s.port);
  auto refused = c.get("/healthz");
  EXPECT_EQ(refused.status, 0u);  // closed at accept, unanswered
  // The two keep-alive connections are still served.
  EXPECT_EQ(a.get("/healthz").status, 200u);
  EXPECT_EQ(b.get("/healthz").status, 200u);
}

}  // namespace
}  // namespace oshin::testing
