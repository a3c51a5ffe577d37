// Retention over real restarts (--clock-start moves the server's clock): an Idempotency-Key is
// honoured for at least 24 h and forgotten after retention.idempotencyHours (48 by default), by
// the sweep right after start-up, which is audited and also erases sessions past their absolute
// expiry; a configuration asking for less than 24 h is refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fixture.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

class Retention : public ::testing::Test {
 protected:
  void write_config(const json::object& retention) {
    json::object config{{"dataDir", (dir_.path() / "data").string()},
                        {"serviceHours", {{"always", true}}}};
    if (!retention.empty()) {
      config["retention"] = retention;
    }
    config_path_ = dir_.path() / "oshin.json";
    std::ofstream(config_path_) << json::serialize(config);
  }

  /// Starts (or restarts after SIGTERM) the server with its clock at `start`; logs admin in.
  void run_at(const std::string& start) {
    auto port = restart_clocked(process_, config_path_, start);
    ASSERT_TRUE(port);
    port_ = *port;
    token_ = login(port_, "admin", ServerProcess::kAdminPassword);
  }

  HttpResult create_org(const std::string& name) {
    return http_call(port_, verb::post, "/v1/organizations",
                     js({{"name", name}, {"kind", "CLINIC"}}), token_,
                     {{"Idempotency-Key", "org-retention-1"}});
  }

  TempDir dir_;
  std::filesystem::path config_path_;
  std::unique_ptr<ServerProcess> process_;
  unsigned short port_ = 0;
  std::string token_;
};

TEST_F(Retention, AnIdempotencyKeyIsHonouredForItsWindowThenForgotten) {
  write_config({});
  ASSERT_NO_FATAL_FAILURE(run_at("2026-11-20T12:00:00Z"));
  auto first = create_org("Keyed clinic");
  ASSERT_EQ(first.status, 201u) << first.body;
  const auto first_id = first.json().at("id");

  // 25 hours later (past the 24 h API.md promises, inside the default 48 h): still the original.
  ASSERT_NO_FATAL_FAILURE(run_at("2026-11-21T13:00:00Z"));
  auto replayed = create_org("Keyed clinic");
  EXPECT_EQ(replayed.status, 201u) << replayed.body;
  EXPECT_EQ(replayed.json().at("id"), first_id);
  auto reused = create_org("Another clinic");
  EXPECT_EQ(reused.status, 422u) << reused.body;
  EXPECT_EQ(reused.error_code(), "IDEMPOTENCY_KEY_REUSED");

  // 48.5 hours after it was stored: the sweep right after start-up erases it (waited for by its
  // log line), so the key starts afresh.
  ASSERT_NO_FATAL_FAILURE(run_at("2026-11-22T12:30:00Z"));
  EXPECT_TRUE(process_->wait_output(
      "retention: erased 1 idempotency record(s), 0 delivered webhook record(s), 1 expired "
      "session(s)"))
      << process_->output();
  auto fresh = create_org("Another clinic");
  ASSERT_EQ(fresh.status, 201u) << fresh.body;
  EXPECT_NE(fresh.json().at("id"), first_id);

  // The erasures are in the audit log (also the session of the second run, 12 h past its
  // absolute expiry), and the chain still verifies.
  auto audit = http_call(port_, verb::get,
                         "/v1/audit?from=2026-11-22T00:00:00Z&to=2026-11-23T00:00:00Z", {}, token_);
  ASSERT_EQ(audit.status, 200u) << audit.body;
  std::vector<std::string> erasures;
  for (const auto& e : audit.json().at("entries").as_array()) {
    if (e.at("action").as_string() == "retention.erase") {
      EXPECT_EQ(e.at("actorId").as_string(), "system");
      erasures.emplace_back(e.at("detail").as_string());
    }
  }
  EXPECT_EQ(erasures, (std::vector<std::string>{"idempotency 1", "session 1"}));
  auto verify = http_call(port_, verb::get, "/v1/audit/verify", {}, token_);
  ASSERT_EQ(verify.status, 200u) << verify.body;
  EXPECT_TRUE(verify.json().at("ok").as_bool());
}

TEST_F(Retention, AWindowShorterThanADayIsRefusedAtStart) {
  write_config({{"idempotencyHours", 12}});
  ServerProcess::Options o;
  o.args = {"--config", config_path_.string(), "--listen", "127.0.0.1:0"};
  ServerProcess process(o);
  auto code = process.wait_exit();
  ASSERT_TRUE(code.has_value()) << process.output();
  EXPECT_NE(*code, 0);
  EXPECT_NE(process.output().find("retention.idempotencyHours"), std::string::npos)
      << process.output();
}

}  // namespace
}  // namespace oshin::testing
