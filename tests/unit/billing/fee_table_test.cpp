#include "oshin/billing/fee_table.hpp"

#include <gtest/gtest.h>

#include <string>

namespace oshin::billing {
namespace {

// A valid table whose parts the tests below replace.
std::string table_json(std::string_view effective_from = "2024-06-01",
                       std::string_view name = "test table") {
  return R"({"name": ")" + std::string(name) + R"(", "effectiveFrom": ")" +
         std::string(effective_from) + R"(",
  "base": {"code": "C000", "name": "往診料", "points": 720},
  "timeAddOns": {
    "urgent": {"code": "C000-urgent", "name": "緊急往診加算"},
    "nightHoliday": {"code": "C000-night-holiday", "name": "夜間・休日往診加算"},
    "lateNight": {"code": "C000-late-night", "name": "深夜往診加算"},
    "notSadameruKanjaSuffix": "（定める患者以外）",
    "points": {
      "KYOKA_BEDS": {"urgent": 850, "nightHoliday": 1700, "lateNight": 2700},
      "KYOKA_NO_BEDS": {"urgent": 750, "nightHoliday": 1500, "lateNight": 2500},
      "ZAISHIN": {"urgent": 650, "nightHoliday": 1300, "lateNight": 2300},
      "OTHER": {"urgent": 325, "nightHoliday": 650, "lateNight": 1300},
      "NOT_SADAMERU_KANJA": {"urgent": 325, "nightHoliday": 405, "lateNight": 485}}},
  "longVisit": {"code": "C000-long-visit", "name": "患家診療時間加算", "includedMinutes": 60,
                "stepMinutes": 30, "pointsPerStep": 100},
  "deathCertification": {"code": "C000-death-certification", "name": "死亡診断加算",
                         "points": 200}})";
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The message of a failing parse ("" when it parsed).
std::string parse_error(const std::string& text) {
  auto table = parse_fee_table(text);
  if (table) {
    return {};
  }
  EXPECT_EQ(table.error().code, Errc::invalid_argument);
  return table.error().message;
}

FeeTable table_from(std::string_view effective_from, std::string_view name) {
  auto table = parse_fee_table(table_json(effective_from, name));
  EXPECT_TRUE(table) << (table ? "" : table.error().message);
  return table ? *table : FeeTable{};
}

TEST(FeeTable, BuiltinHolds2024Table) {
  const auto& builtin = FeeTables::builtin();
  ASSERT_TRUE(builtin) << builtin.error().message;
  ASSERT_FALSE(builtin->tables().empty());
  const FeeTable& t = builtin->tables().front();
  EXPECT_EQ(t.name, "診療報酬点数表 2024 (令和6年度改定) C000 往診料");
  EXPECT_EQ(t.effective_from, (CivilDate{2024, 6, 1}));
  EXPECT_EQ(t.base.code, "C000");
  EXPECT_EQ(t.base.name, "往診料");
  EXPECT_EQ(t.base_points, 720);
  EXPECT_EQ(t.urgent.name, "緊急往診加算");
  EXPECT_EQ(t.night_holiday.name, "夜間・休日往診加算");
  EXPECT_EQ(t.late_night.name, "深夜往診加算");
  EXPECT_EQ(t.long_visit.label.name, "患家診療時間加算");
  EXPECT_EQ(t.death_certification.name, "死亡診断加算");
  const auto row = [](const TimeAddOnPoints& p) {
    return std::vector<int>{p.urgent, p.night_holiday, p.late_night};
  };
  EXPECT_EQ(row(t.kyoka_beds), (std::vector<int>{850, 1700, 2700}));
  EXPECT_EQ(row(t.kyoka_no_beds), (std::vector<int>{750, 1500, 2500}));
  EXPECT_EQ(row(t.zaishin), (std::vector<int>{650, 1300, 2300}));
  EXPECT_EQ(row(t.other), (std::vector<int>{325, 650, 1300}));
  EXPECT_EQ(row(t.not_sadameru_kanja), (std::vector<int>{325, 405, 485}));
  EXPECT_EQ(t.long_visit.included_minutes, 60);
  EXPECT_EQ(t.long_visit.step_minutes, 30);
  EXPECT_EQ(t.long_visit.points_per_step, 100);
  EXPECT_EQ(t.death_certification_points, 200);
  EXPECT_EQ(&points_for(t, InstitutionTier::kZaishin), &t.zaishin);
}

