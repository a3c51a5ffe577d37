// Clinic operations reports end to end: a real server run on chosen nights (--clock-start, one
// restart per night or jump), visits of both urgencies, refusals, a cancellation, a holiday and a
// death confirmation; every report figure is checked against values this test computes itself
// from the instants it chose and the timestamps the visits record.
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>

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
constexpr double kDoctorRate = 12000;
constexpr double kDriverRate = 2200;

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

double minutes_between(Time a, Time b) {
  return std::chrono::duration<double, std::ratio<60>>(b - a).count();
}

double num(const json::value& v) {
  return v.is_double() ? v.as_double() : static_cast<double>(v.to_number<std::int64_t>());
}

/// Nearest rank, written out here independently of the server's code.
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  return values[std::max<std::size_t>(rank, 1) - 1];
}

/// DESIGN.md "Travel time": haversine x 1.3 / 28 km/h + 4 minutes, in minutes.
double drive_minutes(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kPi = 3.14159265358979323846;
  auto rad = [](double d) { return d * kPi / 180.0; };
  const double dlat = rad(lat2 - lat1);
  const double dlon = rad(lon2 - lon1);
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  const double km = 2 * 6371.0088 * std::asin(std::sqrt(h));
  return km * 1.3 / 28.0 * 60.0 + 4.0;
}

/// RFC 4180 records of a CSV text (BOM already removed).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "CSV must end with CRLF";
  return rows;
}

/// A center run over the API on a server whose clock starts at a chosen instant.
class ClinicNights {
 public:
  explicit ClinicNights(const std::filesystem::path& dir) : dir_(dir) {
    json::object config{
        {"dataDir", (dir / "data").string()},
        {"serviceHours",
         {{"always", false},
          {"weeknightStart", "18:00"},
          {"weeknightEnd", "08:00"},
          {"holidaysAllDay", true}}},
        {"institutionTier", "ZAISHIN"},
        {"offerTimeoutSeconds", 600},
        {"pay",
         {{"doctorHourlyYen", static_cast<int>(kDoctorRate)},
          {"driverHourlyYen", static_cast<int>(kDriverRate)}}},
        // The clock jumps days ahead between nights: keep the test's sessions alive.
        {"sessions", {{"idleTimeoutSeconds", 3000000}, {"absoluteTimeoutSeconds", 3000000}}}};
    config_path_ = dir / "oshin.json";
    std::ofstream(config_path_) << json::serialize(config);
  }

  /// Starts (or restarts after SIGTERM) the server with its clock at `start`.
  void run_at(const std::string& start) {
    auto port = restart_clocked(process_, config_path_, start);
    ASSERT_TRUE(port);
    port_ = *port;
    now_ = parse_time(start);
  }

  HttpResult post(const std::string& who, const std::string& target, const json::object& body) {
    return http_call(port_, verb::post, target, json::serialize(body), tokens_.at(who));
  }
  HttpResult get(const std::string& who, const std::string& target,
                 const std::map<std::string, std::string>& headers = {}) {
    return http_call(port_, verb::get, target, {}, tokens_.at(who), headers);
  }
  std::string id(const std::string& who) const { return ids_.at(who); }
  Time now() const { return now_; }

