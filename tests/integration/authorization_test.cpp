// Authorization from one policy table: every role (and no token, a bad token, a disabled
// account, an expired session) against every endpoint; reach to one patient and visit from inside
// and outside its care relationship; which accounts each stream event reaches; and one audit entry
// per patient-data access. Deny by default means every cell not allowed below is refused.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "night.hpp"
#include "ws_client.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

// Roles as bits, so a row of the table names who may call an endpoint.
enum : unsigned {
  kAdmin = 1u << 0,
  kStaff = 1u << 1,
  kNurse = 1u << 2,
  kCareManager = 1u << 3,
  kDoctor = 1u << 4,
  kDriver = 1u << 5,
  kPrimary = 1u << 6,
};
constexpr unsigned kEveryone =
    kAdmin | kStaff | kNurse | kCareManager | kDoctor | kDriver | kPrimary;
constexpr unsigned kRequesters = kStaff | kNurse | kCareManager;
constexpr unsigned kReaders = kStaff | kNurse | kCareManager | kPrimary | kDoctor | kDriver;
constexpr unsigned kTeam = kDoctor | kDriver;
constexpr unsigned kRecipients = kNurse | kCareManager | kPrimary;

struct Row {
  verb method;
  std::string target;
  unsigned allowed;
};

// API.md, endpoint by endpoint. Resource ids are unknown ones: an allowed caller gets past
// authorization (and then 400/404), so nothing is changed by walking the table.
const std::vector<Row>& policy() {
  static const std::vector<Row> rows = {
      {verb::get, "/v1/me", kEveryone},
      {verb::get, "/v1/center", kEveryone},
      {verb::post, "/v1/stream-tickets", kEveryone},
      {verb::post, "/v1/organizations", kAdmin},
      {verb::get, "/v1/organizations", kAdmin},
      {verb::post, "/v1/users", kAdmin},
      {verb::get, "/v1/users", kAdmin},
      {verb::post, "/v1/users/usr_unknown/disable", kAdmin},
      {verb::post, "/v1/users/usr_unknown/totp/reset", kAdmin},
      {verb::get, "/v1/audit", kAdmin},
      {verb::get, "/v1/audit/verify", kAdmin},
      {verb::post, "/v1/patients", kRequesters},
      {verb::get, "/v1/patients", kReaders},
      {verb::get, "/v1/patients/pat_unknown", kReaders},
      {verb::post, "/v1/teams", kStaff},
      {verb::get, "/v1/teams", kStaff | kTeam},
      {verb::post, "/v1/teams/tea_unknown/location", kTeam},
      {verb::post, "/v1/visits", kRequesters},
      {verb::get, "/v1/visits", kReaders},
      {verb::get, "/v1/visits/vis_unknown", kReaders},
      {verb::post, "/v1/visits/vis_unknown/cancel", kRequesters},
      {verb::get, "/v1/offers", kTeam},
      {verb::post, "/v1/offers/off_unknown/accept", kTeam},
      {verb::post, "/v1/offers/off_unknown/decline", kTeam},
      {verb::post, "/v1/visits/vis_unknown/depart", kTeam},
      {verb::post, "/v1/visits/vis_unknown/arrive", kTeam},
      {verb::post, "/v1/visits/vis_unknown/complete", kTeam},
      {verb::post, "/v1/visits/vis_unknown/summary", kDoctor},
      {verb::get, "/v1/inbox", kRecipients},
      {verb::get, "/v1/inbox/overdue", kStaff},
      {verb::post, "/v1/inbox/inb_unknown/ack", kRecipients},
      {verb::get, "/v1/visits/vis_unknown/fhir",
       kStaff | kNurse | kCareManager | kPrimary | kDoctor},
      {verb::get, "/v1/reports/demand", kStaff},
      {verb::get, "/v1/reports/billing", kStaff},
      {verb::get, "/v1/reports/payroll", kStaff},
  };
  return rows;
}

