// The main job end to end over real sockets: patients, teams, requests, automatic dispatch with
// live offers on the stream, progress, summaries delivered until acknowledged, reach rules,
// idempotency, refusals, declines and expiries, replay, and kill -9 at each step.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "night.hpp"
#include "ws_client.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

TEST(Visits, AWholeNightFromRequestToAcknowledgedSummary) {
  TempDir dir;
  Night night(dir.path());
  std::string patient =
      night.make_patient("Hanako Yamada", Night::kCenterLat + 0.01, Night::kCenterLon + 0.01);
  auto doctor_stream = StreamClient::connect(night.port(), night.token("doctor1"));
  auto nurse_stream = StreamClient::connect(night.port(), night.token("nurse2"));
  auto primary_stream = StreamClient::connect(night.port(), night.token("primary1"));
  ASSERT_TRUE(doctor_stream && nurse_stream && primary_stream);

  auto created = night.request_visit("nurse1", patient);
  ASSERT_EQ(created.status, 201u) << created.body;
  auto visit = created.json().as_object();
  std::string visit_id = str(visit.at("id"));
  EXPECT_EQ(str(visit.at("patientId")), patient);
  EXPECT_EQ(str(visit.at("requestedBy")), night.id("nurse1"));
  EXPECT_EQ(str(visit.at("status")), "OFFERED");  // dispatched at once to the nearest team
  EXPECT_TRUE(visit.contains("eta"));
  EXPECT_GE(visit.at("history").as_array().size(), 2u);

  // The doctor's phone gets the offer with the patient's address and allergies.
  auto offer_ev = doctor_stream->wait_type("offer");
  ASSERT_TRUE(offer_ev) << night.process().output();
  auto offer = offer_ev->at("offer").as_object();
  EXPECT_EQ(str(offer.at("visitId")), visit_id);
  EXPECT_EQ(str(offer.at("teamId")), night.team_of("doctor1"));
  EXPECT_EQ(str(offer.at("patient").at("allergies")), "penicillin");
  EXPECT_TRUE(offer.contains("expiresAt"));
  EXPECT_FALSE(str(offer_ev->at("seq")).empty());
  std::string offer_id = str(offer.at("id"));

  auto offers = night.get("driver1", "/v1/offers");
  ASSERT_EQ(offers.status, 200u);
  ASSERT_EQ(offers.json().at("offers").as_array().size(), 1u);

  auto accepted = night.post_empty("doctor1", "/v1/offers/" + offer_id + "/accept");
  ASSERT_EQ(accepted.status, 200u) << accepted.body;
  EXPECT_EQ(str(accepted.json().at("status")), "ASSIGNED");
  EXPECT_EQ(str(accepted.json().at("teamId")), night.team_of("doctor1"));
  // Accepting twice: the offer is no longer pending.
  auto again = night.post_empty("doctor1", "/v1/offers/" + offer_id + "/accept");
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(again.error_code(), "OFFER_NOT_PENDING");

  // Out of order progress is refused.
  auto early = night.post_empty("doctor1", "/v1/visits/" + visit_id + "/arrive");
  EXPECT_EQ(early.status, 409u);
  EXPECT_EQ(early.error_code(), "INVALID_TRANSITION");
  // Another team cannot move it.
  EXPECT_EQ(night.post_empty("doctor2", "/v1/visits/" + visit_id + "/depart").status, 404u);

  for (const char* step : {"depart", "arrive"}) {
    auto r = night.post_empty("driver1", "/v1/visits/" + visit_id + "/" + step);
    ASSERT_EQ(r.status, 200u) << step << r.body;
  }
  // While the team holds the visit, the doctor may read the patient.
  EXPECT_EQ(night.get("doctor1", "/v1/patients/" + patient).status, 200u);
  EXPECT_EQ(night.get("doctor2", "/v1/patients/" + patient).status, 404u);

  // The nurse's organization follows along on the stream.
  auto updated = nurse_stream->wait_for([&](const json::object& e) {
    return e.at("type").as_string() == "visitUpdated" &&
           e.at("visitUpdated").at("status").as_string() == "ON_SITE";
  });
  ASSERT_TRUE(updated);

  json::object summary{
      {"findings", "SpO2 91%, crackles right lower lobe"},
      {"diagnoses", json::array{"aspiration pneumonia"}},
      {"treatment", "ceftriaxone 1g IV"},
      {"prescriptions",
       json::array{json::object{{"drug", "amoxicillin"}, {"dose", "500mg x3"}, {"days", 5}}}},
      {"disposition", "STAYED_HOME"},
      {"instructionsForCareTeam", "check SpO2 every 4 hours"},
      {"followUpForPrimaryDoctor", "please see tomorrow"}};
  EXPECT_EQ(night.post("driver1", "/v1/visits/" + visit_id + "/summary", summary).status, 403u);
  auto posted = night.post("doctor1", "/v1/visits/" + visit_id + "/summary", summary);
  ASSERT_EQ(posted.status, 201u) << posted.body;
  auto billing = posted.json().at("billing").as_object();
  EXPECT_GE(billing.at("totalPoints").as_int64(), 720 + 325);
  EXPECT_EQ(str(billing.at("items").as_array().at(0).at("code")), "C000");
  EXPECT_EQ(str(posted.json().at("authorId")), night.id("doctor1"));
  EXPECT_EQ(night.post("doctor1", "/v1/visits/" + visit_id + "/summary", summary).status, 409u);

  auto completed = night.post_empty("doctor1", "/v1/visits/" + visit_id + "/complete");
  ASSERT_EQ(completed.status, 200u);
  EXPECT_EQ(str(completed.json().at("status")), "COMPLETED");
  auto teams = night.get("staff1", "/v1/teams");
  for (const auto& t : teams.json().at("teams").as_array()) {
    if (t.at("id").as_string() == night.team_of("doctor1")) {
      EXPECT_EQ(str(t.at("status")), "AVAILABLE");
      EXPECT_NEAR(t.at("location").at("lat").as_double(), Night::kCenterLat + 0.01, 1e-9);
    }
  }

  // Delivered to the primary doctor: stream and inbox; acknowledged.
  auto pushed = primary_stream->wait_type("visitSummary");
  ASSERT_TRUE(pushed);
  std::string item_id = str(pushed->at("visitSummary").at("id"));
  auto inbox = night.get("primary1", "/v1/inbox?unacknowledged=true");
  ASSERT_EQ(inbox.status, 200u);
  auto items = inbox.json().at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(str(items[0].at("id")), item_id);
  EXPECT_EQ(str(items[0].at("summary").at("findings")), "SpO2 91%, crackles right lower lobe");
  EXPECT_EQ(night.post_empty("primary2", "/v1/inbox/" + item_id + "/ack").status, 404u);
  EXPECT_EQ(night.post_empty("primary1", "/v1/inbox/" + item_id + "/ack").status, 204u);
  auto after = night.get("primary1", "/v1/inbox");
  EXPECT_TRUE(after.json().at("items").as_array()[0].as_object().contains("acknowledgedAt"));
  EXPECT_TRUE(
      night.get("primary1", "/v1/inbox?unacknowledged=true").json().at("items").as_array().empty());
  // The requesting organization has its own item that any member may acknowledge.
  auto org_inbox = night.get("nurse2", "/v1/inbox");
  ASSERT_EQ(org_inbox.json().at("items").as_array().size(), 1u);
  std::string org_item = str(org_inbox.json().at("items").as_array()[0].at("id"));
  EXPECT_NE(org_item, item_id);
  EXPECT_EQ(night.post_empty("nurse2", "/v1/inbox/" + org_item + "/ack").status, 204u);

  // The FHIR document.
  auto fhir = night.get("primary1", "/v1/visits/" + visit_id + "/fhir");
  ASSERT_EQ(fhir.status, 200u) << fhir.body;
  EXPECT_NE(fhir.header("content-type").find("application/fhir+json"), std::string::npos);
  auto bundle = fhir.json().as_object();
  EXPECT_EQ(str(bundle.at("type")), "document");
  EXPECT_EQ(str(bundle.at("entry").as_array()[0].at("resource").at("resourceType")), "Composition");
  EXPECT_EQ(night.get("othernurse", "/v1/visits/" + visit_id + "/fhir").status, 404u);

  // Every patient-data access was audited, and the chain verifies.
  auto audit = night.get("admin", "/v1/audit");
  std::set<std::string> actions;
  for (const auto& e : audit.json().at("entries").as_array()) {
    actions.insert(str(e.at("action")));
  }
  for (const char* a : {"patient.create", "visit.create", "offer.accept", "visit.arrive",
                        "summary.create", "inbox.ack", "visit.fhir", "patient.read"}) {
    EXPECT_TRUE(actions.count(a)) << a;
  }
  EXPECT_TRUE(night.get("admin", "/v1/audit/verify").json().at("ok").as_bool());
}

