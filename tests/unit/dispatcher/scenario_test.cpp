#include "oshin/dispatcher/scenario.hpp"

#include <gtest/gtest.h>

#include "oshin/dispatcher/generator.hpp"
#include "oshin/dispatcher/rfc3339.hpp"

namespace oshin::dispatcher {
namespace {

// The example of DESIGN.md, verbatim.
constexpr std::string_view kDesignExample =
    R"({"center":{"lat":35.6716,"lon":139.3950},"serviceRadiusKm":16,
 "travel":{"circuity":1.3,"speedKmh":28,"fixedMinutes":4},
 "offerTimeoutSeconds":60,
 "behavior":{"declineProbability":0.05,"acceptDelaySeconds":20},
 "teams":[{"id":"t1","base":{"lat":35.67,"lon":139.39},"shiftStart":"2026-01-10T18:00:00+09:00",
           "shiftEnd":"2026-01-11T08:00:00+09:00","skills":["PEDIATRIC"]}],
 "requests":[{"id":"r1","at":"2026-01-10T21:14:00+09:00","location":{"lat":35.66,"lon":139.37},
              "urgency":"URGENT","serviceMinutes":35,"skills":[]}]})";

TEST(ScenarioTest, ParsesTheDesignExample) {
  const ScenarioResult r = parse_scenario(kDesignExample);
  ASSERT_TRUE(r.scenario.has_value()) << r.error;
  const Scenario& s = *r.scenario;
  EXPECT_DOUBLE_EQ(s.service_radius_km, 16.0);
  EXPECT_DOUBLE_EQ(s.travel.speed_kmh, 28.0);
  EXPECT_EQ(s.offer_timeout, std::chrono::seconds(60));
  EXPECT_EQ(s.behavior.accept_delay, std::chrono::seconds(20));
  EXPECT_EQ(s.expected_service, std::chrono::minutes(30));
  EXPECT_EQ(s.allowed_overtime, Duration::zero());
  ASSERT_EQ(s.teams.size(), 1U);
  EXPECT_TRUE(s.teams[0].skills.has(Skill::kPediatric));
  EXPECT_EQ(s.teams[0].shift_start, parse_rfc3339("2026-01-10T09:00:00Z")->at);
  ASSERT_EQ(s.requests.size(), 1U);
  EXPECT_EQ(s.requests[0].service, std::chrono::minutes(35));
  EXPECT_EQ(s.requests[0].urgency, Urgency::kUrgent);
  EXPECT_EQ(s.utc_offset_minutes, 540);
}

TEST(ScenarioTest, RejectsBadInputWithAPath) {
  const struct {
    std::string_view json;
    std::string_view expected;
  } cases[] = {
      {"not json", "invalid JSON"},
      {"[]", "$: expected an object"},
      {R"({"teams":[],"requests":[],"colour":1})", "unknown field \"colour\""},
      {R"({"requests":[]})", "$.teams"},
      {R"({"teams":[{"id":"t1","base":{"lat":95,"lon":0},"shiftStart":"2026-01-10T18:00:00Z","shiftEnd":"2026-01-11T08:00:00Z"}],"requests":[]})",
       "$.teams[0].base"},
      {R"({"teams":[{"id":"t1","base":{"lat":35,"lon":139},"shiftStart":"2026-01-10T18:00:00Z","shiftEnd":"2026-01-10T08:00:00Z"}],"requests":[]})",
       "$.teams[0].shiftEnd"},
      {R"({"teams":[{"id":"t1","base":{"lat":35,"lon":139},"shiftStart":"yesterday","shiftEnd":"2026-01-10T08:00:00Z"}],"requests":[]})",
       "$.teams[0].shiftStart"},
      {R"({"teams":[],"requests":[{"id":"r1","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"LATER","serviceMinutes":30}]})",
       "$.requests[0].urgency"},
      {R"({"teams":[],"requests":[{"id":"r1","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"SOON","serviceMinutes":-3}]})",
       "$.requests[0].serviceMinutes"},
      {R"({"teams":[],"requests":[{"id":"r1","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"SOON","serviceMinutes":30,"skills":["SURGERY"]}]})",
       "$.requests[0].skills"},
      {R"({"teams":[],"requests":[{"id":"r1","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"SOON","serviceMinutes":30},{"id":"r1","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"SOON","serviceMinutes":30}]})",
       "duplicate id"},
      {R"({"teams":[],"requests":[],"behavior":{"declineProbability":2}})",
       "$.behavior.declineProbability"},
      {R"({"teams":[],"requests":[],"travel":{"speedKmh":0}})", "$.travel.speedKmh"},
      {R"({"teams":[],"requests":[],"offerTimeoutSeconds":"60"})", "$.offerTimeoutSeconds"},
      {R"({"teams":[],"requests":[{"id":"","at":"2026-01-10T18:00:00Z","location":{"lat":35,"lon":139},"urgency":"SOON","serviceMinutes":30}]})",
       "$.requests[0].id"},
      {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
       "invalid JSON"},
  };
  for (const auto& c : cases) {
    const ScenarioResult r = parse_scenario(c.json);
    EXPECT_FALSE(r.scenario.has_value()) << c.json;
    EXPECT_NE(r.error.find(c.expected), std::string::npos) << r.error << " <- " << c.json;
  }
}

TEST(ScenarioTest, GeneratedScenariosRoundTrip) {
  for (const std::string_view kind : scenario_kinds()) {
    const auto s = generate_scenario(kind, 9);
    ASSERT_TRUE(s.has_value()) << kind;
    const std::string text = scenario_to_json(*s);
    const ScenarioResult back = parse_scenario(text);
    ASSERT_TRUE(back.scenario.has_value()) << back.error;
    EXPECT_EQ(scenario_to_json(*back.scenario), text) << kind;
  }
  EXPECT_FALSE(generate_scenario("tornado", 1).has_value());
}

TEST(ScenarioTest, GeneratedNightsHaveTheDocumentedSizes) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    const auto quiet = generate_scenario("quiet", seed);
    EXPECT_GE(quiet->requests.size(), 1U);
    EXPECT_LE(quiet->requests.size(), 3U);
    const auto surge = generate_scenario("surge", seed);
    EXPECT_GE(surge->requests.size(), 20U);
    EXPECT_LE(surge->requests.size(), 60U);
    const auto metro = generate_scenario("metro", seed);
    EXPECT_GE(metro->requests.size(), 300U);
    EXPECT_GE(metro->teams.size(), 24U);
    for (const ScenarioRequest& r : surge->requests) {
      EXPECT_GE(r.service, std::chrono::minutes(20));
      EXPECT_LE(r.service, std::chrono::minutes(40));
      EXPECT_LE(haversine_km(r.location, surge->center), surge->service_radius_km);
    }
  }
}

}  // namespace
}  // namespace oshin::dispatcher
