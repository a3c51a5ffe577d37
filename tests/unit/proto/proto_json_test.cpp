// Round trips through the proto3 canonical JSON mapping: the JSON names API.md fixes.

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/audit.pb.h"
#include "oshin/v1/config.pb.h"
#include "oshin/v1/error.pb.h"
#include "oshin/v1/health.pb.h"
#include "oshin/v1/inbox.pb.h"
#include "oshin/v1/internal.pb.h"
#include "oshin/v1/offers.pb.h"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/reports.pb.h"
#include "oshin/v1/stream.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/teams.pb.h"
#include "oshin/v1/visits.pb.h"

namespace {

namespace pb = google::protobuf;
namespace v1 = oshin::v1;

/// Parses strictly (unknown fields rejected), as the server does.
pb::util::Status parse(std::string_view json, pb::Message* msg) {
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  return pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), msg, opts);
}

/// Prints the way the server answers: defaults included.
std::string print(const pb::Message& msg) {
  pb::util::JsonPrintOptions opts;
  opts.always_print_primitive_fields = true;
  std::string out;
  const auto status = pb::util::MessageToJsonString(msg, &out, opts);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

/// Prints without defaults.
std::string print_sparse(const pb::Message& msg) {
  std::string out;
  const auto status = pb::util::MessageToJsonString(msg, &out);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

template <typename M>
M parse_ok(std::string_view json) {
  M msg;
  const auto status = parse(json, &msg);
  EXPECT_TRUE(status.ok()) << status.ToString() << "\n" << json;
  return msg;
}

/// Parse, print sparse, parse again: the two messages must be equal (maps compare unordered).
template <typename M>
void expect_round_trip(std::string_view json) {
  const M first = parse_ok<M>(json);
  const std::string printed = print_sparse(first);
  const M second = parse_ok<M>(printed);
  EXPECT_TRUE(pb::util::MessageDifferencer::Equals(first, second)) << printed;
}

TEST(ProtoJson, CreatePatientRequestFromApiExample) {
  constexpr std::string_view kJson = R"({
    "name": "Hanako Yamada", "birthDate": "1938-04-02", "sex": "FEMALE",
    "address": "1-2-3 Hino", "location": {"lat": 35.66, "lon": 139.37},
    "primaryDoctorId": "u-pd1", "careTeamOrganizationIds": ["o-ns1", "o-cm1"],
    "sharingConsent": true, "allergies": "penicillin", "advanceCarePlan": "no intubation",
    "notes": "dog in the house",
    "eligibility": {"lastScheduledVisitDate": "2026-11-01", "partnerAgreementId": "pa-1",
                    "regularOutpatient": false, "facilityAgreement": false}})";
  const auto req = parse_ok<v1::CreatePatientRequest>(kJson);
  EXPECT_EQ(req.sex(), v1::Patient::FEMALE);
  EXPECT_EQ(req.birth_date(), "1938-04-02");
  EXPECT_EQ(req.primary_doctor_id(), "u-pd1");
  ASSERT_EQ(req.care_team_organization_ids_size(), 2);
  EXPECT_TRUE(req.has_eligibility());
  EXPECT_EQ(req.eligibility().last_scheduled_visit_date(), "2026-11-01");

  const std::string out = print(req);
  for (const char* name :
       {R"("birthDate":"1938-04-02")", R"("sex":"FEMALE")", R"("primaryDoctorId":"u-pd1")",
        R"("careTeamOrganizationIds":["o-ns1","o-cm1"])", R"("sharingConsent":true)",
        R"("advanceCarePlan":"no intubation")", R"("lastScheduledVisitDate":"2026-11-01")",
        R"("partnerAgreementId":"pa-1")", R"("regularOutpatient":false)",
        R"("facilityAgreement":false)"}) {
    EXPECT_TRUE(contains(out, name)) << name << " not in " << out;
  }
  expect_round_trip<v1::CreatePatientRequest>(kJson);
}