  void setup() {
    tokens_["admin"] = login(port_, "admin", ServerProcess::kAdminPassword);
    auto orgs = get("admin", "/v1/organizations");
    orgs_["center"] =
        std::string(orgs.json().at("organizations").as_array().at(0).at("id").as_string());
    for (auto [key, kind] :
         {std::pair{"station", "VISITING_NURSE_STATION"},
          std::pair{"office", "CARE_MANAGEMENT_OFFICE"}, std::pair{"clinic", "CLINIC"}}) {
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
    auto r =
        post("nurse1", "/v1/patients",
             {{"name", name},
              {"birthDate", "1938-04-02"},
              {"sex", "FEMALE"},
              {"address", "Hino-shi 1-2-3"},
              {"location", {{"lat", lat}, {"lon", lon}}},
              {"primaryDoctorId", ids_.at("primary1")},
              {"careTeamOrganizationIds", json::array{orgs_.at("station"), orgs_.at("office")}},
              {"sharingConsent", true},
              // A scheduled visit this month: a 定める患者 for the nights below.
              {"eligibility", {{"lastScheduledVisitDate", "2026-11-01"}}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  }

  /// A team for tonight's shift (an hour ago to 12 hours ahead), based at the center, able to
  /// take END_OF_LIFE calls.
  std::string team(const std::string& doctor, const std::string& driver) {
    auto r = post("staff1", "/v1/teams",
                  {{"doctorId", ids_.at(doctor)},
                   {"driverId", ids_.at(driver)},
                   {"vehicle", "car of " + doctor},
                   {"shiftStart", iso(now_ - std::chrono::hours(1))},
                   {"shiftEnd", iso(now_ + std::chrono::hours(12))},
                   {"base", {{"lat", kCenterLat}, {"lon", kCenterLon}}},
                   {"skills", json::array{"PALLIATIVE"}}});
    EXPECT_EQ(r.status, 201u) << r.body;
    return r.status == 201 ? str(r.json().at("id")) : std::string();
  }

  HttpResult request(const std::string& patient_id, const std::string& urgency,
                     const std::string& reason, bool life_threatening = false) {
    return post("nurse1", "/v1/visits",
                {{"patientId", patient_id},
                 {"urgency", urgency},
                 {"reason", reason},
                 {"chiefComplaint", "breathing changed"},
                 {"lifeThreatening", life_threatening}});
  }

  /// The doctor accepts the pending offer of `visit_id`.
  void accept(const std::string& doctor, const std::string& visit_id) {
    auto offers = get(doctor, "/v1/offers");
    ASSERT_EQ(offers.status, 200u) << offers.body;
    for (const auto& o : offers.json().at("offers").as_array()) {
      if (str(o.at("visitId")) == visit_id) {
        auto r = post(doctor, "/v1/offers/" + str(o.at("id")) + "/accept", {});
        ASSERT_EQ(r.status, 200u) << r.body;
        return;
      }
    }
    FAIL() << "no offer for " << visit_id << " to " << doctor << ": " << offers.body;
  }

  void step(const std::string& who, const std::string& visit_id, const std::string& what) {
    auto r = post(who, "/v1/visits/" + visit_id + "/" + what, {});
    ASSERT_EQ(r.status, 200u) << what << " " << r.body;
  }

  void summary(const std::string& doctor, const std::string& visit_id,
               const std::string& disposition) {
    auto r = post(doctor, "/v1/visits/" + visit_id + "/summary",
                  {{"findings", "seen at home"},
                   {"diagnoses", json::array{"heart failure"}},
                   {"disposition", disposition},
                   {"instructionsForCareTeam", "watch"},
                   {"followUpForPrimaryDoctor", "see next week"}});
    ASSERT_EQ(r.status, 201u) << r.body;
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

/// What the test itself asked for, per request.
struct Asked {
  std::string id;
  std::string urgency;
  std::string reason;
  std::string refusal;  // "" when accepted
  Time chosen;          // the instant the test placed the request at (server start of the night)
  std::string patient;
  std::string doctor;  // who served it ("" when not served)
  std::string driver;
};

TEST(Reports, SeveralNightsCheckedFigureByFigure) {
  TempDir dir;
  ClinicNights c(dir.path());
  std::vector<Asked> asked;
  std::map<std::string, std::pair<double, double>> where;  // patient id -> lat, lon

  auto requested = [&](const HttpResult& r, Asked a) {
    if (a.refusal.empty()) {
      EXPECT_EQ(r.status, 201u) << r.body;
      a.id = str(r.json().at("id"));
    } else {
      EXPECT_EQ(r.status, 422u) << r.body;
      EXPECT_EQ(r.error_code(), a.refusal);
      a.id = str(r.json().at("error").at("visitId"));
    }
    a.chosen = c.now();
    asked.push_back(a);
    return a.id;
  };

  // Night 1: Friday 2026-11-20, 21:00 JST (夜間).
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-20T21:00:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.setup());
  const double p1_lat = kCenterLat + 0.02;
  const double p1_lon = kCenterLon + 0.01;
  const double p2_lat = kCenterLat - 0.015;
  const double p2_lon = kCenterLon + 0.03;
  std::string p1 = c.patient("Hanako Yamada", p1_lat, p1_lon);
  std::string p2 = c.patient("Taro Sato", p2_lat, p2_lon);
  std::string far = c.patient("Far Away", kCenterLat + 0.3, kCenterLon);  // ~33 km north
  where[p1] = {p1_lat, p1_lon};
  where[p2] = {p2_lat, p2_lon};
  std::string team1 = c.team("doctor1", "driver1");

  std::string v1 = requested(c.request(p1, "URGENT", "ACUTE_CHANGE"),
                             {"", "URGENT", "ACUTE_CHANGE", "", {}, p1, "doctor1", "driver1"});
  ASSERT_NO_FATAL_FAILURE(c.accept("doctor1", v1));
  for (const char* s : {"depart", "arrive", "complete"}) {
    ASSERT_NO_FATAL_FAILURE(c.step("driver1", v1, s));
  }
  ASSERT_NO_FATAL_FAILURE(c.summary("doctor1", v1, "STAYED_HOME"));
  requested(c.request(p1, "URGENT", "ACUTE_CHANGE", true),
            {"", "URGENT", "ACUTE_CHANGE", "CALL_EMERGENCY_SERVICES", {}, p1, "", ""});
  requested(c.request(far, "SOON", "OTHER"),
            {"", "SOON", "OTHER", "OUT_OF_SERVICE_AREA", {}, far, "", ""});
  std::string v4 = requested(c.request(p2, "SOON", "END_OF_LIFE"),
                             {"", "SOON", "END_OF_LIFE", "", {}, p2, "", ""});
  auto cancelled = c.post("nurse1", "/v1/visits/" + v4 + "/cancel", {{"reason", "settled"}});
  ASSERT_EQ(cancelled.status, 200u) << cancelled.body;

  // Night 2: Saturday 23:30 JST; the team arrives after the clock jumps 75 minutes (深夜, late).
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-21T23:30:00+09:00"));
  std::string team2 = c.team("doctor2", "driver2");
  std::string v5 =
      requested(c.request(p2, "URGENT", "DEATH_CONFIRMATION"),
                {"", "URGENT", "DEATH_CONFIRMATION", "", {}, p2, "doctor2", "driver2"});
  ASSERT_NO_FATAL_FAILURE(c.accept("doctor2", v5));
  ASSERT_NO_FATAL_FAILURE(c.step("driver2", v5, "depart"));
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-22T00:45:00+09:00"));
  ASSERT_NO_FATAL_FAILURE(c.step("driver2", v5, "arrive"));
  ASSERT_NO_FATAL_FAILURE(c.step("doctor2", v5, "complete"));
  ASSERT_NO_FATAL_FAILURE(c.summary("doctor2", v5, "DECEASED"));

  // Monday 2026-11-23 14:00 JST: 勤労感謝の日, a holiday, so daytime is served (休日).
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-23T14:00:00+09:00"));
  std::string team3 = c.team("doctor1", "driver1");
  std::string v6 = requested(c.request(p1, "SOON", "OTHER"),
                             {"", "SOON", "OTHER", "", {}, p1, "doctor1", "driver1"});
  ASSERT_NO_FATAL_FAILURE(c.accept("doctor1", v6));
  for (const char* s : {"depart", "arrive", "complete"}) {
    ASSERT_NO_FATAL_FAILURE(c.step("doctor1", v6, s));
  }
  ASSERT_NO_FATAL_FAILURE(c.summary("doctor1", v6, "STAYED_HOME"));

  // Tuesday 2026-11-24 12:00 JST: an ordinary weekday noon, outside service hours.
  ASSERT_NO_FATAL_FAILURE(c.run_at("2026-11-24T12:00:00+09:00"));
  requested(c.request(p1, "URGENT", "ACUTE_CHANGE"),
            {"", "URGENT", "ACUTE_CHANGE", "OUTSIDE_SERVICE_HOURS", {}, p1, "", ""});

  // The recorded visits (as STAFF sees them).
  std::map<std::string, json::object> visit;
  for (const auto& a : asked) {
    auto r = c.get("staff1", "/v1/visits/" + a.id);
    ASSERT_EQ(r.status, 200u) << r.body;
    visit[a.id] = r.json().as_object();
    // The server ran at the chosen instant: the request is stamped within minutes of it.
    const auto created = parse_time(str(visit[a.id].at("createdAt")));
    EXPECT_GE(created, a.chosen);
    EXPECT_LT(created, a.chosen + std::chrono::minutes(10)) << a.id;
  }
  auto reached = [&](const std::string& id, const std::string& status) -> std::optional<Time> {
    for (const auto& h : visit.at(id).at("history").as_array()) {
      if (str(h.at("status")) == status) {
        return parse_time(str(h.at("at")));
      }
    }
    return std::nullopt;
  };

  const std::string range = "?from=2026-11-20T00:00:00Z&to=2026-11-25T00:00:00Z";

  // ---- Demand ----
  {
    auto r = c.get("staff1", "/v1/reports/demand" + range);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& d = r.json().as_object();
    EXPECT_EQ(num(d.at("total")), static_cast<double>(asked.size()));
    std::map<std::string, int> urgency, reason, refusals;
    std::array<std::array<int, 24>, 7> grid{};
    std::map<std::string, std::vector<double>> response;
    for (const auto& a : asked) {
      urgency[a.urgency] += 1;
      reason[a.reason] += 1;
      if (!a.refusal.empty()) {
        refusals[a.refusal] += 1;
      }
      // Local (JST) weekday and hour of the request, Monday = 0.
      const auto local = parse_time(str(visit[a.id].at("createdAt"))) + std::chrono::hours(9);
      const auto day = std::chrono::floor<std::chrono::days>(local);
      const std::chrono::weekday wd{std::chrono::sys_days(day)};
      const auto hour = std::chrono::floor<std::chrono::hours>(local - day).count();
      grid[(wd.c_encoding() + 6) % 7][static_cast<std::size_t>(hour)] += 1;
      if (auto arrived = reached(a.id, "ON_SITE")) {
        response[a.urgency].push_back(
            minutes_between(parse_time(str(visit[a.id].at("createdAt"))), *arrived));
      }
    }
    for (const auto& [k, n] : urgency) {
      EXPECT_EQ(num(d.at("byUrgency").at(k)), n) << k;
    }
    for (const auto& [k, n] : reason) {
      EXPECT_EQ(num(d.at("byReason").at(k)), n) << k;
    }
    EXPECT_EQ(refusals.size(), 3u);
    for (const auto& [k, n] : refusals) {
      EXPECT_EQ(num(d.at("refusals").at(k)), n) << k;
    }
    const auto& rows = d.at("byWeekdayHour").as_array();
    ASSERT_EQ(rows.size(), 7u);
    for (std::size_t w = 0; w < 7; ++w) {
      EXPECT_EQ(num(rows[w].at("weekday")), static_cast<double>(w));
      const auto& hours = rows[w].at("hours").as_array();
      ASSERT_EQ(hours.size(), 24u);
      for (std::size_t h = 0; h < 24; ++h) {
        EXPECT_EQ(num(hours[h]), grid[w][h]) << "weekday " << w << " hour " << h;
      }
    }
    // The nights chosen: Friday 21h x4, Saturday 23h, Monday 14h, Tuesday 12h.
    EXPECT_EQ(grid[4][21], 4);
    EXPECT_EQ(grid[5][23], 1);
    EXPECT_EQ(grid[0][14], 1);
    EXPECT_EQ(grid[1][12], 1);
    ASSERT_EQ(response["URGENT"].size(), 2u);
    ASSERT_EQ(response["SOON"].size(), 1u);
    for (const auto& [u, target_minutes] : {std::pair{"URGENT", 60.0}, std::pair{"SOON", 180.0}}) {
      const double target = target_minutes;  // (clang 14 cannot capture a structured binding)
      const auto& list = response[u];
      const auto& s = d.at("responseMinutes").at(u);
      EXPECT_EQ(num(s.at("count")), static_cast<double>(list.size())) << u;
      EXPECT_NEAR(num(s.at("p50")), percentile(list, 50), 1e-6) << u;
      EXPECT_NEAR(num(s.at("p90")), percentile(list, 90), 1e-6) << u;
      EXPECT_NEAR(num(s.at("max")), *std::max_element(list.begin(), list.end()), 1e-6) << u;
      const double within =
          static_cast<double>(
              std::count_if(list.begin(), list.end(), [target](double m) { return m <= target; })) /
          static_cast<double>(list.size());
      EXPECT_NEAR(num(s.at("withinTarget")), within, 1e-9) << u;
    }
    // The second night's arrival came 75 minutes after the request: half the URGENT were late.
    EXPECT_NEAR(num(d.at("responseMinutes").at("URGENT").at("withinTarget")), 0.5, 1e-9);
    // (75 minutes less the moments between the night's start and the request.)
    EXPECT_GT(num(d.at("responseMinutes").at("URGENT").at("max")), 70.0);
  }

  // ---- Billing ----
  // C000 720 + the ZAISHIN add-on of the band of the arrival (定める患者), + 200 on a death.
  struct Bill {
    std::string band;
    int points;
  };
  std::map<std::string, Bill> expected_bill = {
      {v1, {"NIGHT", 720 + 1300}},             // Friday 21:00
      {v5, {"LATE_NIGHT", 720 + 2300 + 200}},  // Sunday 00:45 (深夜 beats 休日), DECEASED
      {v6, {"HOLIDAY", 720 + 1300}},           // 勤労感謝の日 14:00
  };
  {
    auto r = c.get("staff1", "/v1/reports/billing" + range);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& b = r.json().as_object();
    const auto& visits = b.at("visits").as_array();
    ASSERT_EQ(visits.size(), expected_bill.size()) << r.body;
    int total = 0;
    Time previous{};
    for (const auto& v : visits) {
      const std::string id = str(v.at("visitId"));
      ASSERT_TRUE(expected_bill.count(id)) << id;
      const auto& want = expected_bill.at(id);
      EXPECT_EQ(str(v.at("timeBand")), want.band) << id;
      EXPECT_FALSE(str(v.at("timeBandReason")).empty());
      EXPECT_EQ(num(v.at("totalPoints")), want.points) << id;
      int items = 0;
      std::set<std::string> codes;
      for (const auto& i : v.at("items").as_array()) {
        items += static_cast<int>(num(i.at("points")));
        codes.insert(str(i.at("code")));
      }
      EXPECT_EQ(items, want.points) << id;
      EXPECT_TRUE(codes.count("C000")) << id;
      EXPECT_EQ(codes.count("C000-death-certification"), id == v5 ? 1u : 0u) << id;
      const auto started = parse_time(str(v.at("startedAt")));
      EXPECT_EQ(started, *reached(id, "ON_SITE")) << id;
      EXPECT_GE(started, previous);  // sorted by arrival
      previous = started;
      total += want.points;
    }
    EXPECT_EQ(num(b.at("totalPoints")), total);
    EXPECT_NE(str(b.at("feeTable")).find("2024"), std::string::npos);
    ASSERT_EQ(b.at("months").as_array().size(), 1u);
    EXPECT_EQ(str(b.at("months").at(0).at("month")), "2026-11");
    EXPECT_EQ(num(b.at("months").at(0).at("totalPoints")), total);
    EXPECT_EQ(num(b.at("months").at(0).at("visits")), 3);

    // The same report as CSV (RFC 4180, UTF-8 with a BOM).
    auto csv = c.get("staff1", "/v1/reports/billing" + range, {{"Accept", "text/csv"}});
    ASSERT_EQ(csv.status, 200u) << csv.body;
    EXPECT_EQ(csv.header("content-type").rfind("text/csv", 0), 0u) << csv.header("content-type");
    ASSERT_EQ(csv.body.rfind("\xEF\xBB\xBF", 0), 0u);
    auto rows = parse_csv(csv.body.substr(3));
    ASSERT_EQ(rows.size(), expected_bill.size() + 1);
    ASSERT_GE(rows[0].size(), 7u);
    EXPECT_EQ(rows[0][0], "visitId");
    EXPECT_EQ(rows[0][6], "totalPoints");
    for (std::size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), rows[0].size());
      ASSERT_TRUE(expected_bill.count(rows[i][0])) << rows[i][0];
      EXPECT_EQ(rows[i][3], expected_bill.at(rows[i][0]).band);
      EXPECT_EQ(std::stoi(rows[i][6]), expected_bill.at(rows[i][0]).points);
    }
    // Asking for JSON still gets JSON.
    auto as_json = c.get("staff1", "/v1/reports/billing" + range, {{"Accept", "application/json"}});
    ASSERT_EQ(as_json.status, 200u);
    EXPECT_EQ(as_json.header("content-type").rfind("application/json", 0), 0u);
  }

  // ---- Payroll ----
  {
    // Worked minutes: accepted -> completed, plus the drive home after each team's last visit.
    std::map<std::string, double> minutes;
    std::map<std::string, int> visits;
    for (const auto& a : asked) {
      if (a.doctor.empty() || !reached(a.id, "COMPLETED")) {
        continue;
      }
      double m = minutes_between(*reached(a.id, "ASSIGNED"), *reached(a.id, "COMPLETED"));
      // Each served visit was its team's last (one per team), and every base is the center.
      m += drive_minutes(where.at(a.patient).first, where.at(a.patient).second, kCenterLat,
                         kCenterLon);
      for (const auto& who : {a.doctor, a.driver}) {
        minutes[who] += m;
        visits[who] += 1;
      }
    }
    ASSERT_EQ(minutes.size(), 4u);
    auto r = c.get("staff1", "/v1/reports/payroll" + range);
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& people = r.json().at("people").as_array();
    ASSERT_EQ(people.size(), 4u) << r.body;
    std::map<std::string, double> reported_minutes;
    for (const auto& p : people) {
      std::string who;
      for (const auto* name : {"doctor1", "doctor2", "driver1", "driver2"}) {
        if (c.id(name) == str(p.at("userId"))) {
          who = name;
        }
      }
      ASSERT_FALSE(who.empty()) << p;
      const bool doctor = who.rfind("doctor", 0) == 0;
      EXPECT_EQ(str(p.at("role")), doctor ? "DOCTOR" : "DRIVER");
      EXPECT_EQ(num(p.at("visits")), visits[who]) << who;
      EXPECT_NEAR(num(p.at("workedMinutes")), minutes[who], 0.01) << who;
      EXPECT_NEAR(num(p.at("pay")), minutes[who] / 60.0 * (doctor ? kDoctorRate : kDriverRate),
                  (doctor ? kDoctorRate : kDriverRate) * 0.01 / 60.0)
          << who;
      EXPECT_FALSE(p.at("overMonthlyCap").as_bool());
      reported_minutes[str(p.at("userId"))] = num(p.at("workedMinutes"));
    }
    // doctor2's one visit spans the 75-minute jump.
    EXPECT_GT(minutes["doctor2"], 70.0);

    auto csv = c.get("staff1", "/v1/reports/payroll" + range, {{"Accept", "text/csv"}});
    ASSERT_EQ(csv.status, 200u) << csv.body;
    ASSERT_EQ(csv.body.rfind("\xEF\xBB\xBF", 0), 0u);
    auto rows = parse_csv(csv.body.substr(3));
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"userId", "displayName", "role", "visits",
                                                 "workedMinutes", "pay", "overMonthlyCap"}));
    for (std::size_t i = 1; i < rows.size(); ++i) {
      ASSERT_EQ(rows[i].size(), 7u);
      ASSERT_TRUE(reported_minutes.count(rows[i][0]));
      EXPECT_NEAR(std::stod(rows[i][4]), reported_minutes[rows[i][0]], 1e-6);
      EXPECT_EQ(rows[i][1].rfind("Dr/Mr ", 0), 0u);
    }
  }

