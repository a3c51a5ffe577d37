// Process life: bootstrap, config precedence, graceful SIGTERM, kill -9 durability, audit chain
// tamper detection, demo seeding. Each test runs its own server(s) in its own temp dir.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "server_process.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

std::string js(const json::object& o) {
  return json::serialize(o);
}

std::string admin_login(unsigned short port) {
  return login(port, "admin", ServerProcess::kAdminPassword);
}

// A server on a free loopback port over `dir`, started by the test itself.
ServerProcess::Options in_dir(const TempDir& dir) {
  ServerProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--data-dir", dir.path().string()};
  return o;
}

std::string center_of(unsigned short port, const std::string& admin) {
  auto orgs = http_call(port, verb::get, "/v1/organizations", {}, admin);
  return std::string(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
}

TEST(Lifecycle, RefusesToStartWithoutAdminPasswordOrDemo) {
  TempDir dir;
  ServerProcess::Options o = in_dir(dir);
  o.inherit_admin_password = false;
  ServerProcess p(o);
  auto code = p.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(p.output().find("OSHIN_ADMIN_PASSWORD"), std::string::npos) << p.output();
}

TEST(Lifecycle, RefusesAWeakAdminPassword) {
  TempDir dir;
  ServerProcess::Options o = in_dir(dir);
  o.inherit_admin_password = false;
  o.env = {{"OSHIN_ADMIN_PASSWORD", "short"}};
  ServerProcess p(o);
  auto code = p.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
}

TEST(Lifecycle, SigtermDrainsAndExitsZero) {
  TempDir dir;
  auto s = start_server(dir.path());
  std::string admin = admin_login(s.port);
  ASSERT_FALSE(admin.empty());
  s.process->terminate();
  auto code = s.process->wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << s.process->output();
  // The data survives: the same admin logs in after a restart.
  auto again = start_server(dir.path());
  EXPECT_FALSE(admin_login(again.port).empty());
}

TEST(Lifecycle, ALogReaderThatGoesAwayDoesNotStopTheServer) {
  // stdout is a pipe whose reader closes it once the server listens (a log collector that
  // died): the server's log writes fail with EPIPE; SIGPIPE must not kill it.
  TempDir dir;
  ServerProcess::Options o = in_dir(dir);
  o.close_output_after_listening = true;
  ServerProcess p(o);
  auto port = p.wait_listening();
  ASSERT_TRUE(port.has_value()) << p.output();
  // Requests log lines into the broken pipe (written at the latest by the flush at the stop) ...
  std::string admin = admin_login(*port);
  ASSERT_FALSE(admin.empty());
  EXPECT_EQ(http_call(*port, verb::get, "/v1/organizations", {}, admin).status, 200u);
  EXPECT_EQ(http_call(*port, verb::post, "/v1/login",
                      js({{"username", "admin"}, {"password", "wrong-password-123"}}), {})
                .status,
            401u);
  EXPECT_EQ(http_call(*port, verb::get, "/v1/organizations", {}, admin).status, 200u);
  // ... and it still stops cleanly: killed by SIGPIPE it would exit 128 + 13.
  p.terminate();
  auto code = p.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

TEST(Lifecycle, ConfigFileIsReadAndFlagsOverrideIt) {
  TempDir dir;
  auto file_dir = dir.path() / "from-file";
  auto flag_dir = dir.path() / "from-flag";
  auto config = dir.path() / "oshin.json";
  {
    std::ofstream f(config);
    f << js({{"listen", "127.0.0.1:1"},
             {"dataDir", file_dir.string()},
             {"offerTimeoutSeconds", 45},
             {"serviceRadiusKm", 12.5}});
  }
  // --listen overrides the file's port 1 (which we could not bind); dataDir comes from the file.
  ServerProcess::Options o;
  o.args = {"--config", config.string(), "--listen", "127.0.0.1:0"};
  ServerProcess p(o);
  ASSERT_TRUE(p.wait_listening().has_value()) << p.output();
  EXPECT_TRUE(std::filesystem::exists(file_dir / "oshin.db"));
  p.terminate();
  ASSERT_EQ(p.wait_exit(), 0);

  // --data-dir overrides the file's dataDir.
  ServerProcess::Options o2;
  o2.args = {"--config",    config.string(), "--listen",
             "127.0.0.1:0", "--data-dir",    flag_dir.string()};
  ServerProcess p2(o2);
  ASSERT_TRUE(p2.wait_listening().has_value()) << p2.output();
  EXPECT_TRUE(std::filesystem::exists(flag_dir / "oshin.db"));
  p2.terminate();
  ASSERT_EQ(p2.wait_exit(), 0);
}

TEST(Lifecycle, BadConfigFileIsRefusedWithAMessage) {
  TempDir dir;
  auto config = dir.path() / "bad.json";
  {
    std::ofstream f(config);
    f << R"({"listen":"127.0.0.1:0","serviceRadiusKmm":16})";
  }
  ServerProcess::Options o;
  o.args = {"--config", config.string(), "--data-dir", dir.path().string()};
  ServerProcess p(o);
  auto code = p.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_NE(p.output().find("serviceRadiusKmm"), std::string::npos) << p.output();
}

TEST(Lifecycle, UnknownFlagIsRefused) {
  ServerProcess::Options o;
  o.args = {"--no-such-flag"};
  ServerProcess p(o);
  auto code = p.wait_exit();
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
}

TEST(Lifecycle, KillNineKeepsEveryAcknowledgedAccount) {
  TempDir dir;
  auto s = start_server(dir.path());
  std::string admin = admin_login(s.port);
  std::string center = center_of(s.port, admin);
  auto station = http_call(s.port, verb::post, "/v1/organizations",
                           js({{"name", "S"}, {"kind", "VISITING_NURSE_STATION"}}), admin);
  ASSERT_EQ(station.status, 201u);
  std::string station_id(station.json().at("id").as_string());

  // Four writers create accounts as fast as they can; the server is killed mid-stream.
  std::mutex m;
  std::set<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        std::string name = "k9.w" + std::to_string(w) + "." + std::to_string(i);
        auto r = http_call(s.port, verb::post, "/v1/users",
                           js({{"username", name},
                               {"password", "kill-nine-password"},
                               {"displayName", name},
                               {"role", "NURSE"},
                               {"organizationId", station_id}}),
                           admin);
        if (r.status == 201) {
          std::lock_guard lock(m);
          acknowledged.insert(name);
          created.fetch_add(1);
        } else if (r.status == 0) {
          return;  // the server is gone
        }
      }
    });
  }
  // Kill once a good number of accounts were acknowledged.
  {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (created.load() < 40 && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
  }
  s.process->kill_hard();
  ASSERT_EQ(s.process->wait_exit(), 128 + 9);
  stop = true;
  for (auto& t : writers) {
    t.join();
  }
  ASSERT_GE(acknowledged.size(), 40u);

  auto again = start_server(dir.path());
  std::string admin2 = admin_login(again.port);
  ASSERT_FALSE(admin2.empty());
  auto users = http_call(again.port, verb::get, "/v1/users", {}, admin2);
  ASSERT_EQ(users.status, 200u);
  std::set<std::string> present;
  for (const auto& u : users.json().at("users").as_array()) {
    present.insert(std::string(u.at("username").as_string()));
  }
  for (const auto& name : acknowledged) {
    EXPECT_TRUE(present.count(name)) << name << " was answered 201 but is gone";
  }
  // And they can log in.
  EXPECT_FALSE(login(again.port, *acknowledged.begin(), "kill-nine-password").empty());
  auto verify = http_call(again.port, verb::get, "/v1/audit/verify", {}, admin2);
  EXPECT_EQ(verify.json().at("ok").as_bool(), true) << verify.body;
}