TEST(ProtoJson, ServerConfigFromApiExample) {
  constexpr std::string_view kJson = R"({
    "listen": "127.0.0.1:8080", "dataDir": "./var", "timezone": "Asia/Tokyo",
    "center": {"name": "Hino night house-call center", "location": {"lat": 35.6716, "lon": 139.3950}},
    "serviceRadiusKm": 16,
    "serviceHours": {"always": false, "weeknightStart": "18:00", "weeknightEnd": "08:00", "holidaysAllDay": true},
    "offerTimeoutSeconds": 60, "summaryAckDeadline": "09:00", "institutionTier": "ZAISHIN",
    "pay": {"doctorHourlyYen": 12000, "driverHourlyYen": 2200}})";
  const auto cfg = parse_ok<v1::ServerConfig>(kJson);
  EXPECT_EQ(cfg.listen(), "127.0.0.1:8080");
  EXPECT_EQ(cfg.data_dir(), "./var");
  EXPECT_DOUBLE_EQ(cfg.center().location().lat(), 35.6716);
  EXPECT_DOUBLE_EQ(cfg.service_radius_km(), 16.0);
  // Explicit false is distinguishable from absent (defaults then MergeFrom).
  EXPECT_TRUE(cfg.service_hours().has_always());
  EXPECT_FALSE(cfg.service_hours().always());
  EXPECT_TRUE(cfg.service_hours().holidays_all_day());
  EXPECT_EQ(cfg.offer_timeout_seconds(), 60);
  EXPECT_EQ(cfg.institution_tier(), v1::ServerConfig::ZAISHIN);
  EXPECT_EQ(cfg.pay().doctor_hourly_yen(), 12000);
  EXPECT_FALSE(cfg.has_threads());

  const std::string out = print(cfg);
  for (const char* name :
       {R"("dataDir":"./var")", R"("serviceRadiusKm":16)", R"("weeknightStart":"18:00")",
        R"("holidaysAllDay":true)", R"("offerTimeoutSeconds":60)",
        R"("summaryAckDeadline":"09:00")", R"("institutionTier":"ZAISHIN")",
        R"("doctorHourlyYen":12000)", R"("driverHourlyYen":2200)"}) {
    EXPECT_TRUE(contains(out, name)) << name << " not in " << out;
  }
  expect_round_trip<v1::ServerConfig>(kJson);
}

TEST(ProtoJson, ServerConfigDefaultsMerge) {
  v1::ServerConfig defaults;
  defaults.mutable_service_hours()->set_holidays_all_day(true);
  defaults.set_offer_timeout_seconds(60);
  const auto file = parse_ok<v1::ServerConfig>(
      R"({"serviceHours":{"holidaysAllDay":false},"offerTimeoutSeconds":30})");
  defaults.MergeFrom(file);
  EXPECT_FALSE(defaults.service_hours().holidays_all_day());
  EXPECT_EQ(defaults.offer_timeout_seconds(), 30);
}

TEST(ProtoJson, ServerConfigExtensions) {
  constexpr std::string_view kJson = R"({
    "dispatchPolicy": "rolling", "travel": {"circuity": 1.3, "speedKmh": 28, "fixedMinutes": 4},
    "sessions": {"idleTimeoutSeconds": 1800, "absoluteTimeoutSeconds": 43200},
    "limits": {"maxHeaderBytes": 8192, "maxBodyBytes": 65536, "headerTimeoutSeconds": 10,
               "bodyTimeoutSeconds": 30, "idleTimeoutSeconds": 60, "maxConnections": 1024,
               "maxConnectionsPerAddress": 64},
    "threads": 2, "logLevel": "info", "storage": {"kind": "sqlite"},
    "tls": {"certFile": "c.pem", "keyFile": "k.pem", "clientCaFile": "ca.pem", "requireClientCert": false},
    "totp": {"enabled": true, "requiredRoles": ["ADMIN", "STAFF"]},
    "webhooks": {"initialBackoffSeconds": 1, "maxBackoffSeconds": 300, "timeoutSeconds": 10},
    "allowedOvertimeMinutes": 30, "demo": true})";
  const auto cfg = parse_ok<v1::ServerConfig>(kJson);
  EXPECT_EQ(cfg.dispatch_policy(), "rolling");
  EXPECT_DOUBLE_EQ(cfg.travel().speed_kmh(), 28.0);
  EXPECT_EQ(cfg.limits().max_connections_per_address(), 64);
  ASSERT_EQ(cfg.totp().required_roles_size(), 2);
  EXPECT_EQ(cfg.totp().required_roles(1), v1::STAFF);
  EXPECT_TRUE(cfg.demo());
  expect_round_trip<v1::ServerConfig>(kJson);
}

