// oshin-sim replay and staffing --data-dir end to end: a night run through the real server on a
// chosen clock (--clock-start, one restart per jump), the server stopped, then its data dir
// replayed. With the server's policy the replay must reproduce the recorded arrival of every
// visit to the millisecond: the replay takes the recorded human delays (answer, depart, travel
// when the same team leaves from the same place, time on site) from the core log, so only the
// dispatcher's decisions are recomputed, and the dispatcher is deterministic. Other policies and
// team counts must run and print.
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fixture.hpp"
#include "http_client.hpp"
#include "server_process.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;
using google::protobuf::util::TimeUtil;
using Time = std::chrono::system_clock::time_point;

constexpr double kCenterLat = 35.6716;
constexpr double kCenterLon = 139.3950;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

Time parse_time(const std::string& rfc3339) {
  google::protobuf::Timestamp ts;
  if (!TimeUtil::FromString(rfc3339, &ts)) {
    throw std::runtime_error("bad time " + rfc3339);
  }
  return Time(std::chrono::milliseconds(TimeUtil::TimestampToMilliseconds(ts)));
}

std::string iso(Time t) {
  return TimeUtil::ToString(TimeUtil::MillisecondsToTimestamp(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()));
}

/// Runs oshin-sim with `args`; returns the exit code, stdout and stderr.
struct SimRun {
  int code = -1;
  std::string out;
  std::string err;
};
SimRun run_sim(const std::filesystem::path& dir, const std::string& args) {
  const auto out_path = dir / "sim.out";
  const auto err_path = dir / "sim.err";
  const std::string cmd = std::string(OSHIN_SIM_PATH) + " " + args + " > " + out_path.string() +
                          " 2> " + err_path.string();
  const int status = std::system(cmd.c_str());
  SimRun r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  return r;
}

/// A center on a server whose clock starts at a chosen instant (as in reports_test.cpp).
class ClockedCenter {
 public:
  ClockedCenter(const std::filesystem::path& dir, const std::string& policy) : dir_(dir) {
    json::object config{
        {"dataDir", (dir / "data").string()},
        {"serviceHours", {{"always", true}}},
        {"offerTimeoutSeconds", 600},
        {"dispatchPolicy", policy},
        {"sessions", {{"idleTimeoutSeconds", 3000000}, {"absoluteTimeoutSeconds", 3000000}}}};
    config_path_ = dir / "oshin.json";
    std::ofstream(config_path_) << json::serialize(config);
  }

  std::filesystem::path config_path() const { return config_path_; }
  std::filesystem::path data_dir() const { return dir_ / "data"; }

  void run_at(const std::string& start) {
    auto port = restart_clocked(process_, config_path_, start);
    ASSERT_TRUE(port);
    port_ = *port;
    now_ = parse_time(start);
  }

  void stop() {
    if (process_) {
      process_->terminate();
      ASSERT_EQ(process_->wait_exit().value_or(-1), 0) << process_->output();
      process_.reset();
    }
  }

  HttpResult post(const std::string& who, const std::string& target, const json::object& body) {
    return http_call(port_, verb::post, target, json::serialize(body), tokens_.at(who));
  }
  HttpResult get(const std::string& who, const std::string& target) {
    return http_call(port_, verb::get, target, {}, tokens_.at(who));
  }