TEST(FeeTable, BuiltinPicksTheTableInForce) {
  const auto& builtin = FeeTables::builtin();
  ASSERT_TRUE(builtin);
  auto before = builtin->table_for({2024, 5, 31});
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code, Errc::not_found);
  EXPECT_NE(before.error().message.find("2024-05-31"), std::string::npos);
  EXPECT_NE(before.error().message.find("2024-06-01"), std::string::npos);
  auto first_day = builtin->table_for({2024, 6, 1});
  ASSERT_TRUE(first_day);
  EXPECT_EQ((*first_day)->effective_from, (CivilDate{2024, 6, 1}));
  // The 2026 revision is not added: the 2024 table stays in force.
  auto later = builtin->table_for({2026, 6, 1});
  ASSERT_TRUE(later);
  EXPECT_EQ((*later)->effective_from, (CivilDate{2024, 6, 1}));
}

TEST(FeeTable, TableForPicksTheNewestNotAfterTheDate) {
  // Given out of order on purpose.
  auto tables =
      FeeTables::from_tables({table_from("2026-06-01", "2026"), table_from("2024-06-01", "2024"),
                              table_from("2028-06-01", "2028")});
  ASSERT_TRUE(tables);
  ASSERT_EQ(tables->tables().size(), 3U);
  EXPECT_EQ(tables->tables().front().name, "2024");
  const auto name_on = [&](CivilDate d) {
    auto t = tables->table_for(d);
    return t ? (*t)->name : std::string("error");
  };
  EXPECT_EQ(name_on({2024, 5, 31}), "error");
  EXPECT_EQ(name_on({2024, 6, 1}), "2024");
  EXPECT_EQ(name_on({2026, 5, 31}), "2024");
  EXPECT_EQ(name_on({2026, 6, 1}), "2026");
  EXPECT_EQ(name_on({2028, 5, 31}), "2026");
  EXPECT_EQ(name_on({2028, 6, 1}), "2028");
  EXPECT_EQ(name_on({2099, 12, 31}), "2028");
  EXPECT_EQ(tables->table_for({2026, 2, 30}).error().code, Errc::invalid_argument);
  EXPECT_EQ(FeeTables().table_for({2026, 1, 1}).error().code, Errc::not_found);
}

TEST(FeeTable, DuplicateEffectiveDatesRejected) {
  auto tables =
      FeeTables::from_tables({table_from("2024-06-01", "a"), table_from("2024-06-01", "b")});
  ASSERT_FALSE(tables);
  EXPECT_NE(tables.error().message.find("both take effect 2024-06-01"), std::string::npos);
}

TEST(FeeTable, ParsesTheTestTable) {
  EXPECT_EQ(parse_error(table_json()), "");
  // "note" is optional.
  EXPECT_EQ(parse_error(replaced(table_json(), R"("name": "test table",)",
                                 R"("name": "test table", "note": "",)")),
            "");
}