TEST(ProtoJson, RoleNumericValuesAreFixed) {
  EXPECT_EQ(v1::ROLE_UNSPECIFIED, 0);
  EXPECT_EQ(v1::ADMIN, 1);
  EXPECT_EQ(v1::STAFF, 2);
  EXPECT_EQ(v1::NURSE, 3);
  EXPECT_EQ(v1::CARE_MANAGER, 4);
  EXPECT_EQ(v1::DOCTOR, 5);
  EXPECT_EQ(v1::DRIVER, 6);
  EXPECT_EQ(v1::PRIMARY_DOCTOR, 7);
}

TEST(ProtoJson, UnknownFieldIsRejected) {
  v1::CreateVisitRequest req;
  EXPECT_FALSE(parse(R"({"patientId":"p1","bogus":1})", &req).ok());
  v1::ServerConfig cfg;
  EXPECT_FALSE(parse(R"({"listen":"127.0.0.1:0","center":{"radius":3}})", &cfg).ok());
  EXPECT_FALSE(parse(R"({"institutionTier":"NOT_A_TIER"})", &cfg).ok());
}

TEST(ProtoJson, CreateVisitRequestVitals) {
  constexpr std::string_view kJson = R"({"patientId":"p1","urgency":"URGENT",
    "reason":"ACUTE_CHANGE","chiefComplaint":"fever","vitals":{"temperatureC":38.6,
    "systolicBp":90,"diastolicBp":55,"pulse":110,"spo2":91,"respiratoryRate":24},
    "lifeThreatening":false,"notes":"n","onBehalfOf":"u-n1"})";
  const auto req = parse_ok<v1::CreateVisitRequest>(kJson);
  EXPECT_EQ(req.urgency(), v1::URGENT);
  EXPECT_EQ(req.reason(), v1::ACUTE_CHANGE);
  EXPECT_DOUBLE_EQ(req.vitals().temperature_c(), 38.6);
  EXPECT_EQ(req.vitals().spo2(), 91);
  EXPECT_EQ(req.on_behalf_of(), "u-n1");
  expect_round_trip<v1::CreateVisitRequest>(kJson);

  // Absent vitals stay absent, even when defaults are printed.
  const auto sparse = parse_ok<v1::CreateVisitRequest>(R"({"vitals":{"pulse":80}})");
  EXPECT_FALSE(sparse.vitals().has_spo2());
  EXPECT_TRUE(sparse.vitals().has_pulse());
  const std::string out = print(sparse);
  EXPECT_TRUE(contains(out, R"("vitals":{"pulse":80})")) << out;
  EXPECT_FALSE(contains(out, "onBehalfOf")) << out;
}

