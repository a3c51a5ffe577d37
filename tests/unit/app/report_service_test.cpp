#include "oshin/app/report_service.hpp"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

namespace oshin::app::reports {
namespace {

using google::protobuf::util::TimeUtil;
using std::chrono::minutes;

SystemTime at(const std::string& rfc3339) {
  google::protobuf::Timestamp ts;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &ts)) << rfc3339;
  return from_unix_ms(TimeUtil::TimestampToMilliseconds(ts));
}

google::protobuf::Timestamp ts(SystemTime t) {
  return TimeUtil::MillisecondsToTimestamp(to_unix_ms(t));
}

/// A visit requested at `requested` that went through `steps` (status, minutes after request).
v1::Visit visit(const std::string& id, SystemTime requested, v1::Urgency urgency,
                std::vector<std::pair<v1::Visit::Status, int>> steps,
                v1::VisitReason reason = v1::ACUTE_CHANGE) {
  v1::Visit v;
  v.set_id(id);
  v.set_patient_id("p-" + id);
  v.set_urgency(urgency);
  v.set_reason(reason);
  *v.mutable_created_at() = ts(requested);
  auto* h = v.add_history();
  h->set_status(v1::Visit::REQUESTED);
  *h->mutable_at() = ts(requested);
  v.set_status(v1::Visit::REQUESTED);
  for (auto [status, after] : steps) {
    auto* s = v.add_history();
    s->set_status(status);
    *s->mutable_at() = ts(requested + minutes(after));
    v.set_status(status);
  }
  return v;
}

TEST(ReportNearestRank, PicksTheValueAtRankCeilOfPn) {
  std::vector<double> v = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_EQ(nearest_rank(v, 50), 5);
  EXPECT_EQ(nearest_rank(v, 90), 9);
  EXPECT_EQ(nearest_rank(v, 100), 10);
  EXPECT_EQ(nearest_rank({7}, 50), 7);
  EXPECT_EQ(nearest_rank({15, 20, 35, 40, 50}, 30), 20);  // rank ceil(1.5) = 2
  EXPECT_EQ(nearest_rank({}, 50), 0);
}

TEST(ReportCsv, QuotesOnlyWhenNeededAndDoublesQuotes) {
  EXPECT_EQ(csv_field("plain"), "plain");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_field("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(csv_field("cr\r"), "\"cr\r\"");
  EXPECT_EQ(csv_field("深夜往診加算"), "深夜往診加算");
  EXPECT_EQ(csv_row({"a", "", "b,c"}), "a,,\"b,c\"\r\n");
}

TEST(ReportLocalMonth, UsesTokyoTime) {
  EXPECT_EQ(local_month(at("2026-11-30T15:00:00Z")), "2026-12");  // 00:00 JST Dec 1
  EXPECT_EQ(local_month(at("2026-11-30T14:59:59Z")), "2026-11");
}

TEST(ReportDemand, CountsEveryRequestAndResponseTimes) {
  const auto t0 = at("2026-11-20T21:10:00+09:00");  // a Friday
  std::vector<v1::Visit> visits = {
      visit("a", t0, v1::URGENT,
            {{v1::Visit::ASSIGNED, 1}, {v1::Visit::ON_SITE, 30}, {v1::Visit::COMPLETED, 50}}),
      visit("b", t0 + minutes(60), v1::URGENT,
            {{v1::Visit::ASSIGNED, 1}, {v1::Visit::ON_SITE, 70}}),
      visit("c", t0 + minutes(120), v1::SOON, {{v1::Visit::CANCELLED, 5}}),
      visit("d", t0 + minutes(130), v1::URGENT, {{v1::Visit::REJECTED, 0}}, v1::DEATH_CONFIRMATION),
      visit("late", t0 + std::chrono::hours(48), v1::URGENT, {}),  // outside [from, to)
  };
  visits[3].set_rejection_code("OUT_OF_SERVICE_AREA");
  auto r = demand(visits, t0, t0 + std::chrono::hours(24));
  EXPECT_EQ(r.total(), 4);
  EXPECT_EQ(r.by_urgency().at("URGENT"), 3);
  EXPECT_EQ(r.by_urgency().at("SOON"), 1);
  EXPECT_EQ(r.by_reason().at("ACUTE_CHANGE"), 3);
  EXPECT_EQ(r.by_reason().at("DEATH_CONFIRMATION"), 1);
  EXPECT_EQ(r.by_reason().at("END_OF_LIFE"), 0);
  EXPECT_EQ(r.refusals().at("OUT_OF_SERVICE_AREA"), 1);
  EXPECT_EQ(r.refusals().at("CALL_EMERGENCY_SERVICES"), 0);
  ASSERT_EQ(r.by_weekday_hour_size(), 7);
  EXPECT_EQ(r.by_weekday_hour(4).weekday(), 4);  // Friday
  ASSERT_EQ(r.by_weekday_hour(4).hours_size(), 24);
  EXPECT_EQ(r.by_weekday_hour(4).hours(21), 1);
  EXPECT_EQ(r.by_weekday_hour(4).hours(22), 1);
  EXPECT_EQ(r.by_weekday_hour(4).hours(23), 2);
  const auto& urgent = r.response_minutes().at("URGENT");
  EXPECT_EQ(urgent.count(), 2);
  EXPECT_DOUBLE_EQ(urgent.p50(), 30);
  EXPECT_DOUBLE_EQ(urgent.p90(), 70);
  EXPECT_DOUBLE_EQ(urgent.max(), 70);
  EXPECT_DOUBLE_EQ(urgent.within_target(), 0.5);
  EXPECT_EQ(r.response_minutes().at("SOON").count(), 0);
}