TEST(Visits, RefusalsAreRecordedAndAnswered422WithTheVisitId) {
  TempDir dir;
  Night night(dir.path());
  std::string near = night.make_patient("Near", Night::kCenterLat, Night::kCenterLon + 0.01);
  std::string far = night.make_patient("Far", Night::kCenterLat + 0.3, Night::kCenterLon);
  auto r = night.post("nurse1", "/v1/visits",
                      {{"patientId", near},
                       {"urgency", "URGENT"},
                       {"reason", "ACUTE_CHANGE"},
                       {"chiefComplaint", "not breathing"},
                       {"lifeThreatening", true}});
  ASSERT_EQ(r.status, 422u);
  EXPECT_EQ(r.error_code(), "CALL_EMERGENCY_SERVICES");
  std::string rejected = str(r.json().at("error").at("visitId"));
  auto stored = night.get("nurse1", "/v1/visits/" + rejected);
  ASSERT_EQ(stored.status, 200u);
  EXPECT_EQ(str(stored.json().at("status")), "REJECTED");

  auto out = night.request_visit("nurse1", far);
  ASSERT_EQ(out.status, 422u);
  EXPECT_EQ(out.error_code(), "OUT_OF_SERVICE_AREA");
  EXPECT_FALSE(str(out.json().at("error").at("visitId")).empty());

  // Validation.
  EXPECT_EQ(night
                .post("nurse1", "/v1/visits",
                      {{"patientId", near}, {"urgency", "URGENT"}, {"reason", "ACUTE_CHANGE"}})
                .status,
            400u);  // chiefComplaint required
  EXPECT_EQ(night
                .post("nurse1", "/v1/visits",
                      {{"patientId", near},
                       {"urgency", "NOW"},
                       {"reason", "ACUTE_CHANGE"},
                       {"chiefComplaint", "x"}})
                .status,
            400u);
  // Roles: a doctor may never post a visit; STAFF must say for whom.
  EXPECT_EQ(night.request_visit("doctor1", near).status, 403u);
  auto staff = night.request_visit("staff1", near);
  EXPECT_EQ(staff.status, 400u);
  EXPECT_EQ(staff.error_code(), "INVALID_ARGUMENT");
  auto behalf = night.post("staff1", "/v1/visits",
                           {{"patientId", near},
                            {"urgency", "SOON"},
                            {"reason", "OTHER"},
                            {"chiefComplaint", "catheter blocked"},
                            {"onBehalfOf", night.id("nurse1")}});
  ASSERT_EQ(behalf.status, 201u) << behalf.body;
  EXPECT_EQ(str(behalf.json().at("requestedBy")), night.id("nurse1"));
  auto wrong_kind = night.post("staff1", "/v1/visits",
                               {{"patientId", near},
                                {"urgency", "SOON"},
                                {"reason", "OTHER"},
                                {"chiefComplaint", "x"},
                                {"onBehalfOf", night.id("doctor1")}});
  EXPECT_EQ(wrong_kind.status, 400u);
  // Requester's organization not in the care team: 404.
  EXPECT_EQ(night.request_visit("othernurse", near).status, 404u);
}