const std::vector<std::pair<std::string, unsigned>>& identities() {
  static const std::vector<std::pair<std::string, unsigned>> ids = {
      {"admin", kAdmin},    {"staff1", kStaff},   {"nurse1", kNurse},    {"cm1", kCareManager},
      {"doctor1", kDoctor}, {"driver1", kDriver}, {"primary1", kPrimary}};
  return ids;
}

TEST(Authorization, EveryRoleOnEveryEndpointFollowsThePolicyTable) {
  TempDir dir;
  Night night(dir.path());
  // An account that is disabled after logging in: its token is dead everywhere at once.
  auto made = night.post("admin", "/v1/users",
                         {{"username", "leaver"},
                          {"password", "leaver-test-password"},
                          {"displayName", "Leaver"},
                          {"role", "NURSE"},
                          {"organizationId", night.org("station")}});
  ASSERT_EQ(made.status, 201u) << made.body;
  std::string leaver_token = login(night.port(), "leaver", "leaver-test-password");
  ASSERT_FALSE(leaver_token.empty());
  auto disabled = night.post_empty("admin", "/v1/users/" + str(made.json().at("id")) + "/disable");
  ASSERT_EQ(disabled.status, 200u) << disabled.body;
  // An expired session: a login while sessions last 3 s, then sessions are back to their
  // defaults (the expiry is the session's own, not the config's), and the token has run out.
  night.restart_with_config(
      {{"sessions", {{"idleTimeoutSeconds", 1800}, {"absoluteTimeoutSeconds", 3}}}});
  std::string expired_token = login(night.port(), "nurse2", "nurse2-test-password");
  ASSERT_FALSE(expired_token.empty());
  EXPECT_EQ(http_call(night.port(), verb::get, "/v1/me", {}, expired_token).status, 200u)
      << "the short session should still be valid right after login";
  night.restart_with_config(
      {{"sessions", {{"idleTimeoutSeconds", 1800}, {"absoluteTimeoutSeconds", 43200}}}});
  {
    // Wait for the expiry itself (deadline 30 s), checking with the token every 50 ms (paced so
    // the polls stay far below the rate limits the matrix must not meet).
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    unsigned status = 200;
    while (status == 200 && std::chrono::steady_clock::now() < until) {
      status = http_call(night.port(), verb::get, "/v1/me", {}, expired_token).status;
      if (status == 200) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_EQ(status, 401u) << "the 3 s session did not expire within 30 s";
  }
  // The other identities' sessions (12 h) are untouched by the restarts.
  ASSERT_EQ(night.get("nurse1", "/v1/me").status, 200u);

  int cells = 0;
  for (const Row& row : policy()) {
    std::string body = row.method == verb::post ? "{}" : "";
    for (const auto& [who, role] : identities()) {
      auto r = http_call(night.port(), row.method, row.target, body, night.token(who));
      ++cells;
      if (row.allowed & role) {
        EXPECT_NE(r.status, 401u) << who << " " << row.target << ": " << r.body;
        EXPECT_NE(r.status, 403u) << who << " " << row.target << ": " << r.body;
        EXPECT_LT(r.status, 500u) << who << " " << row.target << ": " << r.body;
      } else {
        EXPECT_EQ(r.status, 403u) << who << " " << row.target << ": " << r.body;
        EXPECT_EQ(r.error_code(), "PERMISSION_DENIED") << who << " " << row.target;
      }
    }
    for (const std::string& token :
         {std::string(), std::string("not-a-token"), leaver_token, expired_token}) {
      auto r = http_call(night.port(), row.method, row.target, body, token);
      ++cells;
      EXPECT_EQ(r.status, 401u) << "token '" << token.substr(0, 6) << "' " << row.target;
      EXPECT_EQ(r.error_code(), "UNAUTHENTICATED") << row.target;
    }
  }
  EXPECT_EQ(cells, static_cast<int>(policy().size() * (identities().size() + 4)));
  // The stream: any signed-in role may open it; no token, a bad one, a disabled account or an
  // expired session not.
  for (const auto& [who, role] : identities()) {
    EXPECT_TRUE(StreamClient::connect(night.port(), night.token(who))) << who;
  }
  for (const std::string& token : {std::string("not-a-token"), leaver_token, expired_token}) {
    unsigned status = 0;
    EXPECT_FALSE(StreamClient::connect(night.port(), token, {}, &status));
    EXPECT_EQ(status, 401u);
  }
}

TEST(Authorization, DisablingAnAccountClosesItsStreamsAndVoidsItsTickets) {
  TempDir dir;
  Night night(dir.path());
  auto made = night.post("admin", "/v1/users",
                         {{"username", "leaver"},
                          {"password", "leaver-test-password"},
                          {"displayName", "Leaver"},
                          {"role", "NURSE"},
                          {"organizationId", night.org("station")}});
  ASSERT_EQ(made.status, 201u) << made.body;
  std::string token = login(night.port(), "leaver", "leaver-test-password");
  auto open_stream = StreamClient::connect(night.port(), token);
  ASSERT_TRUE(open_stream);
  auto ticket = http_call(night.port(), verb::post, "/v1/stream-tickets", {}, token);
  ASSERT_EQ(ticket.status, 201u);
  std::string t = str(ticket.json().at("ticket"));
  auto colleague = StreamClient::connect(night.port(), night.token("nurse1"));
  ASSERT_TRUE(colleague);

  ASSERT_EQ(night.post_empty("admin", "/v1/users/" + str(made.json().at("id")) + "/disable").status,
            200u);
  // The open stream is closed at once (1008 policy), the unused ticket no longer opens one.
  EXPECT_FALSE(open_stream->next(std::chrono::seconds(10)));
  EXPECT_EQ(open_stream->close_code(), std::optional<unsigned>(1008u));
  unsigned status = 0;
  EXPECT_FALSE(StreamClient::connect(night.port(), {}, "?ticket=" + t, &status));
  EXPECT_EQ(status, 401u);
  // A colleague's stream goes on: it still gets the next event of the station.
  std::string p = night.make_patient("Still", Night::kCenterLat, Night::kCenterLon + 0.001);
  ASSERT_EQ(night.request_visit("nurse1", p).status, 201u);
  EXPECT_TRUE(colleague->wait_type("visitUpdated"));
}

// Drives one visit of a station patient to a posted summary and completion; returns its id.
struct Scene {
  std::string patient;
  std::string visit;
};

Scene night_visit(Night& night) {
  Scene s;
  s.patient = night.make_patient("Matrix", Night::kCenterLat + 0.004, Night::kCenterLon);
  auto doctor = StreamClient::connect(night.port(), night.token("doctor1"));
  EXPECT_TRUE(doctor);
  auto created = night.request_visit("nurse1", s.patient);
  EXPECT_EQ(created.status, 201u) << created.body;
  s.visit = str(created.json().at("id"));
  auto offer = doctor->wait_type("offer");
  EXPECT_TRUE(offer);
  EXPECT_EQ(
      night.post_empty("doctor1", "/v1/offers/" + str(offer->at("offer").at("id")) + "/accept")
          .status,
      200u);
  return s;
}

TEST(Authorization, ReachOwnVersusAnotherOrganizationsPatient) {
  TempDir dir;
  Night night(dir.path());
  Scene s = night_visit(night);  // the visit is ASSIGNED to doctor1's team

  // Who reaches the patient and the visit: the care team (station, office), the primary doctor,
  // STAFF, and the team holding the visit. Everyone else: 404; ADMIN: 403 (no patient data).
  const std::map<std::string, unsigned> expected = {
      {"staff1", 200},   {"nurse1", 200},  {"nurse2", 200},  {"cm1", 200},
      {"primary1", 200}, {"doctor1", 200}, {"driver1", 200}, {"othernurse", 404},
      {"primary2", 404}, {"doctor2", 404}, {"driver2", 404}, {"admin", 403}};
  for (const auto& [who, status] : expected) {
    EXPECT_EQ(night.get(who, "/v1/patients/" + s.patient).status, status) << who;
    EXPECT_EQ(night.get(who, "/v1/visits/" + s.visit).status, status) << who;
    if (status == 403) {
      continue;
    }
    // Lists agree with the single reads.
    auto patients = night.get(who, "/v1/patients");
    ASSERT_EQ(patients.status, 200u) << who;
    bool listed = false;
    for (const auto& p : patients.json().at("patients").as_array()) {
      listed = listed || p.at("id").as_string() == s.patient;
    }
    EXPECT_EQ(listed, status == 200) << who;
    auto visits = night.get(who, "/v1/visits");
    ASSERT_EQ(visits.status, 200u) << who;
    bool seen = false;
    for (const auto& v : visits.json().at("visits").as_array()) {
      seen = seen || v.at("id").as_string() == s.visit;
    }
    EXPECT_EQ(seen, status == 200) << who;
  }
  // Writes follow reach too: another organization cannot cancel, another team cannot move it.
  EXPECT_EQ(night.post("othernurse", "/v1/visits/" + s.visit + "/cancel", {{"reason", "x"}}).status,
            404u);
  EXPECT_EQ(night.post_empty("driver2", "/v1/visits/" + s.visit + "/depart").status, 404u);
  // A care manager of the care team may cancel on the requester's behalf? No: only the
  // requesting organization or STAFF (API.md). The office is not the requester.
  EXPECT_EQ(night.post("cm1", "/v1/visits/" + s.visit + "/cancel", {{"reason", "x"}}).status, 404u);
}

// Types of the logged events an account reads: its own stream, its organization's and, for STAFF,
// the staff stream (the keys are written out here, not taken from the server's code).
std::set<std::string> logged_event_types(const std::filesystem::path& db_path,
                                         const json::value& me) {
  const std::string account = str(me.at("id"));
  const std::string organization = "org:" + str(me.at("organizationId"));
  const std::string staff = str(me.at("role")) == "STAFF" ? "role:STAFF" : "";
  std::set<std::string> types;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.string().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    ADD_FAILURE() << "cannot open " << db_path;
    return types;
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT DISTINCT type FROM events WHERE stream_key IN (?1, ?2, ?3)", -1,
                     &st, nullptr);
  sqlite3_bind_text(st, 1, account.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, organization.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, staff.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(st) == SQLITE_ROW) {
    types.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return types;
}

TEST(Authorization, EachStreamEventReachesExactlyItsAudience) {
  TempDir dir;
  Night night(dir.path());
  Scene s = night_visit(night);
  for (const char* step : {"depart", "arrive"}) {
    ASSERT_EQ(night.post_empty("driver1", "/v1/visits/" + s.visit + "/" + step).status, 200u);
  }
  json::object summary{{"findings", "comfortable"},
                       {"diagnoses", json::array{"constipation"}},
                       {"treatment", "enema"},
                       {"prescriptions", json::array{}},
                       {"disposition", "STAYED_HOME"},
                       {"instructionsForCareTeam", "watch"},
                       {"followUpForPrimaryDoctor", "none"}};
  ASSERT_EQ(night.post("doctor1", "/v1/visits/" + s.visit + "/summary", summary).status, 201u);
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + s.visit + "/complete").status, 200u);

  // Every event answered 2xx is in the durable log, so the log is the truth of who was sent what
  // (the stream replays exactly it).
  using Types = std::set<std::string>;
  const std::map<std::string, Types> audience = {
      {"doctor1", {"offer", "visitUpdated"}},
      {"driver1", {"offer", "visitUpdated"}},
      {"staff1", {"visitUpdated"}},
      {"nurse1", {"visitUpdated", "visitSummary"}},
      {"nurse2", {"visitUpdated", "visitSummary"}},
      {"primary1", {"visitSummary"}},
      {"doctor2", {}},
      {"driver2", {}},
      {"othernurse", {}},
      {"cm1", {}},
      {"primary2", {}},
      {"admin", {}},
  };
  auto db = dir.path() / "data" / "oshin.db";
  for (const auto& [who, types] : audience) {
    EXPECT_EQ(logged_event_types(db, night.get(who, "/v1/me").json()), types) << who;
  }
  // And what a device replays is that log: nurse2 sees the summary on reconnect.
  auto replay = StreamClient::connect(night.port(), night.token("nurse2"), "?since=0");
  ASSERT_TRUE(replay);
  EXPECT_TRUE(replay->wait_type("visitSummary"));
}