TEST(ReportBilling, CompletedVisitsSortedByArrivalWithMonthlyTotals) {
  const auto t0 = at("2026-11-30T23:00:00+09:00");
  std::vector<v1::Visit> visits = {
      visit("late", t0 + minutes(90), v1::URGENT,
            {{v1::Visit::ON_SITE, 20}, {v1::Visit::COMPLETED, 40}}),  // arrives Dec 1
      visit("early", t0, v1::URGENT, {{v1::Visit::ON_SITE, 20}, {v1::Visit::COMPLETED, 40}}),
      visit("open", t0, v1::URGENT, {{v1::Visit::ON_SITE, 20}}),
  };
  std::map<std::string, v1::Billing> bills;
  for (const auto* id : {"late", "early", "open"}) {
    v1::Billing b;
    b.set_total_points(id == std::string("late") ? 3020 : 2020);
    b.set_fee_table("table 2024");
    b.set_time_band(v1::LATE_NIGHT);
    bills[id] = b;
  }
  auto r = billing(visits, bills, t0, t0 + std::chrono::hours(24));
  ASSERT_EQ(r.visits_size(), 2);
  EXPECT_EQ(r.visits(0).visit_id(), "early");
  EXPECT_EQ(r.visits(1).visit_id(), "late");
  EXPECT_EQ(r.total_points(), 5040);
  EXPECT_EQ(r.fee_table(), "table 2024");
  ASSERT_EQ(r.months_size(), 2);
  EXPECT_EQ(r.months(0).month(), "2026-11");
  EXPECT_EQ(r.months(0).total_points(), 2020);
  EXPECT_EQ(r.months(1).month(), "2026-12");
  EXPECT_EQ(r.months(1).visits(), 1);

  auto csv = billing_csv(r);
  EXPECT_EQ(csv.rfind(kBom, 0), 0U);
  EXPECT_EQ(csv.find("visitId,patientId,startedAt,timeBand,timeBandReason,items,totalPoints,month"
                     "\r\n"),
            kBom.size());
  int rows = 0;
  for (std::size_t p = 0; (p = csv.find("\r\n", p)) != std::string::npos; p += 2) {
    ++rows;
  }
  EXPECT_EQ(rows, 3);  // header + 2 visits
}

TEST(ReportPayroll, WorkedMinutesReturnLegPayAndMonthlyCap) {
  const auto t0 = at("2026-11-20T21:00:00+09:00");
  v1::Team team;
  team.set_id("t1");
  team.set_doctor_id("doc");
  team.set_driver_id("drv");
  std::vector<v1::Visit> visits = {
      visit("a", t0, v1::URGENT, {{v1::Visit::ASSIGNED, 2}, {v1::Visit::COMPLETED, 62}}),
      visit("b", t0 + minutes(70), v1::URGENT,
            {{v1::Visit::ASSIGNED, 5}, {v1::Visit::COMPLETED, 35}}),
      visit("c", t0 + minutes(80), v1::URGENT, {{v1::Visit::CANCELLED, 3}}),
  };
  for (auto& v : visits) {
    v.set_team_id("t1");
  }
  int legs = 0;
  ReturnLeg leg = [&legs](const v1::Visit& v, const v1::Team&) {
    ++legs;
    EXPECT_EQ(v.id(), "b");  // only the team's last completed visit
    return std::optional<std::chrono::milliseconds>(std::chrono::minutes(15));
  };
  DisplayName name = [](const std::string& id) { return "name of " + id; };
  auto r = payroll(visits, {team}, t0, t0 + std::chrono::hours(24), leg, name, {12000, 2200});
  EXPECT_EQ(legs, 1);
  ASSERT_EQ(r.people_size(), 2);
  EXPECT_EQ(r.people(0).user_id(), "doc");
  EXPECT_EQ(r.people(0).role(), v1::DOCTOR);
  EXPECT_EQ(r.people(0).visits(), 2);
  EXPECT_DOUBLE_EQ(r.people(0).worked_minutes(), 60 + 30 + 15);
  EXPECT_DOUBLE_EQ(r.people(0).pay(), 105.0 / 60.0 * 12000);
  EXPECT_FALSE(r.people(0).over_monthly_cap());
  EXPECT_EQ(r.people(0).display_name(), "name of doc");
  EXPECT_EQ(r.people(1).user_id(), "drv");
  EXPECT_DOUBLE_EQ(r.people(1).pay(), 105.0 / 60.0 * 2200);

  // 101 hours accepted in one month: flagged.
  std::vector<v1::Visit> long_month = {
      visit("x", t0, v1::URGENT, {{v1::Visit::ASSIGNED, 0}, {v1::Visit::COMPLETED, 101 * 60}})};
  long_month[0].set_team_id("t1");
  auto capped =
      payroll(long_month, {team}, t0, t0 + std::chrono::hours(24), nullptr, nullptr, {1, 1});
  ASSERT_EQ(capped.people_size(), 2);
  EXPECT_TRUE(capped.people(0).over_monthly_cap());

  auto csv = payroll_csv(r);
  EXPECT_EQ(csv.rfind(kBom, 0), 0U);
  EXPECT_NE(csv.find("userId,displayName,role,visits,workedMinutes,pay,overMonthlyCap\r\n"),
            std::string::npos);
  EXPECT_NE(csv.find("doc,name of doc,DOCTOR,2,105,21000,false\r\n"), std::string::npos);
}

}  // namespace
}  // namespace oshin::app::reports