TEST(Visits, OutsideServiceHoursIsRefused) {
  TempDir dir;
  // A window that starts two hours from now (Tokyo time) and ends an hour later: now is outside.
  auto now = std::chrono::system_clock::now() + std::chrono::hours(9);
  auto mins =
      std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count() % (24 * 60);
  auto hhmm = [](long long m) {
    m = ((m % 1440) + 1440) % 1440;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", m / 60, m % 60);
    return std::string(buf);
  };
  json::object config{{"serviceHours",
                       {{"always", false},
                        {"weeknightStart", hhmm(mins + 120)},
                        {"weeknightEnd", hhmm(mins + 180)},
                        {"holidaysAllDay", false}}}};
  Night night(dir.path(), config);
  std::string p = night.make_patient("P", Night::kCenterLat, Night::kCenterLon);
  auto r = night.request_visit("nurse1", p);
  ASSERT_EQ(r.status, 422u) << r.body;
  EXPECT_EQ(r.error_code(), "OUTSIDE_SERVICE_HOURS");
}

TEST(Visits, ReachRulesBothWays) {
  TempDir dir;
  Night night(dir.path());
  std::string p = night.make_patient("Reach", Night::kCenterLat, Night::kCenterLon + 0.005);
  // Care team members and the primary doctor see the patient; others get 404; ADMIN 403.
  EXPECT_EQ(night.get("nurse2", "/v1/patients/" + p).status, 200u);
  EXPECT_EQ(night.get("cm1", "/v1/patients/" + p).status, 200u);
  EXPECT_EQ(night.get("primary1", "/v1/patients/" + p).status, 200u);
  EXPECT_EQ(night.get("staff1", "/v1/patients/" + p).status, 200u);
  EXPECT_EQ(night.get("othernurse", "/v1/patients/" + p).status, 404u);
  EXPECT_EQ(night.get("primary2", "/v1/patients/" + p).status, 404u);
  EXPECT_EQ(night.get("doctor1", "/v1/patients/" + p).status, 404u);
  EXPECT_EQ(night.get("admin", "/v1/patients/" + p).status, 403u);
  EXPECT_EQ(night.get("othernurse", "/v1/patients").json().at("patients").as_array().size(), 0u);
  EXPECT_EQ(night.get("nurse1", "/v1/patients").json().at("patients").as_array().size(), 1u);
  // A nurse must list her own organization in the care team; the primary doctor must be one.
  auto bad = night.post("othernurse", "/v1/patients",
                        {{"name", "X"},
                         {"birthDate", "1940-01-01"},
                         {"sex", "MALE"},
                         {"address", "a"},
                         {"location", {{"lat", 35.67}, {"lon", 139.39}}},
                         {"primaryDoctorId", night.id("primary1")},
                         {"careTeamOrganizationIds", json::array{night.org("station")}}});
  EXPECT_EQ(bad.status, 400u);
  auto not_primary = night.post("nurse1", "/v1/patients",
                                {{"name", "X"},
                                 {"birthDate", "1940-01-01"},
                                 {"sex", "MALE"},
                                 {"address", "a"},
                                 {"location", {{"lat", 35.67}, {"lon", 139.39}}},
                                 {"primaryDoctorId", night.id("doctor1")},
                                 {"careTeamOrganizationIds", json::array{night.org("station")}}});
  EXPECT_EQ(not_primary.status, 400u);
  EXPECT_EQ(not_primary.json().at("error").at("field").as_string(), "primaryDoctorId");
  EXPECT_EQ(
      night.post("nurse1", "/v1/patients", {{"name", "X"}, {"birthDate", "1940-02-30"}}).status,
      400u);
  EXPECT_EQ(night.post("doctor1", "/v1/patients", {{"name", "X"}}).status, 403u);

  auto v = night.request_visit("nurse1", p);
  ASSERT_EQ(v.status, 201u);
  std::string vid = str(v.json().at("id"));
  EXPECT_EQ(night.get("nurse2", "/v1/visits/" + vid).status, 200u);
  EXPECT_EQ(night.get("othernurse", "/v1/visits/" + vid).status, 404u);
  EXPECT_EQ(night.get("primary2", "/v1/visits/" + vid).status, 404u);
  EXPECT_EQ(night.get("admin", "/v1/visits/" + vid).status, 403u);
  EXPECT_EQ(night.get("othernurse", "/v1/visits").json().at("visits").as_array().size(), 0u);
  EXPECT_EQ(night.get("staff1", "/v1/visits?status=OFFERED").json().at("visits").as_array().size(),
            1u);
  EXPECT_EQ(night.get("staff1", "/v1/visits?status=BOGUS").status, 400u);
  EXPECT_EQ(night.get("staff1", "/v1/visits?from=2199-01-01T00:00:00Z")
                .json()
                .at("visits")
                .as_array()
                .size(),
            0u);
  // Cancel: another organization may not; the requester's may; a pending offer is withdrawn.
  auto doctor_stream = StreamClient::connect(night.port(), night.token("doctor1"));
  EXPECT_EQ(night.post("othernurse", "/v1/visits/" + vid + "/cancel", {{"reason", "x"}}).status,
            404u);
  auto cancelled = night.post("nurse2", "/v1/visits/" + vid + "/cancel", {{"reason", "improved"}});
  ASSERT_EQ(cancelled.status, 200u) << cancelled.body;
  EXPECT_EQ(str(cancelled.json().at("status")), "CANCELLED");
  auto withdrawn = doctor_stream->wait_type("offerWithdrawn");
  ASSERT_TRUE(withdrawn);
  EXPECT_EQ(str(withdrawn->at("offerWithdrawn").at("reason")), "CANCELLED");
  EXPECT_EQ(night.post("nurse2", "/v1/visits/" + vid + "/cancel", {{"reason", "x"}}).status, 409u);
}

