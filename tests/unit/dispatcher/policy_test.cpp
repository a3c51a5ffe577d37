// Behaviour that distinguishes the policies.

#include <gtest/gtest.h>

#include "oshin/dispatcher/dispatcher.hpp"
#include "test_support.hpp"

namespace oshin::dispatcher {
namespace {

using testing::at;
using testing::decisions_of;
using testing::make_dispatcher;
using testing::near_center;
using testing::request;
using testing::team;

// Team 1 is on site next to a new urgent call and expected free in 5 minutes; team 2 is idle
// 12 km away. The baseline sends team 2 (a 40-minute drive); the planners wait for team 1.
void busy_neighbour_setup(Dispatcher& d) {
  (void)d.apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  TeamSpec far = team(2, near_center(-12, 0));
  far.shift_start = at(30);
  (void)d.apply(TeamUpserted{far}, at(0));
  const auto o =
      decisions_of<OfferVisit>(d.apply(VisitRequested{request(1, 1, near_center(3, 0))}, at(1)));
  ASSERT_EQ(o.size(), 1U);
  (void)d.apply(OfferAccepted{o[0].offer}, at(1.2));
  (void)d.apply(VisitDeparted{VisitId(1)}, at(1.3));
  (void)d.apply(VisitArrived{VisitId(1)}, at(11));
  (void)d.apply(Tick{}, at(36));  // team 2 comes on shift; team 1 expected free at 41
}

TEST(PolicyTest, ClosestIdleSendsTheFarIdleTeam) {
  auto d = make_dispatcher(PolicyKind::kClosestIdle);
  busy_neighbour_setup(*d);
  const auto o = decisions_of<OfferVisit>(
      d->apply(VisitRequested{request(2, 36, near_center(3.3, 0))}, at(36)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].team, TeamId(2));
}

TEST(PolicyTest, PlannersWaitForTheBusyNeighbour) {
  for (const PolicyKind kind : {PolicyKind::kOptimal, PolicyKind::kRolling}) {
    auto d = make_dispatcher(kind);
    busy_neighbour_setup(*d);
    const auto out = d->apply(VisitRequested{request(2, 36, near_center(3.3, 0))}, at(36));
    EXPECT_TRUE(decisions_of<OfferVisit>(out).empty()) << policy_kind_name(kind);
    // While waiting with an idle team around, the dispatcher asks to re-plan within a minute.
    ASSERT_TRUE(d->next_deadline().has_value());
    EXPECT_LE(*d->next_deadline(), at(37));
    const auto done = decisions_of<OfferVisit>(d->apply(VisitCompleted{VisitId(1)}, at(41)));
    ASSERT_EQ(done.size(), 1U) << policy_kind_name(kind);
    EXPECT_EQ(done[0].team, TeamId(1));
  }
}

// Two calls wait while both teams are off shift. Handing them out in queue order gives the
// first call the nearer team; the batch assignment minimises the total instead.
TEST(PolicyTest, BatchAssignmentBeatsQueueOrder) {
  const auto run = [](PolicyKind kind) {
    auto d = make_dispatcher(kind);
    TeamSpec a = team(1, near_center(0, 0));
    TeamSpec b = team(2, near_center(0, 10));
    a.shift_start = b.shift_start = at(30);
    (void)d->apply(TeamUpserted{a}, at(0));
    (void)d->apply(TeamUpserted{b}, at(0));
    (void)d->apply(VisitRequested{request(1, 1, near_center(0, 4))}, at(1));
    (void)d->apply(VisitRequested{request(2, 2, near_center(0, -1))}, at(2));
    return decisions_of<OfferVisit>(d->apply(Tick{}, at(30)));
  };
  const auto greedy = run(PolicyKind::kClosestIdle);
  ASSERT_EQ(greedy.size(), 2U);
  EXPECT_EQ(greedy[0].visit, VisitId(1));
  EXPECT_EQ(greedy[0].team, TeamId(1));
  for (const PolicyKind kind : {PolicyKind::kOptimal, PolicyKind::kRolling}) {
    const auto offers = run(kind);
    ASSERT_EQ(offers.size(), 2U) << policy_kind_name(kind);
    for (const OfferVisit& o : offers) {
      EXPECT_EQ(o.team, o.visit == VisitId(1) ? TeamId(2) : TeamId(1)) << policy_kind_name(kind);
    }
  }
}

TEST(PolicyTest, UrgentGoesFirstInTheBaselineQueue) {
  auto d = make_dispatcher(PolicyKind::kClosestIdle);
  TeamSpec a = team(1, near_center(0, 0));
  a.shift_start = at(30);
  (void)d->apply(TeamUpserted{a}, at(0));
  (void)d->apply(VisitRequested{request(1, 1, near_center(1, 0), Urgency::kSoon)}, at(1));
  (void)d->apply(VisitRequested{request(2, 2, near_center(2, 0), Urgency::kUrgent)}, at(2));
  const auto o = decisions_of<OfferVisit>(d->apply(Tick{}, at(30)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].visit, VisitId(2));
}

TEST(PolicyTest, RollingRespectsAZeroBudgetAndStillAssigns) {
  PolicyOptions options;
  options.work_budget = 0;
  Dispatcher d(DispatcherConfig{}, std::make_shared<HaversineTravelModel>(),
               make_policy(PolicyKind::kRolling, options));
  (void)d.apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto o =
      decisions_of<OfferVisit>(d.apply(VisitRequested{request(1, 1, near_center(1, 0))}, at(1)));
  EXPECT_EQ(o.size(), 1U);
}

TEST(PolicyTest, NamesRoundTrip) {
  for (const PolicyKind kind :
       {PolicyKind::kClosestIdle, PolicyKind::kOptimal, PolicyKind::kRolling}) {
    EXPECT_EQ(parse_policy_kind(policy_kind_name(kind)), kind);
    EXPECT_EQ(make_policy(kind)->name(), policy_kind_name(kind));
  }
  EXPECT_FALSE(parse_policy_kind("hindsight").has_value());
}

}  // namespace
}  // namespace oshin::dispatcher
