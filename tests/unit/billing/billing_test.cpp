#include "oshin/billing/billing.hpp"

#include <gtest/gtest.h>

#include <array>

#include "test_support.hpp"

namespace oshin::billing {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using testing::jst;

const FeeTables& builtin() {
  const auto& tables = FeeTables::builtin();
  EXPECT_TRUE(tables);
  static const FeeTables kEmpty;
  return tables ? *tables : kEmpty;
}

Eligibility eligible() {
  Eligibility e;
  e.regular_outpatient = true;
  return e;
}

BillableVisit visit_at(SystemTime started, minutes on_site = minutes(30)) {
  BillableVisit v;
  v.started_at = started;
  v.ended_at = started + on_site;
  v.urgency = Urgency::kUrgent;
  v.tier = InstitutionTier::kZaishin;
  v.eligibility = eligible();
  return v;
}

Billing bill(const BillableVisit& v) {
  auto b = compute_billing(v, builtin());
  EXPECT_TRUE(b) << (b ? "" : b.error().message);
  return b ? *b : Billing{};
}

// Instants of each band: a Wednesday day, evening and night, and a Sunday afternoon.
const SystemTime kDay = jst(2025, 6, 4, 10, 30);
const SystemTime kNight = jst(2025, 6, 4, 19, 5);
const SystemTime kLateNight = jst(2025, 6, 4, 23, 14);
const SystemTime kHoliday = jst(2025, 6, 1, 14, 0);

TEST(Billing, EachTierAndBandForASadameruKanja) {
  struct Row {
    InstitutionTier tier;
    std::array<int, 3> points;  // 緊急, 夜間・休日, 深夜
  };
  const Row rows[] = {{InstitutionTier::kKyokaBeds, {850, 1700, 2700}},
                      {InstitutionTier::kKyokaNoBeds, {750, 1500, 2500}},
                      {InstitutionTier::kZaishin, {650, 1300, 2300}},
                      {InstitutionTier::kOther, {325, 650, 1300}}};
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.tier)));
    struct BandCase {
      SystemTime at;
      TimeBand band;
      std::string code;
      std::string name;
      int points;
    };
    const BandCase cases[] = {
        {kDay, TimeBand::kDay, "C000-urgent", "緊急往診加算", row.points[0]},
        {kNight, TimeBand::kNight, "C000-night-holiday", "夜間・休日往診加算", row.points[1]},
        {kHoliday, TimeBand::kHoliday, "C000-night-holiday", "夜間・休日往診加算", row.points[1]},
        {kLateNight, TimeBand::kLateNight, "C000-late-night", "深夜往診加算", row.points[2]},
    };
    for (const BandCase& c : cases) {
      BillableVisit v = visit_at(c.at);
      v.tier = row.tier;
      const Billing b = bill(v);
      EXPECT_TRUE(b.sadameru_kanja);
      EXPECT_EQ(b.time_band, c.band);
      ASSERT_EQ(b.items.size(), 2U);
      EXPECT_EQ(b.items[0], (BillingItem{"C000", "往診料", 720}));
      EXPECT_EQ(b.items[1], (BillingItem{c.code, c.name, c.points}));
      EXPECT_EQ(b.total_points, 720 + c.points);
      EXPECT_EQ(b.fee_table, "診療報酬点数表 2024 (令和6年度改定) C000 往診料");
    }
  }
}

TEST(Billing, EachTierAndBandForAPatientWhoIsNotASadameruKanja) {
  for (InstitutionTier tier : {InstitutionTier::kKyokaBeds, InstitutionTier::kKyokaNoBeds,
                               InstitutionTier::kZaishin, InstitutionTier::kOther}) {
    SCOPED_TRACE(std::string(to_string(tier)));
    struct BandCase {
      SystemTime at;
      std::string code;
      std::string name;
      int points;
    };
    const BandCase cases[] = {
        {kDay, "C000-urgent", "緊急往診加算（定める患者以外）", 325},
        {kNight, "C000-night-holiday", "夜間・休日往診加算（定める患者以外）", 405},
        {kHoliday, "C000-night-holiday", "夜間・休日往診加算（定める患者以外）", 405},
        {kLateNight, "C000-late-night", "深夜往診加算（定める患者以外）", 485},
    };
    for (const BandCase& c : cases) {
      BillableVisit v = visit_at(c.at);
      v.tier = tier;
      v.eligibility = Eligibility{};
      const Billing b = bill(v);
      EXPECT_FALSE(b.sadameru_kanja);
      ASSERT_EQ(b.items.size(), 2U);
      EXPECT_EQ(b.items[1], (BillingItem{c.code, c.name, c.points}));
      EXPECT_EQ(b.total_points, 720 + c.points);
    }
  }
}