TEST(Lifecycle, TokensSurviveARestart) {
  TempDir dir;
  std::string admin;
  {
    auto s = start_server(dir.path());
    admin = admin_login(s.port);
    s.process->kill_hard();
    s.process->wait_exit();
  }
  auto again = start_server(dir.path());
  EXPECT_EQ(http_call(again.port, verb::get, "/v1/me", {}, admin).status, 200u);
  // A logout before the crash stays a logout.
  EXPECT_EQ(http_call(again.port, verb::post, "/v1/logout", {}, admin).status, 204u);
  again.process->kill_hard();
  again.process->wait_exit();
  auto third = start_server(dir.path());
  EXPECT_EQ(http_call(third.port, verb::get, "/v1/me", {}, admin).status, 401u);
}

TEST(Lifecycle, AuditRecordsAccountActionsAndVerifyDetectsAnEditedRow) {
  TempDir dir;
  {
    auto s = start_server(dir.path());
    std::string admin = admin_login(s.port);
    std::string center = center_of(s.port, admin);
    auto u = http_call(s.port, verb::post, "/v1/users",
                       js({{"username", "audited.staff"},
                           {"password", "audited-staff-pass"},
                           {"displayName", "A"},
                           {"role", "STAFF"},
                           {"organizationId", center}}),
                       admin);
    ASSERT_EQ(u.status, 201u) << u.body;
    login(s.port, "audited.staff", "wrong-password-here");
    auto audit = http_call(s.port, verb::get, "/v1/audit", {}, admin);
    ASSERT_EQ(audit.status, 200u);
    std::set<std::string> actions;
    std::map<std::string, int> outcomes;
    for (const auto& e : audit.json().at("entries").as_array()) {
      actions.insert(std::string(e.at("action").as_string()));
      if (e.at("action").as_string() == "login") {
        outcomes[std::string(e.at("outcome").as_string())]++;
      }
      EXPECT_EQ(e.at("hash").as_string().size(), 64u);
    }
    EXPECT_TRUE(actions.count("user.create"));
    EXPECT_TRUE(actions.count("login"));
    EXPECT_TRUE(actions.count("organization.create"));
    EXPECT_GE(outcomes["ok"], 1);
    EXPECT_GE(outcomes["failed"], 1);
    // Secrets never reach the audit log.
    EXPECT_EQ(audit.body.find("audited-staff-pass"), std::string::npos);
    EXPECT_EQ(audit.body.find(admin), std::string::npos);

    auto from = http_call(s.port, verb::get, "/v1/audit?from=2199-01-01T00:00:00Z", {}, admin);
    ASSERT_EQ(from.status, 200u);
    EXPECT_TRUE(from.json().at("entries").as_array().empty());
    EXPECT_EQ(http_call(s.port, verb::get, "/v1/audit?from=yesterday", {}, admin).status, 400u);
    EXPECT_EQ(http_call(s.port, verb::get, "/v1/audit?from=3000-01-01T00:00:00Z", {}, admin).status,
              400u);

    auto ok = http_call(s.port, verb::get, "/v1/audit/verify", {}, admin);
    ASSERT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.json().at("ok").as_bool(), true);
    EXPECT_GE(ok.json().at("entries").as_int64(), 4);
    s.process->terminate();
    ASSERT_EQ(s.process->wait_exit(), 0);
  }
  // Someone with file access edits one stored row (dropping the guard trigger first).
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() / "oshin.db").string().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    std::string sql;
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT name FROM sqlite_master WHERE type='trigger' AND "
                                 "tbl_name='audit'",
                                 -1, &st, nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      sql += "DROP TRIGGER " +
             std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) + ";";
    }
    sqlite3_finalize(st);
    sql += "UPDATE audit SET outcome='ok' WHERE action='login' AND outcome='failed';";
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    EXPECT_GE(sqlite3_changes(db), 1);
    sqlite3_close(db);
  }
  auto s = start_server(dir.path());
  std::string admin = admin_login(s.port);
  auto bad = http_call(s.port, verb::get, "/v1/audit/verify", {}, admin);
  ASSERT_EQ(bad.status, 200u);
  EXPECT_EQ(bad.json().at("ok").as_bool(), false) << bad.body;
}

