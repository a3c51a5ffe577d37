#include "night.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <stdexcept>

namespace oshin::testing {

namespace json = boost::json;
using bhttp::verb;

namespace {

std::string iso(std::chrono::system_clock::time_point t) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

Night::Night(const std::filesystem::path& dir, json::object config,
             std::map<std::string, std::string> webhook_urls,
             std::map<std::string, std::string> server_env)
    : dir_(dir), webhook_urls_(std::move(webhook_urls)), server_env_(std::move(server_env)) {
  if (!config.contains("serviceHours")) {
    config["serviceHours"] = json::object{{"always", true}};
  }
  config["dataDir"] = (dir / "data").string();
  config_path_ = dir / "oshin.json";
  config_ = std::move(config);
  std::ofstream(config_path_) << json::serialize(config_);
  start();
  setup();
}

void Night::restart_with_config(const json::object& changes) {
  server_.process->terminate();
  server_.process->wait_exit();
  for (const auto& [key, value] : changes) {
    config_[key] = value;
  }
  std::ofstream(config_path_, std::ios::trunc) << json::serialize(config_);
  start();
}

void Night::start() {
  ServerProcess::Options o;
  o.args = {"--config", config_path_.string(), "--listen", "127.0.0.1:0"};
  o.env = server_env_;
  server_.process = std::make_unique<ServerProcess>(o);
  auto port = server_.process->wait_listening();
  if (!port) {
    throw std::runtime_error("server did not start:\n" + server_.process->output());
  }
  server_.port = *port;
}

void Night::restart_after_kill() {
  server_.process->kill_hard();
  server_.process->wait_exit();
  start();
}

void Night::kill_server() {
  server_.process->kill_hard();
  server_.process->wait_exit();
}

void Night::restart_after_term() {
  server_.process->terminate();
  server_.process->wait_exit();
  start();
}

void Night::relogin_all() {
  for (const auto& [who, pw] : passwords_) {
    tokens_[who] = login(port(), who, pw);
  }
}

HttpResult Night::post(const std::string& who, const std::string& target, const json::object& body,
                       const std::map<std::string, std::string>& headers) {
  return http_call(port(), verb::post, target, json::serialize(body), tokens_.at(who), headers);
}

HttpResult Night::post_empty(const std::string& who, const std::string& target) {
  return http_call(port(), verb::post, target, {}, tokens_.at(who));
}

HttpResult Night::get(const std::string& who, const std::string& target) {
  return http_call(port(), verb::get, target, {}, tokens_.at(who));
}

void Night::setup() {
  passwords_["admin"] = ServerProcess::kAdminPassword;
  tokens_["admin"] = login(port(), "admin", ServerProcess::kAdminPassword);
  auto orgs = get("admin", "/v1/organizations");
  orgs_["center"] =
      std::string(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
  auto make_org = [&](const std::string& key, const std::string& name, const std::string& kind) {
    json::object body{{"name", name}, {"kind", kind}};
    auto url = webhook_urls_.find(key);
    if (url != webhook_urls_.end()) {
      body["webhookUrl"] = url->second;
    }
    auto r = post("admin", "/v1/organizations", body);
    if (r.status != 201) {
      throw std::runtime_error("org: " + r.body);
    }
    orgs_[key] = std::string(r.json().at("id").as_string());
    if (url != webhook_urls_.end()) {
      webhook_secrets_[key] = std::string(r.json().at("webhookSecret").as_string());
    }
  };
  make_org("station", "Station A", "VISITING_NURSE_STATION");
  make_org("station2", "Station B", "VISITING_NURSE_STATION");
  make_org("office", "Care Office", "CARE_MANAGEMENT_OFFICE");
  make_org("clinic", "Home Clinic", "CLINIC");
  struct U {
    const char* name;
    const char* role;
    const char* org;
  };
  for (const U& u : {U{"staff1", "STAFF", "center"}, U{"nurse1", "NURSE", "station"},
                     U{"nurse2", "NURSE", "station"}, U{"othernurse", "NURSE", "station2"},
                     U{"cm1", "CARE_MANAGER", "office"}, U{"doctor1", "DOCTOR", "center"},
                     U{"doctor2", "DOCTOR", "center"}, U{"driver1", "DRIVER", "center"},
                     U{"driver2", "DRIVER", "center"}, U{"primary1", "PRIMARY_DOCTOR", "clinic"},
                     U{"primary2", "PRIMARY_DOCTOR", "clinic"}}) {
    std::string pw = std::string(u.name) + "-test-password";
    auto r = post("admin", "/v1/users",
                  {{"username", u.name},
                   {"password", pw},
                   {"displayName", u.name},
                   {"role", u.role},
                   {"organizationId", orgs_.at(u.org)}});
    if (r.status != 201) {
      throw std::runtime_error("user: " + r.body);
    }
    ids_[u.name] = std::string(r.json().at("id").as_string());
    passwords_[u.name] = pw;
    tokens_[u.name] = login(port(), u.name, pw);
  }
  auto now = std::chrono::system_clock::now();
  for (int i = 1; i <= 2; ++i) {
    std::string n = std::to_string(i);
    // Team 1 waits at the center; team 2 a few kilometres west, so team 1 is nearer to
    // patients near the center.
    auto r = post("staff1", "/v1/teams",
                  {{"doctorId", ids_.at("doctor" + n)},
                   {"driverId", ids_.at("driver" + n)},
                   {"vehicle", "car " + n},
                   {"shiftStart", iso(now - std::chrono::hours(1))},
                   {"shiftEnd", iso(now + std::chrono::hours(12))},
                   {"base", {{"lat", kCenterLat}, {"lon", kCenterLon - (i == 1 ? 0.0 : 0.05)}}},
                   {"skills", json::array{}}});
    if (r.status != 201) {
      throw std::runtime_error("team: " + r.body);
    }
    teams_["doctor" + n] = std::string(r.json().at("id").as_string());
  }
}

std::string Night::make_patient(const std::string& name, double lat, double lon,
                                const std::string& primary) {
  auto r = post("nurse1", "/v1/patients",
                {{"name", name},
                 {"birthDate", "1938-04-02"},
                 {"sex", "FEMALE"},
                 {"address", "Hino-shi 1-2-3"},
                 {"location", {{"lat", lat}, {"lon", lon}}},
                 {"primaryDoctorId", ids_.at(primary)},
                 {"careTeamOrganizationIds", json::array{orgs_.at("station"), orgs_.at("office")}},
                 {"sharingConsent", true},
                 {"allergies", "penicillin"},
                 {"advanceCarePlan", "stay home"},
                 {"eligibility", {{"lastScheduledVisitDate", "2026-11-01"}}}});
  if (r.status != 201) {
    throw std::runtime_error("patient: " + r.body);
  }
  return std::string(r.json().at("id").as_string());
}

HttpResult Night::request_visit(const std::string& who, const std::string& patient_id,
                                const std::string& urgency, const std::string& reason) {
  return post(who, "/v1/visits",
              {{"patientId", patient_id},
               {"urgency", urgency},
               {"reason", reason},
               {"chiefComplaint", "fever 39C, short of breath"},
               {"vitals", {{"temperatureC", 39.1}, {"spo2", 91}, {"pulse", 110}}},
               {"lifeThreatening", false},
               {"notes", "lives alone"}});
}

}  // namespace oshin::testing