TEST(FeeTable, BadJsonRejectedWithMessages) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::string good = table_json();
  const Case cases[] = {
      {"", "fee table: malformed JSON"},
      {"{", "fee table: malformed JSON"},
      {"[1, 2]", "fee table: expected a JSON object, got an array"},
      {"\xEF\xBB\xBF" + good, "fee table: malformed JSON"},
      {good + "x", "fee table: malformed JSON"},
      {replaced(good, "\"points\": 720", "\"points\": 720.5"),
       "fee table: base.points: expected an integer 0..100000, got a number"},
      {replaced(good, "\"points\": 720", "\"points\": -1"),
       "fee table: base.points: expected an integer 0..100000"},
      {replaced(good, "\"points\": 720", "\"points\": 99999999999999999999"),
       "fee table: base.points: expected an integer 0..100000, got a number"},
      {replaced(good, "\"points\": 720", "\"points\": \"720\""),
       "fee table: base.points: expected an integer 0..100000, got a string"},
      {replaced(good, "\"lateNight\": 485", "\"lateNight\": null"),
       "fee table: timeAddOns.points.NOT_SADAMERU_KANJA.lateNight: expected an integer "
       "0..100000, got null"},
      {replaced(good, "\"OTHER\": {\"urgent\": 325, ", "\"OTHER\": {"),
       "fee table: timeAddOns.points.OTHER: missing field \"urgent\""},
      {replaced(good, "\"ZAISHIN\"", "\"ZAISHlN\""),
       "fee table: timeAddOns.points: unknown field \"ZAISHlN\""},
      {replaced(good, "\"base\": {", "\"bsae\": {"), "fee table: unknown field \"bsae\""},
      {replaced(good, "\"effectiveFrom\": \"2024-06-01\"", "\"effectiveFrom\": \"2024-06-31\""),
       "fee table: effectiveFrom: expected a date \"YYYY-MM-DD\""},
      {replaced(good, "\"name\": \"test table\"", "\"name\": \"\""),
       "fee table: name: must not be empty"},
      {replaced(good, "\"name\": \"test table\"", "\"name\": \"a\\u0000b\""),
       "fee table: name: contains a control character"},
      {replaced(good, "\"name\": \"test table\"", "\"name\": 7"),
       "fee table: name: expected a string, got a number"},
      {replaced(good, "\"code\": \"C000-urgent\"", "\"code\": \"C000\""),
       "fee table: timeAddOns.urgent.code: \"C000\" is also the code of base"},
      {replaced(good, "\"code\": \"C000-urgent\"", "\"code\": \"C000 urgent,\""),
       "fee table: timeAddOns.urgent.code: may hold only ASCII letters, digits, '-', '_', '.'"},
      {replaced(good, "\"stepMinutes\": 30", "\"stepMinutes\": 0"),
       "fee table: longVisit.stepMinutes: expected an integer 1..1440"},
      {replaced(good, "\"deathCertification\": {", "\"deathCertification\": ["),
       "fee table: malformed JSON"},
      {replaced(good, "\"timeAddOns\": {", "\"timeAddOns\": 1, \"x\": {"),
       "fee table: unknown field \"x\""},
      {replaced(good, "\"name\": \"test table\",", "\"name\": \"test table\", \"name\": \"b\","),
       "fee table: duplicate key \"name\""},
      {replaced(good, "\"urgent\": 850,", "\"urgent\": 850, \"urgent\": 1,"),
       "fee table: duplicate key \"urgent\""},
      {replaced(good, "\"longVisit\": {", "\"longVisit\": {\"\\u0007bad\": 1,"),
       "fee table: longVisit: unknown field \"?bad\""},
      {"{\"name\": \"x\"}", "fee table: missing field \"effectiveFrom\""},
      {std::string(40, '[') + std::string(40, ']'), "fee table: malformed JSON"},
      {std::string(1024 * 1024 + 1, ' '), "fee table: larger than 1 MiB"},
  };
  for (const Case& c : cases) {
    const std::string message = parse_error(c.text);
    EXPECT_EQ(message.substr(0, c.message.size()), c.message) << c.text.substr(0, 200);
  }
}

TEST(FeeTable, NeverCrashesOnTruncationsOfAValidTable) {
  const std::string good = table_json();
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(parse_fee_table(good.substr(0, n)));
  }
  // Every single-byte corruption either parses or fails cleanly.
  for (std::size_t i = 0; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = '\x01';
    (void)parse_fee_table(bad);
  }
}

TEST(FeeTable, TierNames) {
  EXPECT_EQ(parse_institution_tier("KYOKA_BEDS").value(), InstitutionTier::kKyokaBeds);
  EXPECT_EQ(parse_institution_tier("KYOKA_NO_BEDS").value(), InstitutionTier::kKyokaNoBeds);
  EXPECT_EQ(parse_institution_tier("ZAISHIN").value(), InstitutionTier::kZaishin);
  EXPECT_EQ(parse_institution_tier("OTHER").value(), InstitutionTier::kOther);
  EXPECT_FALSE(parse_institution_tier("zaishin"));
  EXPECT_FALSE(parse_institution_tier(""));
  EXPECT_EQ(to_string(InstitutionTier::kKyokaNoBeds), "KYOKA_NO_BEDS");
}

}  // namespace
}  // namespace oshin::billing