TEST(Visits, IdempotentRetryCreatesOneVisit) {
  TempDir dir;
  Night night(dir.path());
  std::string p = night.make_patient("Idem", Night::kCenterLat, Night::kCenterLon);
  json::object body{
      {"patientId", p}, {"urgency", "SOON"}, {"reason", "END_OF_LIFE"}, {"chiefComplaint", "pain"}};
  std::map<std::string, std::string> key{{"Idempotency-Key", "visit-1"}};
  auto first = night.post("nurse1", "/v1/visits", body, key);
  ASSERT_EQ(first.status, 201u) << first.body;
  auto second = night.post("nurse1", "/v1/visits", body, key);
  EXPECT_EQ(second.status, 201u);
  EXPECT_EQ(second.json().at("id"), first.json().at("id"));
  body["urgency"] = "URGENT";
  EXPECT_EQ(night.post("nurse1", "/v1/visits", body, key).error_code(), "IDEMPOTENCY_KEY_REUSED");
  // Scoped to the account: another nurse's same key is a new request.
  body["urgency"] = "SOON";
  auto other = night.post("nurse2", "/v1/visits", body, key);
  EXPECT_EQ(other.status, 201u);
  EXPECT_NE(other.json().at("id"), first.json().at("id"));
  EXPECT_EQ(night.get("staff1", "/v1/visits").json().at("visits").as_array().size(), 2u);
}

TEST(Visits, DeclineMovesTheOfferToTheOtherTeam) {
  TempDir dir;
  Night night(dir.path());
  std::string p = night.make_patient("Decline", Night::kCenterLat, Night::kCenterLon + 0.01);
  auto s1 = StreamClient::connect(night.port(), night.token("doctor1"));
  auto s2 = StreamClient::connect(night.port(), night.token("doctor2"));
  ASSERT_TRUE(night.request_visit("nurse1", p).status == 201u);
  auto o1 = s1->wait_type("offer");
  ASSERT_TRUE(o1);
  std::string oid = str(o1->at("offer").at("id"));
  auto d = night.post("doctor1", "/v1/offers/" + oid + "/decline", {{"reason", "still busy"}});
  ASSERT_EQ(d.status, 204u) << d.body;
  auto o2 = s2->wait_type("offer");
  ASSERT_TRUE(o2) << "the visit was not re-offered";
  EXPECT_EQ(str(o2->at("offer").at("teamId")), night.team_of("doctor2"));
  EXPECT_EQ(str(o2->at("offer").at("visitId")), str(o1->at("offer").at("visitId")));
  auto w = s1->wait_type("offerWithdrawn");
  ASSERT_TRUE(w);
  EXPECT_EQ(str(w->at("offerWithdrawn").at("reason")), "DECLINED");
  EXPECT_EQ(night.post("doctor1", "/v1/offers/" + oid + "/accept", {}).status, 409u);
  EXPECT_EQ(night.post("doctor1", "/v1/offers/ofr_999999/accept", {}).status, 404u);
}

