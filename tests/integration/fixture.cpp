#include "fixture.hpp"

namespace oshin::testing {

std::unique_ptr<TempDir> ServerSuite::dir_;
std::unique_ptr<RunningServer> ServerSuite::server_;
std::unique_ptr<std::string> ServerSuite::admin_token_;
std::unique_ptr<std::string> ServerSuite::center_id_;
std::unique_ptr<std::string> ServerSuite::station_id_;

void ServerSuite::SetUpTestSuite() {
  dir_ = std::make_unique<TempDir>();
  server_ = std::make_unique<RunningServer>(start_server(dir_->path()));
  admin_token_ =
      std::make_unique<std::string>(login(port(), "admin", ServerProcess::kAdminPassword));
  ASSERT_FALSE(admin_token_->empty()) << server_->process->output();
  auto orgs = http_call(port(), bhttp::verb::get, "/v1/organizations", {}, admin_token());
  ASSERT_EQ(orgs.status, 200u);
  center_id_ = std::make_unique<std::string>(
      orgs.json().at("organizations").as_array().at(0).at("id").as_string());
  auto station =
      http_call(port(), bhttp::verb::post, "/v1/organizations",
                js({{"name", "Station A"}, {"kind", "VISITING_NURSE_STATION"}}), admin_token());
  ASSERT_EQ(station.status, 201u) << station.body;
  station_id_ = std::make_unique<std::string>(station.json().at("id").as_string());
}

void ServerSuite::TearDownTestSuite() {
  if (server_) {
    server_->process->terminate();
    server_->process->wait_exit();
  }
  server_.reset();
  dir_.reset();
  admin_token_.reset();
  center_id_.reset();
  station_id_.reset();
}

std::string ServerSuite::create_user(const std::string& username, const std::string& role,
                                     const std::string& org, const std::string& password) {
  auto r = http_call(port(), bhttp::verb::post, "/v1/users",
                     js({{"username", username},
                         {"password", password},
                         {"displayName", "User " + username},
                         {"role", role},
                         {"organizationId", org}}),
                     admin_token());
  EXPECT_EQ(r.status, 201u) << r.body;
  if (r.status != 201) {
    return "";
  }
  return std::string(r.json().at("id").as_string());
}

std::optional<unsigned short> restart_clocked(std::unique_ptr<ServerProcess>& process,
                                              const std::filesystem::path& config,
                                              const std::string& clock_start) {
  if (process) {
    process->terminate();
    const int code = process->wait_exit().value_or(-1);
    if (code != 0) {
      ADD_FAILURE() << "the server exited with " << code << ":\n" << process->output();
      return std::nullopt;
    }
  }
  ServerProcess::Options o;
  o.args = {"--config", config.string(), "--listen", "127.0.0.1:0", "--clock-start", clock_start};
  process = std::make_unique<ServerProcess>(o);
  auto port = process->wait_listening();
  if (!port) {
    ADD_FAILURE() << "the server did not listen:\n" << process->output();
  }
  return port;
}

}  // namespace oshin::testing