  // ---- Access and validation ----
  EXPECT_EQ(c.get("nurse1", "/v1/reports/demand" + range).status, 403u);
  EXPECT_EQ(c.get("admin", "/v1/reports/payroll" + range).status, 403u);
  EXPECT_EQ(c.get("doctor1", "/v1/reports/billing" + range).status, 403u);
  auto bad = c.get("staff1", "/v1/reports/demand?from=yesterday");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_EQ(bad.error_code(), "INVALID_ARGUMENT");
  EXPECT_EQ(c.get("staff1", "/v1/reports/billing?from=2026-11-25T00:00:00Z&to=2026-11-20T00:00:00Z")
                .status,
            400u);
  EXPECT_EQ(c.get("staff1", "/v1/reports/demand" + range, {{"Accept", "text/csv"}}).status, 406u);

  // ---- Audit review: each billed visit read is an entry; filters; the chain verifies ----
  {
    auto r = c.get("admin", "/v1/audit?action=report.billing&actor=" + c.id("staff1"));
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto& entries = r.json().at("entries").as_array();
    // Two billing reads (JSON and CSV) with data, one more as JSON: 3 reads x 3 visits.
    EXPECT_EQ(entries.size(), 9u);
    for (const auto& e : entries) {
      EXPECT_EQ(str(e.at("action")), "report.billing");
      EXPECT_EQ(str(e.at("actorId")), c.id("staff1"));
      EXPECT_TRUE(expected_bill.count(str(e.at("visitId")))) << e;
    }
    auto by_patient = c.get("admin", "/v1/audit?action=report.billing&patient=" + p2);
    ASSERT_EQ(by_patient.status, 200u);
    const auto& p2_entries = by_patient.json().at("entries").as_array();
    EXPECT_EQ(p2_entries.size(), 3u);
    for (const auto& e : p2_entries) {
      EXPECT_EQ(str(e.at("patientId")), p2);
      EXPECT_EQ(str(e.at("visitId")), v5);
    }
    auto by_time = c.get(
        "admin", "/v1/audit?action=visit.create&from=2026-11-21T00:00:00Z&to=2026-11-23T00:00:00Z");
    ASSERT_EQ(by_time.status, 200u);
    EXPECT_FALSE(by_time.json().at("entries").as_array().empty());
    for (const auto& e : by_time.json().at("entries").as_array()) {
      EXPECT_EQ(str(e.at("visitId")), v5);
    }
    EXPECT_EQ(c.get("admin", "/v1/audit?actor=").status, 400u);
    auto verify = c.get("admin", "/v1/audit/verify");
    ASSERT_EQ(verify.status, 200u);
    EXPECT_TRUE(verify.json().at("ok").as_bool());
  }
  (void)team1;
  (void)team2;
  (void)team3;
}

}  // namespace
}  // namespace oshin::testing