TEST(Lifecycle, DemoSeedsLoginsForEveryRole) {
  TempDir dir;
  ServerProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--data-dir", dir.path().string(), "--demo"};
  o.inherit_admin_password = false;
  ServerProcess p(o);
  auto port = p.wait_listening();
  ASSERT_TRUE(port.has_value()) << p.output();
  ASSERT_TRUE(p.wait_output("primary1"));
  std::string out = p.output();
  EXPECT_NE(out.find("http://127.0.0.1:" + std::to_string(*port)), std::string::npos);
  std::set<std::string> roles;
  for (const char* user : {"staff1", "nurse1", "caremanager1", "doctor1", "driver1", "primary1"}) {
    std::string password = std::string(user) + "-demo-pass";
    ASSERT_NE(out.find(password), std::string::npos) << user;
    std::string token = login(*port, user, password);
    ASSERT_FALSE(token.empty()) << user;
    auto me = http_call(*port, verb::get, "/v1/me", {}, token);
    roles.insert(std::string(me.json().at("role").as_string()));
  }
  EXPECT_EQ(roles.size(), 6u);
  p.terminate();
  EXPECT_EQ(p.wait_exit(), 0);
  // A second start with --demo seeds nothing twice.
  ServerProcess p2(o);
  auto port2 = p2.wait_listening();
  ASSERT_TRUE(port2.has_value()) << p2.output();
  auto admin_pw_pos = out.find("created account admin with password ");
  ASSERT_NE(admin_pw_pos, std::string::npos);
  std::string token = login(*port2, "staff1", "staff1-demo-pass");
  ASSERT_FALSE(token.empty());
}

}  // namespace
}  // namespace oshin::testing