  void setup() {
    tokens_["admin"] = login(port_, "admin", ServerProcess::kAdminPassword);
    auto orgs = get("admin", "/v1/organizations");
    ASSERT_EQ(orgs.status, 200u) << orgs.body;
    orgs_["center"] =
        std::string(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
    for (auto [key, kind] :
         {std::pair{"station", "VISITING_NURSE_STATION"}, std::pair{"clinic", "CLINIC"}}) {
      auto r = post("admin", "/v1/organizations", {{"name", key}, {"kind", kind}});
      ASSERT_EQ(r.status, 201u) << r.body;
      orgs_[key] = str(r.json().at("id"));
    }
    for (auto [name, role, org] :
         {std::tuple{"staff1", "STAFF", "center"}, std::tuple{"nurse1", "NURSE", "station"},
          std::tuple{"doctor1", "DOCTOR", "center"}, std::tuple{"doctor2", "DOCTOR", "center"},
          std::tuple{"driver1", "DRIVER", "center"}, std::tuple{"driver2", "DRIVER", "center"},
          std::tuple{"primary1", "PRIMARY_DOCTOR", "clinic"}}) {
      std::string pw = std::string(name) + "-test-password";
      auto r = post("admin", "/v1/users",
                    {{"username", name},
                     {"password", pw},
                     {"displayName", std::string("Dr/Mr ") + name},
                     {"role", role},
                     {"organizationId", orgs_.at(org)}});
      ASSERT_EQ(r.status, 201u) << r.body;
      ids_[name] = str(r.json().at("id"));
      tokens_[name] = login(port_, name, pw);
      ASSERT_FALSE(tokens_[name].empty());
    }
  }

  std::string patient(const std::string& name, double lat, double lon) {
    auto r = post("nurse1", "/v1/patients",
                  {{"name", name},
                   {"birthDate", "1938-04-02"},
                   {"sex", "FEMALE"},
                   {"address", "Hino-shi 1-2-3"},
                   {"location", {{"lat", lat}, {"lon", lon}}},
                   {"primaryDoctorId", ids_.at("primary1")},
                   {"careTeamOrganizationIds", json::array{orgs_.at("station")}},
                   {"sharingConsent", true}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  }

  std::string team(const std::string& doctor, const std::string& driver) {
    auto r = post("staff1", "/v1/teams",
                  {{"doctorId", ids_.at(doctor)},
                   {"driverId", ids_.at(driver)},
                   {"vehicle", "car of " + doctor},
                   {"shiftStart", iso(now_ - std::chrono::hours(1))},
                   {"shiftEnd", iso(now_ + std::chrono::hours(12))},
                   {"base", {{"lat", kCenterLat}, {"lon", kCenterLon}}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  }

  std::string request(const std::string& patient_id, const std::string& urgency) {
    auto r = post("nurse1", "/v1/visits",
                  {{"patientId", patient_id},
                   {"urgency", urgency},
                   {"reason", "ACUTE_CHANGE"},
                   {"chiefComplaint", "breathing changed"},
                   {"lifeThreatening", false}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  }

  /// Whichever doctor holds the pending offer of `visit_id` accepts it; returns that doctor.
  std::string accept(const std::string& visit_id) {
    for (const char* doctor : {"doctor1", "doctor2"}) {
      auto offers = get(doctor, "/v1/offers");
      EXPECT_EQ(offers.status, 200u) << offers.body;
      for (const auto& o : offers.json().at("offers").as_array()) {
        if (str(o.at("visitId")) == visit_id) {
          auto r = post(doctor, "/v1/offers/" + str(o.at("id")) + "/accept", {});
          EXPECT_EQ(r.status, 200u) << r.body;
          return doctor;
        }
      }
    }
    ADD_FAILURE() << "no offer for " << visit_id;
    return {};
  }

  void step(const std::string& who, const std::string& visit_id, const std::string& what) {
    auto r = post(who, "/v1/visits/" + visit_id + "/" + what, {});
    ASSERT_EQ(r.status, 200u) << what << " " << r.body;
  }

  /// When the visit reached `status`, from its recorded history.
  std::optional<Time> reached(const std::string& visit_id, const std::string& status) {
    auto r = get("staff1", "/v1/visits/" + visit_id);
    EXPECT_EQ(r.status, 200u) << r.body;
    for (const auto& h : r.json().at("history").as_array()) {
      if (str(h.at("status")) == status) {
        return parse_time(str(h.at("at")));
      }
    }
    return std::nullopt;
  }

  ~ClockedCenter() {
    if (process_) {
      process_->terminate();
      (void)process_->wait_exit();
    }
  }

 private:
  std::filesystem::path dir_;
  std::filesystem::path config_path_;
  std::unique_ptr<ServerProcess> process_;
  unsigned short port_ = 0;
  Time now_;
  std::map<std::string, std::string> tokens_;
  std::map<std::string, std::string> ids_;
  std::map<std::string, std::string> orgs_;
};

const json::object& run_of(const json::value& report, const std::string& source,
                           std::int64_t teams) {
  for (const auto& run : report.at("runs").as_array()) {
    if (str(run.at("source")) == source && run.at("teams").to_number<std::int64_t>() == teams) {
      return run.as_object();
    }
  }
  throw std::runtime_error("no run " + source);
}

class Replay : public ::testing::TestWithParam<std::string> {};

TEST_P(Replay, RecordedNightReplayedWithTheServersPolicyReproducesTheRecordedArrivals) {
  const std::string policy = GetParam();
  TempDir dir;
  ClockedCenter c(dir.path(), policy);
  // Friday 2026-11-20, 21:00 JST: two teams, three visits; the third waits for a free team.
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-20T21:00:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.setup());
  const std::string p1 = c.patient("Hanako Yamada", kCenterLat + 0.02, kCenterLon + 0.01);
  const std::string p2 = c.patient("Taro Sato", kCenterLat - 0.015, kCenterLon + 0.03);
  const std::string p3 = c.patient("Jiro Suzuki", kCenterLat + 0.01, kCenterLon - 0.02);
  c.team("doctor1", "driver1");
  c.team("doctor2", "driver2");
  const std::string v1 = c.request(p1, "URGENT");
  const std::string d1 = c.accept(v1);
  ASSERT_NO_FATAL_FAILURE(c.step(d1, v1, "depart"));
  const std::string v2 = c.request(p2, "SOON");
  const std::string d2 = c.accept(v2);
  ASSERT_NE(d1, d2);
  ASSERT_NO_FATAL_FAILURE(c.step(d2, v2, "depart"));
  // 21:14: the first team arrives; a third request waits (both teams busy).
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-20T21:14:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.step(d1, v1, "arrive"));
  const std::string v3 = c.request(p3, "URGENT");
  // 21:31: the second team arrives, the first completes and takes the waiting visit.
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-20T21:31:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.step(d2, v2, "arrive"));
  ASSERT_NO_FATAL_FAILURE(c.step(d1, v1, "complete"));
  const std::string d3 = c.accept(v3);
  ASSERT_NO_FATAL_FAILURE(c.step(d3, v3, "depart"));
  // 21:52: everyone is on site and done.
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-20T21:52:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.step(d3, v3, "arrive"));
  ASSERT_NO_FATAL_FAILURE(c.step(d2, v2, "complete"));
  ASSERT_NO_FATAL_FAILURE(c.step(d3, v3, "complete"));
  std::map<std::string, Time> on_site;
  for (const std::string& v : {v1, v2, v3}) {
    auto at = c.reached(v, "ON_SITE");
    ASSERT_TRUE(at) << v;
    on_site[v] = *at;
  }
  ASSERT_NO_FATAL_FAILURE(c.stop());

  const std::string window = "--data-dir " + c.data_dir().string() +
                             " --from 2026-11-20T20:00:00+09:00 --to 2026-11-21T08:00:00+09:00" +
                             " --config " + c.config_path().string();
  auto slurp = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  };
  const std::string store_before = slurp(c.data_dir() / "oshin.db");
  const SimRun same = run_sim(dir.path(), "replay " + window + " --policy " + policy + " --json");
  ASSERT_EQ(same.code, 0) << same.err;
  const json::value report = json::parse(same.out);
  EXPECT_EQ(str(report.at("serverPolicy")), policy);
  const json::object& recorded = run_of(report, "recorded", 2);
  const json::object& replayed = run_of(report, policy, 2);
  EXPECT_TRUE(replayed.at("serverPolicy").as_bool());
  const auto& rec_visits = recorded.at("visits").as_array();
  const auto& rep_visits = replayed.at("visits").as_array();
  ASSERT_EQ(rec_visits.size(), 3u);
  ASSERT_EQ(rep_visits.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string id = str(rec_visits[i].at("visit"));
    ASSERT_EQ(on_site.count(id), 1u) << id;
    // What the replay calls recorded is what the server's API recorded (the API prints the
    // instant to the millisecond or coarser, so compare within its resolution).
    const Time logged = parse_time(str(rec_visits[i].at("arrivedAt")));
    EXPECT_LT(std::chrono::abs(logged - on_site[id]), std::chrono::seconds(1)) << id;
    // The replay with the server's policy: the same team, the same instant, to the millisecond.
    EXPECT_EQ(str(rep_visits[i].at("visit")), id);
    EXPECT_EQ(rep_visits[i].at("team"), rec_visits[i].at("team")) << id;
    EXPECT_EQ(rep_visits[i].at("arrivedAt"), rec_visits[i].at("arrivedAt")) << id;
    EXPECT_EQ(rep_visits[i].at("responseMin"), rec_visits[i].at("responseMin")) << id;
  }
  EXPECT_EQ(recorded.at("urgencies"), replayed.at("urgencies"));

  // Other policies and team counts run and print, side by side with the recorded figures.
  const SimRun all = run_sim(dir.path(), "replay " + window + " --teams 1,3");
  ASSERT_EQ(all.code, 0) << all.err;
  // The server's policy is starred.
  EXPECT_NE(all.out.find(policy + "*"), std::string::npos) << all.out;
  for (const char* expected : {"recorded", "closest-idle", "optimal", "rolling", "URGENT", "SOON",
                               "withinTarget", "meanResponseMin"}) {
    EXPECT_NE(all.out.find(expected), std::string::npos) << expected << "\n" << all.out;
  }
  const SimRun all_json = run_sim(dir.path(), "replay " + window + " --teams 1,3 --json");
  ASSERT_EQ(all_json.code, 0) << all_json.err;
  const json::value many = json::parse(all_json.out);
  EXPECT_EQ(many.at("runs").as_array().size(), 1u + 3u * 2u);
  for (const char* other : {"closest-idle", "optimal", "rolling"}) {
    for (std::int64_t teams : {1, 3}) {
      const json::object& run = run_of(many, other, teams);
      const auto& urgent = run.at("urgencies").as_array().at(0);
      EXPECT_EQ(str(urgent.at("urgency")), "URGENT");
      EXPECT_EQ(urgent.at("requests").to_number<std::int64_t>(), 2);
      // Every visit is eventually served, even by a single team.
      EXPECT_EQ(urgent.at("served").to_number<std::int64_t>(), 2) << other << " " << teams;
    }
  }

  // The offline reference on the same demand: every visit served, URGENT no later than the
  // recorded server managed (it knows the night in advance and waits for no answers).
  const SimRun hindsight =
      run_sim(dir.path(), "replay " + window + " --policy hindsight --teams 2 --json");
  ASSERT_EQ(hindsight.code, 0) << hindsight.err;
  const json::value reference = json::parse(hindsight.out);
  const auto& best = run_of(reference, "hindsight", 2).at("urgencies").as_array().at(0);
  EXPECT_EQ(best.at("served").to_number<std::int64_t>(), 2);
  EXPECT_LE(best.at("maxMin").to_number<double>(),
            recorded.at("urgencies").as_array().at(0).at("maxMin").to_number<double>());

  // Staffing from the recorded demand.
  const SimRun staffing = run_sim(dir.path(), "staffing " + window);
  EXPECT_EQ(staffing.code, 0) << staffing.err;
  // The night's requests (21:00-21:14 JST) fall in the evening band of the window's offset.
  EXPECT_NE(staffing.out.find("evening 18:00-22:00             3"), std::string::npos)
      << staffing.out;

  // The store was only read.
  EXPECT_EQ(slurp(c.data_dir() / "oshin.db"), store_before);

  // Clear errors: exit 2 and a message.
  const SimRun empty =
      run_sim(dir.path(), "replay --data-dir " + c.data_dir().string() +
                              " --from 2026-11-22T20:00:00+09:00 --to 2026-11-23T08:00:00+09:00");
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.err.find("no recorded requests"), std::string::npos) << empty.err;
  const SimRun missing =
      run_sim(dir.path(), "replay --data-dir " + (dir.path() / "nowhere").string() +
                              " --from 2026-11-20T20:00:00+09:00"
                              " --to 2026-11-21T08:00:00+09:00");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("no store"), std::string::npos) << missing.err;
  const SimRun bad = run_sim(dir.path(), "replay " + window + " --policy fastest");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown policy"), std::string::npos) << bad.err;
  const SimRun bad_time = run_sim(dir.path(), "replay --data-dir " + c.data_dir().string() +
                                                  " --from yesterday --to 2026-11-21T08:00:00Z");
  EXPECT_EQ(bad_time.code, 2);
  const SimRun bad_teams = run_sim(dir.path(), "replay " + window + " --teams 0");
  EXPECT_EQ(bad_teams.code, 2);
}

// The server's default policy (rolling, which re-plans on timer ticks) and the simplest one.
INSTANTIATE_TEST_SUITE_P(ServerPolicies, Replay, ::testing::Values("rolling", "closest-idle"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

}  // namespace
}  // namespace oshin::testing