TEST(ProtoJson, VisitWithoutTeamPrintsNoTeamId) {
  v1::Visit visit;
  visit.set_id("v1");
  visit.set_patient_id("p1");
  visit.set_status(v1::Visit::REQUESTED);
  visit.set_urgency(v1::SOON);
  visit.set_reason(v1::OTHER);
  visit.mutable_created_at()->set_seconds(1'800'000'000);
  auto* change = visit.add_history();
  change->set_status(v1::Visit::REQUESTED);
  change->mutable_at()->set_seconds(1'800'000'000);
  const std::string out = print(visit);
  EXPECT_FALSE(contains(out, "teamId")) << out;
  EXPECT_FALSE(contains(out, "\"eta\"")) << out;
  EXPECT_FALSE(contains(out, "rejectionCode")) << out;
  EXPECT_TRUE(contains(out, R"("status":"REQUESTED")")) << out;
  EXPECT_TRUE(contains(out, R"("urgency":"SOON")")) << out;
  EXPECT_TRUE(contains(out, R"("reason":"OTHER")")) << out;
  EXPECT_TRUE(contains(out, R"("createdAt":"2027-01-15T08:00:00Z")")) << out;
  EXPECT_TRUE(contains(out, R"("history":[{"status":"REQUESTED","at":"2027-01-15T08:00:00Z"}])"))
      << out;

  visit.set_team_id("t1");
  visit.set_status(v1::Visit::EN_ROUTE);
  visit.mutable_eta()->set_seconds(1'800'001'800);
  const std::string assigned = print(visit);
  EXPECT_TRUE(contains(assigned, R"("teamId":"t1")")) << assigned;
  EXPECT_TRUE(contains(assigned, R"("status":"EN_ROUTE")")) << assigned;
  EXPECT_TRUE(contains(assigned, R"("eta":"2027-01-15T08:30:00Z")")) << assigned;
}

TEST(ProtoJson, EmptyListsArePrinted) {
  EXPECT_EQ(print(v1::VisitList{}), R"({"visits":[]})");
  EXPECT_EQ(print(v1::PatientList{}), R"({"patients":[]})");
  EXPECT_EQ(print(v1::TeamList{}), R"({"teams":[]})");
  EXPECT_EQ(print(v1::UserList{}), R"({"users":[]})");
  EXPECT_EQ(print(v1::OrganizationList{}), R"({"organizations":[]})");
  EXPECT_EQ(print(v1::OfferList{}), R"({"offers":[]})");
  EXPECT_EQ(print(v1::AuditList{}), R"({"entries":[]})");
  EXPECT_EQ(print(v1::InboxList{}), R"({"items":[]})");
}

TEST(ProtoJson, ServerEventOffer) {
  v1::ServerEvent event;
  event.set_seq(17);
  event.set_type("offer");
  event.mutable_at()->set_seconds(1'800'000'000);
  auto* offer = event.mutable_offer();
  offer->set_id("of1");
  offer->set_visit_id("v1");
  offer->set_team_id("t1");
  offer->set_urgency(v1::URGENT);
  offer->set_reason(v1::END_OF_LIFE);
  offer->mutable_expires_at()->set_seconds(1'800'000'060);
  offer->mutable_patient()->set_advance_care_plan("acp");
  const std::string out = print(event);
  // Key order is not part of the contract: protobuf 3.21 prints set Timestamps after the other
  // fields when defaults are printed. The sparse form keeps field order.
  EXPECT_TRUE(contains(out, R"({"seq":"17","type":"offer",)")) << out;
  EXPECT_TRUE(contains(out, R"("at":"2027-01-15T08:00:00Z")")) << out;
  EXPECT_TRUE(contains(out, R"("offer":{"id":"of1",)")) << out;
  const std::string sparse = print_sparse(event);
  EXPECT_TRUE(
      contains(sparse, R"({"seq":"17","type":"offer","at":"2027-01-15T08:00:00Z","offer":{)"))
      << sparse;
  EXPECT_TRUE(contains(out, R"("visitId":"v1")")) << out;
  EXPECT_TRUE(contains(out, R"("expiresAt":"2027-01-15T08:01:00Z")")) << out;
  EXPECT_TRUE(contains(out, R"("reason":"END_OF_LIFE")")) << out;
  EXPECT_TRUE(contains(out, R"("advanceCarePlan":"acp")")) << out;
  EXPECT_FALSE(contains(out, "offerWithdrawn")) << out;

  const auto back = parse_ok<v1::ServerEvent>(out);
  EXPECT_EQ(back.seq(), 17);
  EXPECT_EQ(back.payload_case(), v1::ServerEvent::kOffer);
}

TEST(ProtoJson, ServerEventPayloadNames) {
  v1::ServerEvent withdrawn;
  withdrawn.set_type("offerWithdrawn");
  withdrawn.mutable_offer_withdrawn()->set_offer_id("of1");
  withdrawn.mutable_offer_withdrawn()->set_visit_id("v1");
  withdrawn.mutable_offer_withdrawn()->set_reason(v1::OfferWithdrawn::EXPIRED);
  EXPECT_TRUE(contains(print_sparse(withdrawn),
                       R"("offerWithdrawn":{"offerId":"of1","visitId":"v1","reason":"EXPIRED"})"));

  v1::ServerEvent overdue;
  overdue.set_type("ackOverdue");
  overdue.mutable_ack_overdue()->set_inbox_item_id("i1");
  overdue.mutable_ack_overdue()->set_visit_id("v1");
  overdue.mutable_ack_overdue()->set_recipient_id("u1");
  EXPECT_TRUE(contains(print_sparse(overdue),
                       R"("ackOverdue":{"inboxItemId":"i1","visitId":"v1","recipientId":"u1"})"));

  v1::ServerEvent updated;
  updated.mutable_visit_updated()->set_id("v1");
  EXPECT_TRUE(contains(print_sparse(updated), R"("visitUpdated":{"id":"v1"})"));

  v1::ServerEvent summary;
  summary.mutable_visit_summary()->set_id("i1");
  summary.mutable_visit_summary()->set_visit_id("v1");
  summary.mutable_visit_summary()->mutable_summary()->set_id("s1");
  EXPECT_TRUE(contains(print_sparse(summary),
                       R"("visitSummary":{"id":"i1","visitId":"v1","summary":{"id":"s1"}})"));
}

TEST(ProtoJson, EnumNamesAreBare) {
  v1::Team team;
  team.set_status(v1::Team::OFFERED);
  team.add_skills(v1::PEDIATRIC);
  team.add_skills(v1::RESPIRATORY);
  const std::string t = print_sparse(team);
  EXPECT_TRUE(contains(t, R"("skills":["PEDIATRIC","RESPIRATORY"])")) << t;
  EXPECT_TRUE(contains(t, R"("status":"OFFERED")")) << t;

  v1::Team off;
  off.set_status(v1::Team::OFF_SHIFT);
  EXPECT_TRUE(contains(print_sparse(off), R"("status":"OFF_SHIFT")"));

  v1::User user;
  user.set_role(v1::PRIMARY_DOCTOR);
  user.set_display_name("Dr. Sato");
  user.set_organization_id("o1");
  user.set_active(true);
  const std::string u = print(user);
  EXPECT_TRUE(contains(u, R"("role":"PRIMARY_DOCTOR")")) << u;
  EXPECT_TRUE(contains(u, R"("displayName":"Dr. Sato")")) << u;
  EXPECT_TRUE(contains(u, R"("organizationId":"o1")")) << u;
  EXPECT_TRUE(contains(u, R"("totpEnabled":false)")) << u;

  v1::Organization org;
  org.set_kind(v1::VISITING_NURSE_STATION);
  EXPECT_EQ(print(org), R"({"id":"","name":"","kind":"VISITING_NURSE_STATION"})");
  org.set_webhook_url("https://example.org/hook");
  org.set_webhook_secret("s3");
  const std::string o = print(org);
  EXPECT_TRUE(contains(o, R"("webhookUrl":"https://example.org/hook","webhookSecret":"s3")")) << o;

  const auto org_req = parse_ok<v1::CreateOrganizationRequest>(
      R"({"name":"Hino clinic","kind":"COMMUNITY_SUPPORT_CENTER","webhookUrl":"https://x"})");
  EXPECT_EQ(org_req.kind(), v1::COMMUNITY_SUPPORT_CENTER);
  EXPECT_TRUE(org_req.has_webhook_url());
}

TEST(ProtoJson, SummaryAndBilling) {
  constexpr std::string_view kJson = R"({"findings":"f","diagnoses":["pneumonia"],
    "treatment":"t","prescriptions":[{"drug":"amoxicillin","dose":"500 mg","days":5}],
    "disposition":"TRANSFERRED_TO_HOSPITAL","destination":"Hino Municipal Hospital",
    "instructionsForCareTeam":"i","followUpForPrimaryDoctor":"u"})";
  const auto req = parse_ok<v1::CreateSummaryRequest>(kJson);
  EXPECT_EQ(req.prescriptions(0).days(), 5);
  EXPECT_EQ(req.disposition(), v1::TRANSFERRED_TO_HOSPITAL);
  expect_round_trip<v1::CreateSummaryRequest>(kJson);

  v1::VisitSummary summary;
  summary.set_disposition(v1::DECEASED);
  auto* billing = summary.mutable_billing();
  auto* item = billing->add_items();
  item->set_code("C000");
  item->set_name("ooshin-ryou");
  item->set_points(720);
  billing->set_total_points(720);
  billing->set_fee_table("2024-06");
  billing->set_time_band(v1::LATE_NIGHT);
  billing->set_time_band_reason("22:00-06:00");
  const std::string out = print(summary);
  EXPECT_TRUE(contains(out, R"("items":[{"code":"C000","name":"ooshin-ryou","points":720}])"))
      << out;
  EXPECT_TRUE(contains(out, R"("totalPoints":720)")) << out;
  EXPECT_TRUE(contains(out, R"("feeTable":"2024-06")")) << out;
  EXPECT_TRUE(contains(out, R"("timeBand":"LATE_NIGHT")")) << out;
  EXPECT_TRUE(contains(out, R"("timeBandReason":"22:00-06:00")")) << out;
  EXPECT_TRUE(contains(out, R"("disposition":"DECEASED")")) << out;
  EXPECT_TRUE(contains(out, R"("instructionsForCareTeam":"")")) << out;
  EXPECT_FALSE(contains(out, "destination")) << out;
}

TEST(ProtoJson, InboxItem) {
  v1::InboxItem item;
  item.set_id("i1");
  item.set_visit_id("v1");
  item.mutable_summary()->set_visit_id("v1");
  const std::string pending = print(item);
  EXPECT_FALSE(contains(pending, "acknowledgedAt")) << pending;
  EXPECT_FALSE(contains(pending, "deliveredAt")) << pending;
  item.mutable_delivered_at()->set_seconds(1'800'000'000);
  item.mutable_acknowledged_at()->set_seconds(1'800'000'060);
  const std::string acked = print(item);
  EXPECT_TRUE(contains(acked, R"("deliveredAt":"2027-01-15T08:00:00Z")")) << acked;
  EXPECT_TRUE(contains(acked, R"("acknowledgedAt":"2027-01-15T08:01:00Z")")) << acked;
}

TEST(ProtoJson, DemandReportFromApiExample) {
  constexpr std::string_view kJson = R"({"total":12,"byUrgency":{"URGENT":9,"SOON":3},
    "byReason":{"ACUTE_CHANGE":10,"DEATH_CONFIRMATION":2},
    "refusals":{"CALL_EMERGENCY_SERVICES":1,"OUT_OF_SERVICE_AREA":1,"OUTSIDE_SERVICE_HOURS":0},
    "byWeekdayHour":[{"weekday":0,"hours":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,2,0]}],
    "responseMinutes":{"URGENT":{"count":8,"p50":31.5,"p90":52.0,"max":70.2,"withinTarget":0.875}}})";
  const auto report = parse_ok<v1::DemandReport>(kJson);
  EXPECT_EQ(report.total(), 12);
  EXPECT_EQ(report.by_urgency().at("URGENT"), 9);
  EXPECT_EQ(report.refusals().at("OUTSIDE_SERVICE_HOURS"), 0);
  EXPECT_EQ(report.by_weekday_hour(0).hours_size(), 24);
  EXPECT_DOUBLE_EQ(report.response_minutes().at("URGENT").within_target(), 0.875);
  const std::string out = print(report);
  EXPECT_TRUE(contains(out, R"("total":12)")) << out;  // a number, not a string
  EXPECT_TRUE(contains(out, R"("count":8)")) << out;
  EXPECT_TRUE(contains(out, R"("withinTarget":0.875)")) << out;
  expect_round_trip<v1::DemandReport>(kJson);
}

TEST(ProtoJson, BillingAndPayrollReports) {
  constexpr std::string_view kBilling = R"({"visits":[{"visitId":"v1",
    "startedAt":"2026-11-03T13:30:00Z","timeBand":"HOLIDAY","timeBandReason":"Culture Day",
    "items":[{"code":"C000","name":"base","points":720}],"totalPoints":2020}],
    "totalPoints":2020,"feeTable":"2024-06-01","months":[{"month":"2026-11","totalPoints":2020,"visits":1}]})";
  const auto billing = parse_ok<v1::BillingReport>(kBilling);
  EXPECT_EQ(billing.visits(0).time_band(), v1::HOLIDAY);
  EXPECT_EQ(billing.months(0).visits(), 1);
  expect_round_trip<v1::BillingReport>(kBilling);

  constexpr std::string_view kPayroll = R"({"people":[{"userId":"u1","role":"DOCTOR",
    "visits":3,"workedMinutes":187.5,"pay":37500,"overMonthlyCap":false}]})";
  const auto payroll = parse_ok<v1::PayrollReport>(kPayroll);
  EXPECT_EQ(payroll.people(0).role(), v1::DOCTOR);
  const std::string out = print(payroll);
  EXPECT_TRUE(contains(out, R"("visits":3)")) << out;
  EXPECT_TRUE(contains(out, R"("workedMinutes":187.5)")) << out;
  EXPECT_TRUE(contains(out, R"("overMonthlyCap":false)")) << out;
  expect_round_trip<v1::PayrollReport>(kPayroll);
}