TEST(Billing, SoonVisitInTheDaytimeHasNoTimeAddOn) {
  BillableVisit v = visit_at(kDay);
  v.urgency = Urgency::kSoon;
  Billing b = bill(v);
  ASSERT_EQ(b.items.size(), 1U);
  EXPECT_EQ(b.items[0].code, "C000");
  EXPECT_EQ(b.total_points, 720);
  EXPECT_EQ(b.time_band, TimeBand::kDay);
  // At night a SOON visit still takes the band's add-on.
  v = visit_at(kNight);
  v.urgency = Urgency::kSoon;
  b = bill(v);
  EXPECT_EQ(b.total_points, 720 + 1300);
  v = visit_at(kLateNight);
  v.urgency = Urgency::kSoon;
  EXPECT_EQ(bill(v).total_points, 720 + 2300);
  v = visit_at(kHoliday);
  v.urgency = Urgency::kSoon;
  EXPECT_EQ(bill(v).total_points, 720 + 1300);
}

TEST(Billing, BandAndReasonComeFromTheStartOfTheVisit) {
  // Started at 21:50 on a weekday, ended after midnight: billed as 夜間.
  const Billing b = bill(visit_at(jst(2025, 6, 4, 21, 50), minutes(40)));
  EXPECT_EQ(b.time_band, TimeBand::kNight);
  EXPECT_EQ(b.time_band_reason, "夜間 (18:00–22:00): started 21:50 JST");
  EXPECT_EQ(b.local_date, (CivilDate{2025, 6, 4}));
  const Billing holiday = bill(visit_at(jst(2025, 5, 6, 10, 0)));
  EXPECT_EQ(holiday.time_band_reason, "休日: 振替休日 2025-05-06");
  const Billing year_end = bill(visit_at(jst(2025, 12, 30, 9, 0)));
  EXPECT_EQ(year_end.time_band, TimeBand::kHoliday);
  EXPECT_EQ(year_end.time_band_reason, "休日: 年末 12/30");
  const Billing late = bill(visit_at(jst(2025, 12, 30, 23, 14)));
  EXPECT_EQ(late.time_band, TimeBand::kLateNight);
  EXPECT_EQ(late.time_band_reason, "深夜 (22:00–06:00): started 23:14 JST");
}

TEST(Billing, SadameruKanjaEvidence) {
  const CivilDate visit{2025, 6, 4};
  Eligibility e;
  EXPECT_FALSE(is_sadameru_kanja(e, visit));
  e.last_scheduled_visit = CivilDate{2025, 4, 5};  // 60 days before
  EXPECT_TRUE(is_sadameru_kanja(e, visit));
  e.last_scheduled_visit = CivilDate{2025, 4, 4};  // 61 days before
  EXPECT_FALSE(is_sadameru_kanja(e, visit));
  e.last_scheduled_visit = visit;
  EXPECT_TRUE(is_sadameru_kanja(e, visit));
  e.last_scheduled_visit = CivilDate{2025, 6, 5};  // after the visit
  EXPECT_FALSE(is_sadameru_kanja(e, visit));
  e.last_scheduled_visit = CivilDate{2025, 2, 30};  // invalid
  EXPECT_FALSE(is_sadameru_kanja(e, visit));
  // A partner clinic's visit counts as the center's own.
  e.last_scheduled_visit = CivilDate{2025, 5, 1};
  e.partner_agreement_id = "agreement-7";
  EXPECT_TRUE(is_sadameru_kanja(e, visit));
  // Across a leap day: 2024-03-01 − 60 days = 2024-01-01.
  Eligibility leap;
  leap.last_scheduled_visit = CivilDate{2024, 1, 1};
  EXPECT_TRUE(is_sadameru_kanja(leap, {2024, 3, 1}));
  EXPECT_FALSE(is_sadameru_kanja(leap, {2024, 3, 2}));

  Eligibility outpatient;
  outpatient.regular_outpatient = true;
  EXPECT_TRUE(is_sadameru_kanja(outpatient, visit));
  Eligibility facility;
  facility.facility_agreement = true;
  EXPECT_TRUE(is_sadameru_kanja(facility, visit));
}