TEST(Audit, EveryPatientDataAccessMakesExactlyOneEntry) {
  TempDir dir;
  Night night(dir.path());
  Scene s = night_visit(night);
  // Patient-data calls, each answered 2xx; their request ids must each have exactly one entry.
  std::vector<std::pair<std::string, HttpResult>> calls;
  auto record = [&](const std::string& what, HttpResult r) {
    EXPECT_LT(r.status, 300u) << what << ": " << r.body;
    calls.emplace_back(what, std::move(r));
  };
  record("patient read", night.get("nurse2", "/v1/patients/" + s.patient));
  record("patient read by team", night.get("driver1", "/v1/patients/" + s.patient));
  record("visit read", night.get("primary1", "/v1/visits/" + s.visit));
  record("visit read by staff", night.get("staff1", "/v1/visits/" + s.visit));
  record("depart", night.post_empty("driver1", "/v1/visits/" + s.visit + "/depart"));
  record("arrive", night.post_empty("doctor1", "/v1/visits/" + s.visit + "/arrive"));
  record("summary", night.post("doctor1", "/v1/visits/" + s.visit + "/summary",
                               {{"findings", "ok"},
                                {"diagnoses", json::array{"fall"}},
                                {"treatment", "none"},
                                {"prescriptions", json::array{}},
                                {"disposition", "STAYED_HOME"},
                                {"instructionsForCareTeam", "none"},
                                {"followUpForPrimaryDoctor", "none"}}));
  record("complete", night.post_empty("doctor1", "/v1/visits/" + s.visit + "/complete"));
  record("fhir", night.get("primary1", "/v1/visits/" + s.visit + "/fhir"));
  std::string second = night.make_patient("Second", Night::kCenterLat, Night::kCenterLon + 0.003);
  record("patient read 2", night.get("cm1", "/v1/patients/" + second));
  // Refused reads of patient data are audited too (outcome not ok).
  auto denied = night.get("othernurse", "/v1/patients/" + s.patient);
  EXPECT_EQ(denied.status, 404u);

  auto audit = night.get("admin", "/v1/audit");
  ASSERT_EQ(audit.status, 200u);
  std::map<std::string, int> per_request;
  std::map<std::string, std::string> outcome;
  for (const auto& e : audit.json().at("entries").as_array()) {
    ++per_request[str(e.at("requestId"))];
    outcome[str(e.at("requestId"))] = str(e.at("outcome"));
  }
  for (const auto& [what, r] : calls) {
    std::string id = r.header("x-request-id");
    ASSERT_FALSE(id.empty()) << what;
    EXPECT_EQ(per_request[id], 1) << what;
  }
  std::string denied_id = denied.header("x-request-id");
  EXPECT_EQ(per_request[denied_id], 1);
  EXPECT_NE(outcome[denied_id], "ok");
  EXPECT_TRUE(night.get("admin", "/v1/audit/verify").json().at("ok").as_bool());
}

}  // namespace
}  // namespace oshin::testing
