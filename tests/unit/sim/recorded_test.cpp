// The conversion of the server's core log into a recorded night, and its replay.

#include "oshin/sim/recorded.hpp"

#include <gtest/gtest.h>

#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::sim {
namespace {

namespace v1 = oshin::v1;
using std::chrono::minutes;
using std::chrono::seconds;

// 2026-11-20T12:00:00Z (21:00 JST).
constexpr std::int64_t kT0 = 1'795'521'600'000;
constexpr std::int64_t kMin = 60'000;

d::TimePoint at(std::int64_t ms) {
  return d::TimePoint(d::Duration(ms));
}

class Log {
 public:
  Log& team(const std::string& id, std::uint64_t core, double lat, double lon) {
    v1::CoreEvent ev;
    ev.set_at_ms(kT0 - 60 * kMin);
    auto* t = ev.mutable_team_upserted();
    t->set_team_id(id);
    t->set_core_id(core);
    t->mutable_base()->set_lat(lat);
    t->mutable_base()->set_lon(lon);
    t->set_shift_start_ms(kT0 - 60 * kMin);
    t->set_shift_end_ms(kT0 + 600 * kMin);
    events.push_back(ev);
    return *this;
  }
  Log& request(std::int64_t t, const std::string& id, std::uint64_t core, double lat, double lon,
               v1::Urgency urgency = v1::URGENT) {
    v1::CoreEvent ev;
    ev.set_at_ms(t);
    auto* v = ev.mutable_visit_requested();
    v->set_visit_id(id);
    v->set_core_id(core);
    v->set_requested_at_ms(t);
    v->mutable_location()->set_lat(lat);
    v->mutable_location()->set_lon(lon);
    v->set_urgency(urgency);
    v->set_reason(v1::ACUTE_CHANGE);
    events.push_back(ev);
    return *this;
  }
  Log& accept(std::int64_t t, std::uint64_t offer) {
    v1::CoreEvent ev;
    ev.set_at_ms(t);
    ev.set_offer_accepted(offer);
    events.push_back(ev);
    return *this;
  }
  Log& decline(std::int64_t t, std::uint64_t offer) {
    v1::CoreEvent ev;
    ev.set_at_ms(t);
    ev.set_offer_declined(offer);
    events.push_back(ev);
    return *this;
  }
  Log& progress(std::int64_t t, const std::string& visit, char what) {
    v1::CoreEvent ev;
    ev.set_at_ms(t);
    if (what == 'd') {
      ev.set_visit_departed(visit);
    } else if (what == 'a') {
      ev.set_visit_arrived(visit);
    } else {
      ev.set_visit_completed(visit);
    }
    events.push_back(ev);
    return *this;
  }
  std::vector<v1::CoreEvent> events;
};

constexpr double kLat = 35.6716;
constexpr double kLon = 139.3950;

ReplaySettings settings() {
  ReplaySettings s;
  s.server_policy = "closest-idle";
  return s;
}

// One team, two visits served one after the other, with human delays that are not the model's.
Log two_visit_night() {
  Log log;
  log.team("team-a", 1, kLat, kLon)
      .request(kT0, "visit-1", 1, kLat + 0.02, kLon, v1::URGENT)
      .accept(kT0 + 45'000, 1)
      .progress(kT0 + 3 * kMin, "visit-1", 'd')
      .progress(kT0 + 17 * kMin, "visit-1", 'a')
      .request(kT0 + 20 * kMin, "visit-2", 2, kLat - 0.01, kLon + 0.01, v1::SOON)
      .progress(kT0 + 50 * kMin, "visit-1", 'c');
  return log;
}

TEST(RecordedNight, ConvertsTheCoreLogIntoTeamsRequestsAndTheRecordedTrace) {
  Log log = two_visit_night();
  // visit-2 is offered to team-a when it becomes available at completion (offer 2), accepted
  // 30 s later.
  log.accept(kT0 + 50 * kMin + 30'000, 2)
      .progress(kT0 + 52 * kMin, "visit-2", 'd')
      .progress(kT0 + 70 * kMin, "visit-2", 'a')
      .progress(kT0 + 90 * kMin, "visit-2", 'c');
  std::string error;
  const auto night =
      night_from_core_log(log.events, at(kT0 - 10 * kMin), at(kT0 + 120 * kMin), settings(), error);
  ASSERT_TRUE(night) << error;
  ASSERT_EQ(night->scenario.teams.size(), 1U);
  EXPECT_EQ(night->scenario.teams[0].id, "team-a");
  ASSERT_EQ(night->scenario.requests.size(), 2U);
  EXPECT_EQ(night->scenario.requests[0].id, "visit-1");
  EXPECT_EQ(night->scenario.requests[0].urgency, d::Urgency::kUrgent);
  EXPECT_EQ(night->scenario.requests[1].urgency, d::Urgency::kSoon);
  EXPECT_EQ(night->scenario.requests[0].service, minutes(33));  // arrived → completed
  EXPECT_EQ(night->scenario.requests[1].service, minutes(20));
  ASSERT_EQ(night->recorded.size(), 2U);
  EXPECT_EQ(night->recorded[0].accepted_at, at(kT0 + 45'000));
  EXPECT_EQ(night->recorded[0].arrived_at, at(kT0 + 17 * kMin));
  EXPECT_EQ(night->recorded[1].team, "team-a");
  EXPECT_EQ(night->depart_delay[0], d::Duration(3 * kMin - 45'000));
  // The offers the server made and how they were answered.
  ASSERT_EQ(night->answers.count({0, 0}), 1U);
  EXPECT_EQ(night->answers.at({0, 0}).at(0).kind, RecordedAnswer::Kind::kAccept);
  EXPECT_EQ(night->answers.at({0, 0}).at(0).after, seconds(45));
  EXPECT_EQ(night->answers.at({1, 0}).at(0).after, seconds(30));
  // The median recorded answer delay (of 30 s and 45 s, the lower) is what unknown doctors do.
  EXPECT_EQ(night->scenario.behavior.accept_delay, seconds(30));
  EXPECT_EQ(night->scenario.behavior.decline_probability, 0.0);
}

TEST(RecordedNight, ReplayWithTheServersPolicyReproducesTheRecordedTimes) {
  Log log = two_visit_night();
  log.accept(kT0 + 50 * kMin + 30'000, 2)
      .progress(kT0 + 52 * kMin, "visit-2", 'd')
      .progress(kT0 + 70 * kMin, "visit-2", 'a')
      .progress(kT0 + 90 * kMin, "visit-2", 'c');
  std::string error;
  const auto night =
      night_from_core_log(log.events, at(kT0 - 10 * kMin), at(kT0 + 120 * kMin), settings(), error);
  ASSERT_TRUE(night) << error;
  const d::SimulationResult replayed = replay_night(*night, "closest-idle", 1, settings());
  ASSERT_EQ(replayed.trace.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(replayed.trace[i].accepted_at, night->recorded[i].accepted_at) << i;
    EXPECT_EQ(replayed.trace[i].departed_at, night->recorded[i].departed_at) << i;
    EXPECT_EQ(replayed.trace[i].arrived_at, night->recorded[i].arrived_at) << i;
    EXPECT_EQ(replayed.trace[i].completed_at, night->recorded[i].completed_at) << i;
    EXPECT_EQ(replayed.trace[i].team, night->recorded[i].team) << i;
  }
  const auto figures = urgency_figures(night->scenario, replayed.trace);
  ASSERT_EQ(figures.size(), 2U);
  EXPECT_EQ(figures[0].requests, 1U);
  EXPECT_DOUBLE_EQ(figures[0].max_min, 17.0);
  EXPECT_DOUBLE_EQ(figures[0].within_target, 1.0);
  EXPECT_DOUBLE_EQ(figures[1].max_min, 50.0);
}

TEST(RecordedNight, AnotherTeamTravelsByTheModelAndAnswersLikeTheMedianDoctor) {
  Log log = two_visit_night();
  log.accept(kT0 + 50 * kMin + 30'000, 2)
      .progress(kT0 + 52 * kMin, "visit-2", 'd')
      .progress(kT0 + 70 * kMin, "visit-2", 'a')
      .progress(kT0 + 90 * kMin, "visit-2", 'c');
  std::string error;
  const auto night =
      night_from_core_log(log.events, at(kT0 - 10 * kMin), at(kT0 + 120 * kMin), settings(), error);
  ASSERT_TRUE(night) << error;
  // Two teams: the copy of team-a is idle at the base when visit-2 comes in.
  const d::SimulationResult replayed = replay_night(*night, "closest-idle", 2, settings());
  ASSERT_EQ(replayed.trace.size(), 2U);
  EXPECT_EQ(replayed.trace[0].arrived_at, night->recorded[0].arrived_at);
  ASSERT_TRUE(replayed.trace[1].team);
  EXPECT_EQ(*replayed.trace[1].team, "team-a+1");
  const d::TimePoint accepted = at(kT0 + 20 * kMin) + seconds(30);
  EXPECT_EQ(replayed.trace[1].accepted_at, accepted);
  d::HaversineTravelModel model(night->scenario.travel);
  const d::Duration leg = model.travel(model.make_place(d::LatLon{kLat, kLon}),
                                       model.make_place(night->scenario.requests[1].location));
  // Departs after visit-2's recorded accept → depart delay, then travels by the model.
  EXPECT_EQ(replayed.trace[1].arrived_at, accepted + seconds(90) + leg);
}

TEST(RecordedNight, ATeamThatJoinsAfterTheWindowOpensStartsAtItsBase) {
  Log log = two_visit_night();
  std::string error;
  // The window opens two hours before the team is created.
  const auto night = night_from_core_log(log.events, at(kT0 - 120 * kMin), at(kT0 + 120 * kMin),
                                         settings(), error);
  ASSERT_TRUE(night) << error;
  ASSERT_EQ(night->team_position.size(), 1U);
  EXPECT_EQ(night->team_position[0], (d::LatLon{kLat, kLon}));
  const d::SimulationResult replayed = replay_night(*night, "closest-idle", 1, settings());
  EXPECT_EQ(replayed.trace[0].arrived_at, night->recorded[0].arrived_at);
}

TEST(RecordedNight, DeclinesAreReplayedForTheSameTeam) {
  Log log;
  log.team("team-a", 1, kLat, kLon)
      .request(kT0, "visit-1", 1, kLat + 0.02, kLon)
      .decline(kT0 + 10'000, 1);
  std::string error;
  const auto night =
      night_from_core_log(log.events, at(kT0 - 10 * kMin), at(kT0 + 60 * kMin), settings(), error);
  ASSERT_TRUE(night) << error;
  EXPECT_EQ(night->answers.at({0, 0}).at(0).kind, RecordedAnswer::Kind::kDecline);
  EXPECT_EQ(night->scenario.behavior.decline_probability, 1.0);
  EXPECT_FALSE(night->recorded[0].arrived_at);
}

TEST(RecordedNight, CancellationsAreReplayedAndFewerTeamsDropTheLastOnes) {
  Log log;
  log.team("team-a", 1, kLat, kLon)
      .team("team-b", 2, kLat + 0.05, kLon)
      .request(kT0, "visit-1", 1, kLat + 0.05, kLon);
  v1::CoreEvent cancel;
  cancel.set_at_ms(kT0 + 20'000);
  cancel.set_visit_cancelled("visit-1");
  log.events.push_back(cancel);
  std::string error;
  const auto night =
      night_from_core_log(log.events, at(kT0 - 10 * kMin), at(kT0 + 60 * kMin), settings(), error);
  ASSERT_TRUE(night) << error;
  ASSERT_EQ(night->scenario.teams.size(), 2U);
  ASSERT_EQ(night->exogenous.size(), 2U);
  EXPECT_EQ(night->exogenous[1].kind, Exogenous::Kind::kCancel);
  // The visit was offered to team-b (next door) and cancelled before any answer.
  EXPECT_EQ(night->answers.at({0, 1}).at(0).kind, RecordedAnswer::Kind::kLapse);
  for (const std::size_t teams : {1U, 2U}) {
    const d::SimulationResult replayed = replay_night(*night, "closest-idle", teams, settings());
    ASSERT_EQ(replayed.trace.size(), 1U);
    EXPECT_FALSE(replayed.trace[0].arrived_at) << teams;
    EXPECT_EQ(replayed.kpis.unserved, 1U);
  }
}

TEST(RecordedNight, AMissingStoreIsAnError) {
  std::string error;
  EXPECT_FALSE(read_core_log("/nonexistent/oshin-data", error));
  EXPECT_NE(error.find("no store"), std::string::npos) << error;
}

TEST(RecordedNight, AnEmptyWindowIsAnError) {
  const Log log = two_visit_night();
  std::string error;
  EXPECT_FALSE(night_from_core_log(log.events, at(kT0 + 200 * kMin), at(kT0 + 300 * kMin),
                                   settings(), error));
  EXPECT_NE(error.find("no recorded requests"), std::string::npos);
  EXPECT_FALSE(night_from_core_log(log.events, at(kT0), at(kT0), settings(), error));
}

}  // namespace
}  // namespace oshin::sim