TEST(Visits, AnUnansweredOfferExpiresAndMovesOn) {
  TempDir dir;
  Night night(dir.path(), json::object{{"offerTimeoutSeconds", 2}});
  std::string p = night.make_patient("Expire", Night::kCenterLat, Night::kCenterLon + 0.01);
  auto s1 = StreamClient::connect(night.port(), night.token("doctor1"));
  auto s2 = StreamClient::connect(night.port(), night.token("doctor2"));
  ASSERT_EQ(night.request_visit("nurse1", p).status, 201u);
  auto o1 = s1->wait_type("offer");
  ASSERT_TRUE(o1);
  auto w = s1->wait_type("offerWithdrawn", std::chrono::seconds(20));
  ASSERT_TRUE(w);
  EXPECT_EQ(str(w->at("offerWithdrawn").at("reason")), "EXPIRED");
  auto o2 = s2->wait_type("offer", std::chrono::seconds(20));
  ASSERT_TRUE(o2);
  EXPECT_EQ(str(o2->at("offer").at("visitId")), str(o1->at("offer").at("visitId")));
}

TEST(Visits, StreamReplaysWhatADroppedConnectionMissed) {
  TempDir dir;
  Night night(dir.path());
  std::string p = night.make_patient("Replay", Night::kCenterLat, Night::kCenterLon + 0.01);
  std::string last_seq;
  {
    auto s = StreamClient::connect(night.port(), night.token("nurse1"));
    ASSERT_EQ(night.request_visit("nurse1", p).status, 201u);
    auto ev = s->wait_type("visitUpdated");
    ASSERT_TRUE(ev);
    last_seq = str(ev->at("seq"));
  }  // the phone loses its connection
  // Meanwhile the visit moves on.
  auto offers = night.get("doctor1", "/v1/offers").json().at("offers").as_array();
  ASSERT_EQ(offers.size(), 1u);
  ASSERT_EQ(night.post_empty("doctor1", "/v1/offers/" + str(offers[0].at("id")) + "/accept").status,
            200u);
  auto s = StreamClient::connect(night.port(), night.token("nurse1"), "?since=" + last_seq);
  ASSERT_TRUE(s);
  auto assigned = s->wait_for([](const json::object& e) {
    return e.at("type").as_string() == "visitUpdated" &&
           e.at("visitUpdated").at("status").as_string() == "ASSIGNED";
  });
  ASSERT_TRUE(assigned) << "the missed update was not replayed";
  EXPECT_GT(std::stoll(str(assigned->at("seq"))), std::stoll(last_seq));
  // A bad token cannot open the stream; a ticket works once.
  unsigned status = 0;
  EXPECT_FALSE(StreamClient::connect(night.port(), "bogus", {}, &status));
  EXPECT_EQ(status, 401u);
  auto ticket = night.post_empty("nurse1", "/v1/stream-tickets");
  ASSERT_EQ(ticket.status, 201u);
  std::string t = str(ticket.json().at("ticket"));
  EXPECT_TRUE(StreamClient::connect(night.port(), {}, "?ticket=" + t));
  EXPECT_FALSE(StreamClient::connect(night.port(), {}, "?ticket=" + t, &status));
  EXPECT_EQ(status, 401u);
}

TEST(Visits, KillNineAtEachStepLosesNothingAnswered) {
  TempDir dir;
  Night night(dir.path(), json::object{{"offerTimeoutSeconds", 600}});
  std::string p = night.make_patient("Crash", Night::kCenterLat, Night::kCenterLon + 0.01);
  auto created = night.request_visit("nurse1", p);
  ASSERT_EQ(created.status, 201u);
  std::string vid = str(created.json().at("id"));
  auto offers = night.get("doctor1", "/v1/offers").json().at("offers").as_array();
  ASSERT_EQ(offers.size(), 1u);
  std::string oid = str(offers[0].at("id"));
  std::string expires = str(offers[0].at("expiresAt"));

  night.restart_after_kill();  // after the request
  night.relogin_all();
  auto v = night.get("nurse1", "/v1/visits/" + vid);
  ASSERT_EQ(v.status, 200u);
  EXPECT_EQ(str(v.json().at("status")), "OFFERED");
  auto still = night.get("doctor1", "/v1/offers").json().at("offers").as_array();
  ASSERT_EQ(still.size(), 1u);
  EXPECT_EQ(str(still[0].at("id")), oid);
  EXPECT_EQ(str(still[0].at("expiresAt")), expires);  // the offer keeps its remaining time

  ASSERT_EQ(night.post_empty("doctor1", "/v1/offers/" + oid + "/accept").status, 200u);
  night.restart_after_kill();  // after accept
  night.relogin_all();
  EXPECT_EQ(str(night.get("nurse1", "/v1/visits/" + vid).json().at("status")), "ASSIGNED");
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + vid + "/depart").status, 200u);
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + vid + "/arrive").status, 200u);
  auto posted = night.post("doctor1", "/v1/visits/" + vid + "/summary",
                           {{"findings", "stable"},
                            {"diagnoses", json::array{"dehydration"}},
                            {"disposition", "STAYED_HOME"}});
  ASSERT_EQ(posted.status, 201u) << posted.body;
  night.restart_after_kill();  // after the summary
  night.relogin_all();
  auto inbox = night.get("primary1", "/v1/inbox").json().at("items").as_array();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(str(inbox[0].at("visitId")), vid);
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + vid + "/complete").status, 200u);
  EXPECT_TRUE(night.get("admin", "/v1/audit/verify").json().at("ok").as_bool());
}

}  // namespace
}  // namespace oshin::testing

