// oshin-sim staffing: the fewest teams per band that keep 90% of URGENT within 60 minutes.

#include "oshin/dispatcher/staffing.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace oshin::dispatcher {
namespace {

using testing::at;
using testing::near_center;

/// `teams` teams at the center on shift 18:00-08:00; answers come at once and are never declined.
Scenario night(std::size_t teams) {
  Scenario s;
  s.utc_offset_minutes = 540;
  s.behavior.decline_probability = 0.0;
  s.behavior.accept_delay = Duration::zero();
  s.expected_service = minutes(50);
  for (std::size_t t = 0; t < teams; ++t) {
    s.teams.push_back(ScenarioTeam{"t" + std::to_string(t), s.center, at(0), at(14 * 60), {}});
  }
  return s;
}

ScenarioRequest call(const std::string& id, double minutes_after, Urgency urgency) {
  ScenarioRequest r;
  r.id = id;
  r.at = at(minutes_after);
  r.location = near_center(2.0, 1.0);  // about 10 minutes' drive
  r.urgency = urgency;
  r.service = minutes(50);
  return r;
}

TEST(Staffing, FewestTeamsPerBand) {
  Scenario s = night(5);
  // Evening (19:00): one URGENT call, one team is enough.
  s.requests.push_back(call("e1", 60, Urgency::kUrgent));
  // Late night (23:00): four URGENT calls at once; each visit takes a team ~70 minutes, so every
  // call needs its own team (3 of 4 within target is 75%, below 90%).
  for (int i = 0; i < 4; ++i) {
    s.requests.push_back(call("l" + std::to_string(i), 300, Urgency::kUrgent));
  }
  // Morning (06:30): only a SOON call.
  s.requests.push_back(call("m1", 12 * 60 + 30, Urgency::kSoon));

  SimulationOptions options;
  const auto rows = staffing(s, "closest-idle", options, default_staffing_bands());
  ASSERT_EQ(rows.size(), 4U);
  EXPECT_EQ(rows[0].requests, 1U);
  EXPECT_EQ(rows[0].teams, 1U);
  EXPECT_DOUBLE_EQ(rows[0].urgent_within_target, 1.0);
  EXPECT_EQ(rows[1].requests, 4U);
  EXPECT_EQ(rows[1].urgent, 4U);
  EXPECT_EQ(rows[1].teams, 4U);
  EXPECT_DOUBLE_EQ(rows[1].urgent_within_target, 1.0);
  EXPECT_EQ(rows[2].requests, 1U);
  EXPECT_EQ(rows[2].urgent, 0U);
  EXPECT_EQ(rows[2].teams, 1U);
  EXPECT_EQ(rows[3].requests, 0U);
  EXPECT_EQ(rows[3].teams, 0U);

  // With only three teams the late-night target cannot be met: no answer, best share reported.
  Scenario three = s;
  three.teams.resize(3);
  const auto short_handed = staffing(three, "closest-idle", options, default_staffing_bands());
  EXPECT_FALSE(short_handed[1].teams);
  EXPECT_DOUBLE_EQ(short_handed[1].urgent_within_target, 0.75);

  const std::string json = staffing_to_json(short_handed);
  EXPECT_NE(json.find("\"teams\":null"), std::string::npos) << json;
  EXPECT_NE(staffing_table(rows).find("late night"), std::string::npos);
}

}  // namespace
}  // namespace oshin::dispatcher
