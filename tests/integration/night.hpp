#pragma once

#include <boost/json.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "http_client.hpp"
#include "server_process.hpp"

namespace oshin::testing {

/// A whole center set up over the API on a real server: organizations, one account per role
/// (two doctors, drivers and nurses), two teams on shift, patients. Tokens are fresh logins.
class Night {
 public:
  /// Starts a server in `dir` with a config file made of `config` (serviceHours.always=true by
  /// default) and sets everything up. `webhook_urls` gives organizations (by key: "station",
  /// "office", "clinic", ...) a webhookUrl; their secrets are then in webhook_secret().
  /// `server_env` is added to the server's environment (e.g. an LD_PRELOAD fault shim).
  explicit Night(const std::filesystem::path& dir, boost::json::object config = {},
                 std::map<std::string, std::string> webhook_urls = {},
                 std::map<std::string, std::string> server_env = {});

  /// Restarts the server on the same data dir (after kill -9 or SIGTERM), keeping the config.
  void restart_after_kill();
  void restart_after_term();
  /// kill -9 and wait for the exit; start_server() brings it back on the same data dir.
  void kill_server();
  void start_server() { start(); }
  /// Stops the server (SIGTERM), sets the given top-level config keys and starts it again.
  void restart_with_config(const boost::json::object& changes);
  /// The environment added for the next start (start_server, restart_*).
  void set_server_env(std::map<std::string, std::string> env) { server_env_ = std::move(env); }

  unsigned short port() const { return server_.port; }
  ServerProcess& process() { return *server_.process; }

  /// POST/GET helpers with a named account's token.
  HttpResult post(const std::string& who, const std::string& target,
                  const boost::json::object& body,
                  const std::map<std::string, std::string>& headers = {});
  HttpResult post_empty(const std::string& who, const std::string& target);
  HttpResult get(const std::string& who, const std::string& target);

  /// Creates a patient whose care team is the station and the care office; returns its id.
  std::string make_patient(const std::string& name, double lat, double lon,
                           const std::string& primary = "primary1");
  /// Posts a visit request as `who`; returns the answer.
  HttpResult request_visit(const std::string& who, const std::string& patient_id,
                           const std::string& urgency = "URGENT",
                           const std::string& reason = "ACUTE_CHANGE");

  std::string token(const std::string& who) { return tokens_.at(who); }
  std::string id(const std::string& who) { return ids_.at(who); }
  std::string org(const std::string& name) { return orgs_.at(name); }
  std::string team_of(const std::string& doctor) { return teams_.at(doctor); }
  std::string webhook_secret(const std::string& org) { return webhook_secrets_.at(org); }
  std::filesystem::path dir() const { return dir_; }
  void relogin_all();

  static constexpr double kCenterLat = 35.6716;
  static constexpr double kCenterLon = 139.3950;

 private:
  void start();
  void setup();

  std::filesystem::path dir_;
  std::filesystem::path config_path_;
  boost::json::object config_;
  std::map<std::string, std::string> webhook_urls_;
  std::map<std::string, std::string> server_env_;
  std::map<std::string, std::string> webhook_secrets_;
  RunningServer server_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::string> ids_;
  std::map<std::string, std::string> passwords_;
  std::map<std::string, std::string> orgs_;
  std::map<std::string, std::string> teams_;
};

}  // namespace oshin::testing