namespace oshin::testing {
namespace {

// The error codes of the team, offer, progress, summary and inbox endpoints, each with the
// status and code API.md gives it, against a live server with several accounts of each role.
TEST(Visits, ErrorCodesOfTeamsOffersSummariesAndInbox) {
  TempDir dir;
  Night night(dir.path());
  struct Expect {
    unsigned status;
    const char* code;
  };
  auto check = [](const HttpResult& r, Expect e, const std::string& what) {
    EXPECT_EQ(r.status, e.status) << what << ": " << r.body;
    EXPECT_EQ(r.error_code(), e.code) << what;
  };
  const Expect unauthenticated{401, "UNAUTHENTICATED"};
  const Expect denied{403, "PERMISSION_DENIED"};
  const Expect invalid{400, "INVALID_ARGUMENT"};
  const Expect not_found{404, "NOT_FOUND"};
  const Expect transition{409, "INVALID_TRANSITION"};

  // Every domain endpoint needs a token.
  for (auto [method, target] :
       std::vector<std::pair<verb, std::string>>{{verb::get, "/v1/patients"},
                                                 {verb::post, "/v1/patients"},
                                                 {verb::get, "/v1/teams"},
                                                 {verb::post, "/v1/teams"},
                                                 {verb::get, "/v1/visits"},
                                                 {verb::post, "/v1/visits"},
                                                 {verb::get, "/v1/offers"},
                                                 {verb::get, "/v1/inbox"},
                                                 {verb::post, "/v1/stream-tickets"}}) {
    check(http_call(night.port(), method, target, "{}", ""), unauthenticated, target);
  }

  // Teams: STAFF only; accounts of the right kind; a shift that ends after it starts.
  std::string team1 = night.team_of("doctor1");
  json::object team{{"doctorId", night.id("doctor1")},
                    {"driverId", night.id("driver1")},
                    {"vehicle", "car 9"},
                    {"shiftStart", "2026-11-24T10:00:00Z"},
                    {"shiftEnd", "2026-11-24T22:00:00Z"},
                    {"base", {{"lat", Night::kCenterLat}, {"lon", Night::kCenterLon}}},
                    {"skills", json::array{}}};
  check(night.post("nurse1", "/v1/teams", team), denied, "nurse creates a team");
  check(night.post("doctor1", "/v1/teams", team), denied, "doctor creates a team");
  auto wrong_doctor = team;
  wrong_doctor["doctorId"] = night.id("nurse1");
  check(night.post("staff1", "/v1/teams", wrong_doctor), invalid, "doctorId of a nurse");
  auto wrong_driver = team;
  wrong_driver["driverId"] = night.id("doctor2");
  check(night.post("staff1", "/v1/teams", wrong_driver), invalid, "driverId of a doctor");
  auto backwards = team;
  backwards["shiftEnd"] = "2026-11-24T09:00:00Z";
  check(night.post("staff1", "/v1/teams", backwards), invalid, "shift ends before it starts");
  auto bad_skill = team;
  bad_skill["skills"] = json::array{"SURGERY"};
  check(night.post("staff1", "/v1/teams", bad_skill), invalid, "unknown skill");
  auto extra = team;
  extra["colour"] = "red";
  check(night.post("staff1", "/v1/teams", extra), invalid, "unknown field");

  // Location: the team's own doctor or driver, a real coordinate.
  auto moved = night.post("driver1", "/v1/teams/" + team1 + "/location",
                          {{"lat", Night::kCenterLat}, {"lon", Night::kCenterLon + 0.001}});
  EXPECT_EQ(moved.status, 204u) << moved.body;
  check(night.post("doctor2", "/v1/teams/" + team1 + "/location",
                   {{"lat", Night::kCenterLat}, {"lon", Night::kCenterLon}}),
        not_found, "another team's location");
  check(night.post("driver1", "/v1/teams/" + team1 + "/location", {{"lat", 91.0}, {"lon", 0.0}}),
        invalid, "latitude out of range");
  check(night.post("nurse1", "/v1/teams/" + team1 + "/location", {{"lat", 35.0}, {"lon", 139.0}}),
        denied, "a nurse moves a team");

  // Offers: unknown, someone else's, wrong role.
  std::string patient = night.make_patient("Errors", Night::kCenterLat, Night::kCenterLon + 0.002);
  auto doctor_stream = StreamClient::connect(night.port(), night.token("doctor1"));
  ASSERT_TRUE(doctor_stream);
  auto created = night.request_visit("nurse1", patient);
  ASSERT_EQ(created.status, 201u) << created.body;
  std::string visit = str(created.json().at("id"));
  auto offer_ev = doctor_stream->wait_type("offer");
  ASSERT_TRUE(offer_ev);
  std::string offer = str(offer_ev->at("offer").at("id"));
  check(night.post_empty("doctor1", "/v1/offers/off_unknown/accept"), not_found, "unknown offer");
  check(night.post_empty("doctor2", "/v1/offers/" + offer + "/accept"), not_found,
        "another team's offer");
  check(night.post_empty("nurse1", "/v1/offers/" + offer + "/accept"), denied, "nurse accepts");
  check(night.post("doctor1", "/v1/offers/" + offer + "/decline", {{"because", "x"}}), invalid,
        "decline with an unknown field");

  // Progress and summary before their time.
  // Until the team accepts, the visit is not the team's: 404 as for any visit out of reach.
  check(night.post_empty("doctor1", "/v1/visits/" + visit + "/depart"), not_found,
        "depart before accepting");
  ASSERT_EQ(night.post_empty("doctor1", "/v1/offers/" + offer + "/accept").status, 200u);
  json::object summary{{"findings", "stable"},
                       {"diagnoses", json::array{"dehydration"}},
                       {"treatment", "fluids"},
                       {"prescriptions", json::array{}},
                       {"disposition", "STAYED_HOME"},
                       {"instructionsForCareTeam", "fluids"},
                       {"followUpForPrimaryDoctor", "none"}};
  check(night.post("doctor1", "/v1/visits/" + visit + "/summary", summary), transition,
        "summary before arriving");
  check(night.post_empty("doctor1", "/v1/visits/" + visit + "/complete"), transition,
        "complete before arriving");
  check(night.post_empty("nurse1", "/v1/visits/" + visit + "/depart"), denied, "nurse departs");
  check(night.post_empty("doctor2", "/v1/visits/" + visit + "/depart"), not_found,
        "another team departs");
  check(night.post_empty("doctor1", "/v1/visits/vis_unknown/depart"), not_found, "unknown visit");
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + visit + "/depart").status, 200u);
  ASSERT_EQ(night.post_empty("doctor1", "/v1/visits/" + visit + "/arrive").status, 200u);
  auto no_findings = summary;
  no_findings.erase("findings");
  check(night.post("doctor1", "/v1/visits/" + visit + "/summary", no_findings), invalid,
        "summary without findings");
  auto bad_disposition = summary;
  bad_disposition["disposition"] = "VANISHED";
  check(night.post("doctor1", "/v1/visits/" + visit + "/summary", bad_disposition), invalid,
        "unknown disposition");
  check(night.post("nurse1", "/v1/visits/" + visit + "/summary", summary), denied,
        "nurse writes the summary");
  check(night.post("doctor2", "/v1/visits/" + visit + "/summary", summary), not_found,
        "another team's doctor writes the summary");