TEST(ProtoJson, ErrorBody) {
  v1::ErrorResponse err;
  err.mutable_error()->set_code("OUT_OF_SERVICE_AREA");
  err.mutable_error()->set_message("patient is beyond the service radius");
  err.mutable_error()->set_visit_id("v9");
  EXPECT_EQ(print(err), R"({"error":{"code":"OUT_OF_SERVICE_AREA",)"
                        R"("message":"patient is beyond the service radius","visitId":"v9"}})");
  err.mutable_error()->clear_visit_id();
  err.mutable_error()->set_field("vitals.spo2");
  EXPECT_TRUE(contains(print(err), R"("field":"vitals.spo2")"));
}

TEST(ProtoJson, AccountsAndAudit) {
  const auto login =
      parse_ok<v1::LoginRequest>(R"({"username":"admin","password":"pw","totp":"123456"})");
  EXPECT_TRUE(login.has_totp());
  EXPECT_FALSE(parse_ok<v1::LoginRequest>(R"({"username":"a","password":"b"})").has_totp());

  v1::LoginResponse resp;
  resp.set_token("tok");
  resp.mutable_expires_at()->set_seconds(1'800'000'000);
  resp.mutable_user()->set_username("admin");
  EXPECT_TRUE(contains(print_sparse(resp), R"({"token":"tok","expiresAt":"2027-01-15T08:00:00Z",)"
                                           R"("user":{"username":"admin"}})"));

  v1::StreamTicket ticket;
  ticket.set_ticket("t");
  ticket.mutable_expires_at()->set_seconds(1'800'000'000);
  EXPECT_EQ(print(ticket), R"({"ticket":"t","expiresAt":"2027-01-15T08:00:00Z"})");

  const auto user = parse_ok<v1::CreateUserRequest>(
      R"({"username":"n1","password":"correct horse battery","displayName":"Nurse One",)"
      R"("role":"NURSE","organizationId":"o1"})");
  EXPECT_EQ(user.role(), v1::NURSE);

  v1::AuditVerifyResponse verify;
  verify.set_ok(true);
  verify.set_entries(42);
  EXPECT_EQ(print(verify), R"({"ok":true,"entries":42})");

  v1::AuditEntry entry;
  entry.set_seq(5);
  entry.set_actor_role(v1::STAFF);
  const std::string e = print_sparse(entry);
  EXPECT_TRUE(contains(e, R"("seq":"5")")) << e;
  EXPECT_TRUE(contains(e, R"("actorRole":"STAFF")")) << e;

  v1::HealthStatus health;
  health.set_status("ok");
  EXPECT_EQ(print(health), R"({"status":"ok"})");
}

TEST(ProtoJson, TeamsAndOffers) {
  constexpr std::string_view kTeam =
      R"({"doctorId":"u-d1","driverId":"u-r1","vehicle":"Prius 12-34",
    "shiftStart":"2026-01-10T09:00:00Z","shiftEnd":"2026-01-10T23:00:00Z",
    "base":{"lat":35.67,"lon":139.39},"skills":["PEDIATRIC"]})";
  const auto team = parse_ok<v1::CreateTeamRequest>(kTeam);
  EXPECT_EQ(team.skills(0), v1::PEDIATRIC);
  expect_round_trip<v1::CreateTeamRequest>(kTeam);

  const auto loc = parse_ok<v1::LocationUpdate>(R"({"lat":35.6,"lon":139.4})");
  EXPECT_DOUBLE_EQ(loc.lon(), 139.4);
  EXPECT_EQ(parse_ok<v1::DeclineOfferRequest>(R"({"reason":"busy"})").reason(), "busy");
  EXPECT_EQ(parse_ok<v1::CancelVisitRequest>(R"({"reason":"better"})").reason(), "better");

  v1::Team t;
  t.mutable_location_updated_at()->set_seconds(1'800'000'000);
  EXPECT_TRUE(contains(print_sparse(t), R"("locationUpdatedAt":"2027-01-15T08:00:00Z")"));
}

TEST(ProtoJson, InternalBlobsRoundTripBinary) {
  v1::AccountEvent event;
  event.mutable_session_revoked()->set_token_hash("abc");
  event.mutable_session_revoked()->set_user_id("u1");
  v1::AccountEvent back;
  ASSERT_TRUE(back.ParseFromString(event.SerializeAsString()));
  EXPECT_EQ(back.event_case(), v1::AccountEvent::kSessionRevoked);
  EXPECT_EQ(back.session_revoked().user_id(), "u1");

  v1::IdempotencyRecord record;
  record.set_status(201);
  record.set_body(std::string("\0\x01", 2));
  v1::IdempotencyRecord record_back;
  ASSERT_TRUE(record_back.ParseFromString(record.SerializeAsString()));
  EXPECT_EQ(record_back.body().size(), 2U);
}

}  // namespace