TEST(Billing, SixtyDayEdgeDecidesTheRow) {
  // Visit at 23:00 on 2025-06-04 (local date decides, not UTC).
  BillableVisit v = visit_at(jst(2025, 6, 4, 23, 0));
  v.eligibility = Eligibility{};
  v.eligibility.last_scheduled_visit = CivilDate{2025, 4, 5};
  EXPECT_EQ(bill(v).total_points, 720 + 2300);
  v.eligibility.last_scheduled_visit = CivilDate{2025, 4, 4};
  EXPECT_EQ(bill(v).total_points, 720 + 485);
  // 00:30 JST on 06-04 is still 06-03 in UTC; the local date counts.
  v = visit_at(jst(2025, 6, 4, 0, 30));
  v.eligibility = Eligibility{};
  v.eligibility.last_scheduled_visit = CivilDate{2025, 4, 5};
  EXPECT_TRUE(bill(v).sadameru_kanja);
}

TEST(Billing, LongVisitAddOn) {
  struct Case {
    seconds on_site;
    int points;  // 患家診療時間加算, 0 for none
  };
  const Case cases[] = {
      {minutes(30), 0},    {minutes(60), 0},    {minutes(60) + seconds(1), 100},
      {minutes(61), 100},  {minutes(90), 100},  {minutes(90) + seconds(1), 200},
      {minutes(91), 200},  {minutes(120), 200}, {minutes(150), 300},
      {minutes(151), 400},
  };
  for (const Case& c : cases) {
    BillableVisit v = visit_at(kNight);
    v.ended_at = v.started_at + c.on_site;
    const Billing b = bill(v);
    EXPECT_EQ(b.time_on_site, c.on_site);
    if (c.points == 0) {
      EXPECT_EQ(b.items.size(), 2U) << c.on_site.count();
      EXPECT_EQ(b.total_points, 720 + 1300);
    } else {
      ASSERT_EQ(b.items.size(), 3U) << c.on_site.count();
      EXPECT_EQ(b.items[2], (BillingItem{"C000-long-visit", "患家診療時間加算", c.points}));
      EXPECT_EQ(b.total_points, 720 + 1300 + c.points) << c.on_site.count();
    }
  }
  // Sub-second remainders are dropped: 60:00.999 is not over an hour.
  BillableVisit v = visit_at(kNight);
  v.ended_at = v.started_at + minutes(60) + std::chrono::milliseconds(999);
  EXPECT_EQ(bill(v).items.size(), 2U);
}

TEST(Billing, DeathConfirmation) {
  BillableVisit v = visit_at(jst(2025, 6, 4, 3, 10), minutes(75));
  v.deceased = true;
  const Billing b = bill(v);
  ASSERT_EQ(b.items.size(), 4U);
  EXPECT_EQ(b.items[0], (BillingItem{"C000", "往診料", 720}));
  EXPECT_EQ(b.items[1], (BillingItem{"C000-late-night", "深夜往診加算", 2300}));
  EXPECT_EQ(b.items[2], (BillingItem{"C000-long-visit", "患家診療時間加算", 100}));
  EXPECT_EQ(b.items[3], (BillingItem{"C000-death-certification", "死亡診断加算", 200}));
  EXPECT_EQ(b.total_points, 720 + 2300 + 100 + 200);
  // Daytime SOON death confirmation: base plus 死亡診断加算 only.
  BillableVisit day = visit_at(kDay, minutes(20));
  day.urgency = Urgency::kSoon;
  day.deceased = true;
  const Billing d = bill(day);
  ASSERT_EQ(d.items.size(), 2U);
  EXPECT_EQ(d.items[1].code, "C000-death-certification");
  EXPECT_EQ(d.total_points, 920);
}