  // Inbox: unknown items and other people's items look the same.
  check(night.post_empty("primary1", "/v1/inbox/inb_unknown/ack"), not_found, "unknown item");
  check(night.post_empty("doctor1", "/v1/inbox/inb_unknown/ack"), denied, "doctor acks");
  ASSERT_EQ(night.post("doctor1", "/v1/visits/" + visit + "/summary", summary).status, 201u);
  auto inbox = night.get("primary1", "/v1/inbox");
  ASSERT_EQ(inbox.json().at("items").as_array().size(), 1u);
  std::string item = str(inbox.json().at("items").as_array()[0].at("id"));
  check(night.post_empty("primary2", "/v1/inbox/" + item + "/ack"), not_found,
        "another doctor's item");
  check(night.post_empty("othernurse", "/v1/inbox/" + item + "/ack"), not_found,
        "another organization's member");
  check(night.get("primary1", "/v1/inbox?unacknowledged=maybe"), invalid, "bad flag");

  // FHIR: reach as for the visit; unknown visit.
  check(night.get("primary2", "/v1/visits/" + visit + "/fhir"), not_found, "FHIR out of reach");
  check(night.get("primary1", "/v1/visits/vis_unknown/fhir"), not_found, "FHIR unknown visit");
}

// The working state, in-flight changes and the committed view share one immutable copy of each
// visit (copy-on-write): every answer of a write must still be what a later read returns, a
// version answered earlier must not change under a later write, and a restart must read back
// the same visits byte for byte.
TEST(Visits, AnswersMatchLaterReadsAndARestartReadsTheSameVisits) {
  TempDir dir;
  Night night(dir.path());
  std::string near = night.make_patient("Near", Night::kCenterLat, Night::kCenterLon + 0.01);
  std::string far = night.make_patient("Far", Night::kCenterLat + 0.3, Night::kCenterLon);
  auto read = [&](const std::string& id) { return night.get("staff1", "/v1/visits/" + id); };
  // The doctor whose team holds the pending offer `offer_id`.
  auto offered_to = [&](const std::string& offer_id) {
    for (const char* doctor : {"doctor1", "doctor2"}) {
      auto offers = night.get(doctor, "/v1/offers").json();
      for (const auto& o : offers.at("offers").as_array()) {
        if (o.at("id").as_string() == offer_id) {
          return std::string(doctor);
        }
      }
    }
    return std::string();
  };

  auto refused = night.request_visit("nurse1", far);
  ASSERT_EQ(refused.status, 422u) << refused.body;
  std::string rejected = str(refused.json().at("error").at("visitId"));

  // One visit through every step; each answer is the version the next read returns.
  auto created = night.request_visit("nurse1", near);
  ASSERT_EQ(created.status, 201u) << created.body;
  std::string completed = str(created.json().at("id"));
  ASSERT_EQ(str(created.json().at("status")), "OFFERED");
  EXPECT_EQ(read(completed).body, created.body);
  std::string doctor = offered_to(str(created.json().at("offerId")));
  ASSERT_FALSE(doctor.empty());
  auto accepted =
      night.post_empty(doctor, "/v1/offers/" + str(created.json().at("offerId")) + "/accept");
  ASSERT_EQ(accepted.status, 200u) << accepted.body;
  EXPECT_EQ(read(completed).body, accepted.body);
  for (const char* step : {"depart", "arrive"}) {
    auto r = night.post_empty(doctor, "/v1/visits/" + completed + "/" + step);
    ASSERT_EQ(r.status, 200u) << step << r.body;
    EXPECT_EQ(read(completed).body, r.body) << step;
  }
  auto before_summary = read(completed);
  json::object summary{{"findings", "stable"}, {"disposition", "STAYED_HOME"}};
  auto posted = night.post(doctor, "/v1/visits/" + completed + "/summary", summary);
  ASSERT_EQ(posted.status, 201u) << posted.body;
  auto with_summary = read(completed);
  EXPECT_NE(with_summary.body, before_summary.body) << "the summary id is on the visit";
  EXPECT_EQ(str(with_summary.json().at("summaryId")), str(posted.json().at("id")));
  auto done = night.post_empty(doctor, "/v1/visits/" + completed + "/complete");
  ASSERT_EQ(done.status, 200u) << done.body;
  EXPECT_EQ(str(done.json().at("status")), "COMPLETED");
  EXPECT_EQ(str(done.json().at("summaryId")), str(posted.json().at("id")));
  EXPECT_EQ(read(completed).body, done.body);

  // A cancelled visit, and one left assigned.
  auto to_cancel = night.request_visit("nurse1", near);
  ASSERT_EQ(to_cancel.status, 201u) << to_cancel.body;
  std::string cancelled = str(to_cancel.json().at("id"));
  auto cancel = night.post("nurse1", "/v1/visits/" + cancelled + "/cancel", {{"reason", "better"}});
  ASSERT_EQ(cancel.status, 200u) << cancel.body;
  EXPECT_EQ(str(cancel.json().at("status")), "CANCELLED");
  EXPECT_EQ(read(cancelled).body, cancel.body);
  auto active = night.request_visit("nurse1", near);
  ASSERT_EQ(active.status, 201u) << active.body;
  std::string assigned = str(active.json().at("id"));
  std::string active_offer = str(active.json().at("offerId"));
  auto took = night.post_empty(offered_to(active_offer), "/v1/offers/" + active_offer + "/accept");
  ASSERT_EQ(took.status, 200u) << took.body;
  EXPECT_EQ(read(assigned).body, took.body);

  std::map<std::string, std::string> bodies;
  for (const auto& id : {rejected, completed, cancelled, assigned}) {
    auto r = read(id);
    ASSERT_EQ(r.status, 200u) << id << r.body;
    bodies[id] = r.body;
  }
  auto list = night.get("staff1", "/v1/visits");
  ASSERT_EQ(list.status, 200u);
  EXPECT_EQ(list.json().at("visits").as_array().size(), 4u);
  EXPECT_EQ(night.get("primary1", "/v1/visits/" + completed + "/fhir").status, 200u);

  auto same_after = [&](const char* what) {
    for (const auto& [id, body] : bodies) {
      EXPECT_EQ(read(id).body, body) << what << " " << id;
    }
    EXPECT_EQ(night.get("staff1", "/v1/visits").body, list.body) << what;
    EXPECT_EQ(night.get("primary1", "/v1/visits/" + completed + "/fhir").status, 200u) << what;
  };
  night.restart_after_term();
  same_after("after SIGTERM");
  night.restart_after_kill();
  same_after("after kill -9");
  // The restarted working state still moves the assigned visit on.
  auto assigned_team = str(took.json().at("teamId"));
  std::string assigned_doctor = assigned_team == night.team_of("doctor1") ? "doctor1" : "doctor2";
  auto departed = night.post_empty(assigned_doctor, "/v1/visits/" + assigned + "/depart");
  ASSERT_EQ(departed.status, 200u) << departed.body;
  EXPECT_EQ(read(assigned).body, departed.body);
  EXPECT_EQ(read(completed).body, bodies[completed]);
}

}  // namespace
}  // namespace oshin::testing
