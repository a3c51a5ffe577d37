#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http_client.hpp"
#include "server_process.hpp"

namespace oshin::testing {

/// One real server per test suite (127.0.0.1:0, temp data dir), with an admin token and a
/// center and a nurse-station organization ready.
class ServerSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();

  static unsigned short port() { return server_->port; }
  static const std::string& admin_token() { return *admin_token_; }
  static const std::string& center_id() { return *center_id_; }
  static const std::string& station_id() { return *station_id_; }

  /// Creates a user with `role` in `org` and returns its id (fails the test otherwise).
  static std::string create_user(const std::string& username, const std::string& role,
                                 const std::string& org, const std::string& password);

  static std::unique_ptr<TempDir> dir_;
  static std::unique_ptr<RunningServer> server_;
  static std::unique_ptr<std::string> admin_token_;
  static std::unique_ptr<std::string> center_id_;
  static std::unique_ptr<std::string> station_id_;
};

/// JSON text of an object.
inline std::string js(const boost::json::object& o) {
  return boost::json::serialize(o);
}

/// Stops `process` when there is one (SIGTERM; a test failure unless it exits 0), then starts the
/// server with the config file `config` on 127.0.0.1:0 and its clock at `clock_start` (RFC 3339,
/// --clock-start) and waits until it listens. Returns the port; nullopt (with a test failure
/// showing the server's output) when the old one did not stop cleanly or the new one does not
/// listen.
std::optional<unsigned short> restart_clocked(std::unique_ptr<ServerProcess>& process,
                                              const std::filesystem::path& config,
                                              const std::string& clock_start);

}  // namespace oshin::testing