TEST(Billing, VisitBeforeTheFirstTableIsAnError) {
  auto b = compute_billing(visit_at(jst(2024, 5, 31, 23, 59, 59)), builtin());
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, Errc::not_found);
  EXPECT_NE(b.error().message.find("2024-05-31"), std::string::npos);
  // 2024-06-01 00:00 JST is 2024-05-31 in UTC, and is billed.
  EXPECT_TRUE(compute_billing(visit_at(jst(2024, 6, 1, 0, 0)), builtin()));
}

TEST(Billing, UsesTheTableInForceOnTheLocalDate) {
  auto table_2024 = parse_fee_table(R"({"name": "2024", "effectiveFrom": "2024-06-01",
  "base": {"code": "C000", "name": "往診料", "points": 720},
  "timeAddOns": {"urgent": {"code": "U", "name": "緊急往診加算"},
    "nightHoliday": {"code": "N", "name": "夜間・休日往診加算"},
    "lateNight": {"code": "L", "name": "深夜往診加算"}, "notSadameruKanjaSuffix": "",
    "points": {"KYOKA_BEDS": {"urgent": 1, "nightHoliday": 2, "lateNight": 3},
      "KYOKA_NO_BEDS": {"urgent": 1, "nightHoliday": 2, "lateNight": 3},
      "ZAISHIN": {"urgent": 1, "nightHoliday": 2, "lateNight": 3},
      "OTHER": {"urgent": 1, "nightHoliday": 2, "lateNight": 3},
      "NOT_SADAMERU_KANJA": {"urgent": 1, "nightHoliday": 2, "lateNight": 3}}},
  "longVisit": {"code": "T", "name": "患家診療時間加算", "includedMinutes": 60, "stepMinutes": 30,
    "pointsPerStep": 100},
  "deathCertification": {"code": "D", "name": "死亡診断加算", "points": 200}})");
  ASSERT_TRUE(table_2024) << table_2024.error().message;
  FeeTable table_2026 = *table_2024;
  table_2026.name = "2026";
  table_2026.effective_from = {2026, 6, 1};
  table_2026.base_points = 800;
  auto tables = FeeTables::from_tables({*table_2024, table_2026});
  ASSERT_TRUE(tables);
  auto before = compute_billing(visit_at(jst(2026, 5, 31, 23, 59)), *tables);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->fee_table, "2024");
  EXPECT_EQ(before->total_points, 720 + 3);
  auto after = compute_billing(visit_at(jst(2026, 6, 1, 0, 0)), *tables);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->fee_table, "2026");
  EXPECT_EQ(after->fee_table_effective_from, (CivilDate{2026, 6, 1}));
  EXPECT_EQ(after->total_points, 800 + 3);
}

TEST(Billing, RejectsBadInput) {
  BillableVisit v = visit_at(kNight);
  v.ended_at = v.started_at - seconds(1);
  EXPECT_FALSE(compute_billing(v, builtin()));
  v = visit_at(kNight, minutes(0));  // zero time on site is allowed
  EXPECT_TRUE(compute_billing(v, builtin()));
  v.utc_offset_minutes = 15 * 60;
  EXPECT_FALSE(compute_billing(v, builtin()));
  v = visit_at(kNight);
  v.urgency = static_cast<Urgency>(0);
  EXPECT_FALSE(compute_billing(v, builtin()));
  v = visit_at(kNight);
  v.tier = static_cast<InstitutionTier>(7);
  EXPECT_FALSE(compute_billing(v, builtin()));
  v = visit_at(jst(2100, 6, 1, 10, 0));
  auto far = compute_billing(v, builtin());
  ASSERT_FALSE(far);
  EXPECT_EQ(far.error().code, Errc::invalid_argument);
  EXPECT_NE(far.error().message.find("1980–2099"), std::string::npos);
  EXPECT_FALSE(compute_billing(visit_at(kNight), FeeTables()));
}

TEST(Billing, ExtremeTimeOnSiteDoesNotOverflow) {
  BillableVisit v = visit_at(jst(2025, 6, 4, 19, 0));
  v.ended_at = SystemTime::max();
  auto b = compute_billing(v, builtin());
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_GT(b->total_points, 100000);
}

}  // namespace
}  // namespace oshin::billing
