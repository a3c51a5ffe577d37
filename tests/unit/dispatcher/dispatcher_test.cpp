// Every event and every constraint of the dispatch state machine, under each online policy.

#include "oshin/dispatcher/dispatcher.hpp"

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace oshin::dispatcher {
namespace {

using testing::at;
using testing::decisions_of;
using testing::make_dispatcher;
using testing::near_center;
using testing::request;
using testing::team;

const HaversineTravelModel kTravel;

Duration drive(LatLon from, LatLon to) {
  return kTravel.travel(kTravel.make_place(from), kTravel.make_place(to));
}

class DispatcherTest : public ::testing::TestWithParam<PolicyKind> {
 protected:
  std::unique_ptr<Dispatcher> make(DispatcherConfig config = {}) {
    return make_dispatcher(GetParam(), config);
  }
  /// Team 1 at the center, team 2 four kilometres west, then visit 1 requested at minute 5 next
  /// to team 1: the offers that request made (team 1's, when the policy works).
  static std::vector<OfferVisit> two_teams_and_a_request(Dispatcher& d) {
    (void)d.apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
    (void)d.apply(TeamUpserted{team(2, near_center(-4, 0))}, at(0));
    return decisions_of<OfferVisit>(
        d.apply(VisitRequested{request(1, 5, near_center(1, 0))}, at(5)));
  }
};

TEST_P(DispatcherTest, OffersNewRequestToIdleTeamWithEtaAndExpiry) {
  auto d = make();
  ASSERT_EQ(d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0)).status, EventStatus::kOk);
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kAvailable);
  const LatLon where = near_center(2, 0);
  const Outcome out = d->apply(VisitRequested{request(1, 10, where)}, at(10));
  ASSERT_EQ(out.status, EventStatus::kOk);
  const auto offers = decisions_of<OfferVisit>(out);
  ASSERT_EQ(offers.size(), 1U);
  EXPECT_EQ(offers[0].visit, VisitId(1));
  EXPECT_EQ(offers[0].team, TeamId(1));
  EXPECT_EQ(offers[0].eta, at(10) + drive(near_center(0, 0), where));
  EXPECT_EQ(offers[0].expires_at, at(10) + std::chrono::seconds(60));
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kOffered);
  EXPECT_EQ(d->visit_status(VisitId(1)), VisitStatus::kOffered);
  EXPECT_EQ(d->visit_team(VisitId(1)), TeamId(1));
  EXPECT_EQ(d->next_deadline(), at(10) + std::chrono::seconds(60));
}

TEST_P(DispatcherTest, SkillsAreRespected) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(-6, 0), SkillSet{}.with(Skill::kPediatric))},
                 at(0));
  const auto out = d->apply(VisitRequested{request(1, 5, near_center(0.5, 0), Urgency::kUrgent,
                                                   SkillSet{}.with(Skill::kPediatric))},
                            at(5));
  const auto offers = decisions_of<OfferVisit>(out);
  ASSERT_EQ(offers.size(), 1U);
  EXPECT_EQ(offers[0].team, TeamId(2));
}

TEST_P(DispatcherTest, NoCapableTeamMakesVisitUnservable) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto out = d->apply(VisitRequested{request(1, 5, near_center(1, 0), Urgency::kSoon,
                                                   SkillSet{}.with(Skill::kRespiratory))},
                            at(5));
  const auto marks = decisions_of<MarkUnservable>(out);
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].reason, UnservableReason::kNoCapableTeam);
  EXPECT_EQ(d->visit_status(VisitId(1)), VisitStatus::kUnservable);
  EXPECT_EQ(d->open_visits(), 0U);
}

TEST_P(DispatcherTest, ServiceRadiusIsEnforced) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto far = d->apply(VisitRequested{request(1, 5, near_center(16.2, 0))}, at(5));
  const auto marks = decisions_of<MarkUnservable>(far);
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].reason, UnservableReason::kOutOfServiceArea);
  const auto inside = d->apply(VisitRequested{request(2, 6, near_center(15.8, 0))}, at(6));
  EXPECT_EQ(decisions_of<OfferVisit>(inside).size(), 1U);
}

TEST_P(DispatcherTest, ArrivalMustBeBeforeShiftEnd) {
  auto d = make();
  TeamSpec short_shift = team(1, near_center(0, 0));
  short_shift.shift_end = at(60);
  (void)d->apply(TeamUpserted{short_shift}, at(0));
  // 10 km: about 32 minutes of driving; requested at 40 min the team would arrive after 60.
  const auto out = d->apply(VisitRequested{request(1, 40, near_center(10, 0))}, at(40));
  EXPECT_TRUE(decisions_of<OfferVisit>(out).empty());
  const auto marks = decisions_of<MarkUnservable>(out);
  ASSERT_EQ(marks.size(), 1U);
  EXPECT_EQ(marks[0].reason, UnservableReason::kNoTimeLeft);
}

TEST_P(DispatcherTest, LongerShiftTeamTakesWhatShortShiftCannot) {
  auto d = make();
  TeamSpec short_shift = team(1, near_center(0, 0));
  short_shift.shift_end = at(60);
  (void)d->apply(TeamUpserted{short_shift}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(-3, 0))}, at(0));
  const auto offers = decisions_of<OfferVisit>(
      d->apply(VisitRequested{request(1, 40, near_center(10, 0))}, at(40)));
  ASSERT_EQ(offers.size(), 1U);
  EXPECT_EQ(offers[0].team, TeamId(2));
}

TEST_P(DispatcherTest, CompletionMayUseAllowedOvertimeOnly) {
  for (const auto overtime : {Duration::zero(), Duration(minutes(5))}) {
    auto d = make();
    TeamSpec s = team(1, near_center(0, 0));
    s.shift_end = at(60);
    s.allowed_overtime = overtime;
    (void)d->apply(TeamUpserted{s}, at(0));
    // 2 km: ~9.6 min drive + 1 min offer allowance; arrival ~31 min, completion ~61 min.
    const auto out = d->apply(VisitRequested{request(1, 20, near_center(2, 0))}, at(20));
    EXPECT_EQ(decisions_of<OfferVisit>(out).size(), overtime > Duration::zero() ? 1U : 0U);
  }
}

TEST_P(DispatcherTest, TeamIsNotOfferedBeforeShiftStart) {
  auto d = make();
  TeamSpec late = team(1, near_center(0, 0));
  late.shift_start = at(60);
  (void)d->apply(TeamUpserted{late}, at(0));
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kOffShift);
  const auto out = d->apply(VisitRequested{request(1, 10, near_center(1, 0))}, at(10));
  EXPECT_TRUE(out.decisions.empty());
  EXPECT_EQ(d->next_deadline(), at(60));
  const auto later = d->apply(Tick{}, at(60));
  ASSERT_EQ(decisions_of<OfferVisit>(later).size(), 1U);
}

TEST_P(DispatcherTest, OnePendingOfferPerTeamAndOneVisitAtATime) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto first = d->apply(VisitRequested{request(1, 5, near_center(1, 0))}, at(5));
  const auto offers = decisions_of<OfferVisit>(first);
  ASSERT_EQ(offers.size(), 1U);
  const auto second = d->apply(VisitRequested{request(2, 5.1, near_center(-1, 0))}, at(5.1));
  EXPECT_TRUE(decisions_of<OfferVisit>(second).empty());
  EXPECT_EQ(d->pending_offers(), 1U);
  const VisitId v = offers[0].visit;
  EXPECT_TRUE(d->apply(OfferAccepted{offers[0].offer}, at(5.2)).decisions.empty());
  (void)d->apply(VisitDeparted{v}, at(5.3));
  (void)d->apply(VisitArrived{v}, at(15));
  const auto done = d->apply(VisitCompleted{v}, at(45));
  const auto next = decisions_of<OfferVisit>(done);
  ASSERT_EQ(next.size(), 1U);
  EXPECT_NE(next[0].visit, v);
}

TEST_P(DispatcherTest, DeclinedVisitGoesToAnotherTeamNotBackToDecliner) {
  auto d = make();
  const auto o1 = two_teams_and_a_request(*d);
  ASSERT_EQ(o1.size(), 1U);
  EXPECT_EQ(o1[0].team, TeamId(1));
  const auto declined = d->apply(OfferDeclined{o1[0].offer}, at(5.3));
  ASSERT_EQ(declined.status, EventStatus::kOk);
  EXPECT_TRUE(decisions_of<WithdrawOffer>(declined).empty());
  const auto o2 = decisions_of<OfferVisit>(declined);
  ASSERT_EQ(o2.size(), 1U);
  EXPECT_EQ(o2[0].team, TeamId(2));
  // Team 2 declines too: now every capable team declined, so team 1 may have it again.
  const auto again = decisions_of<OfferVisit>(d->apply(OfferDeclined{o2[0].offer}, at(5.6)));
  ASSERT_EQ(again.size(), 1U);
  EXPECT_EQ(again[0].team, TeamId(1));
  EXPECT_EQ(d->apply(OfferDeclined{o2[0].offer}, at(5.7)).status, EventStatus::kOfferNotPending);
}

TEST_P(DispatcherTest, DeclinerWaitsWhileABusyTeamCouldTakeIt) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(0.2, 0))}, at(0));
  // Keep team 1 busy with visit 1.
  auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 1, near_center(0.1, 0))}, at(1)));
  ASSERT_EQ(o.size(), 1U);
  const TeamId busy = o[0].team;
  const TeamId other(busy.value() == 1 ? 2 : 1);
  (void)d->apply(OfferAccepted{o[0].offer}, at(1.1));
  o = decisions_of<OfferVisit>(d->apply(VisitRequested{request(2, 2, near_center(1, 0))}, at(2)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].team, other);
  const auto out = d->apply(OfferDeclined{o[0].offer}, at(2.2));
  EXPECT_TRUE(decisions_of<OfferVisit>(out).empty()) << testing::describe(out.decisions);
  EXPECT_EQ(d->visit_status(VisitId(2)), VisitStatus::kRequested);
}

TEST_P(DispatcherTest, SoleTeamIsReofferedAfterDecline) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto o1 =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 5, near_center(1, 0))}, at(5)));
  ASSERT_EQ(o1.size(), 1U);
  const auto o2 = decisions_of<OfferVisit>(d->apply(OfferDeclined{o1[0].offer}, at(5.5)));
  ASSERT_EQ(o2.size(), 1U);
  EXPECT_EQ(o2[0].team, TeamId(1));
  EXPECT_NE(o2[0].offer, o1[0].offer);
}

TEST_P(DispatcherTest, ExpiredOfferIsWithdrawnAndReoffered) {
  auto d = make();
  const auto o1 = two_teams_and_a_request(*d);
  ASSERT_EQ(o1.size(), 1U);
  ASSERT_EQ(d->next_deadline(), o1[0].expires_at);
  // Just before expiry nothing happens.
  EXPECT_TRUE(d->apply(Tick{}, o1[0].expires_at - Duration(1)).decisions.empty());
  const auto out = d->apply(Tick{}, o1[0].expires_at);
  const auto withdrawn = decisions_of<WithdrawOffer>(out);
  ASSERT_EQ(withdrawn.size(), 1U);
  EXPECT_EQ(withdrawn[0].reason, WithdrawReason::kExpired);
  EXPECT_EQ(withdrawn[0].offer, o1[0].offer);
  const auto o2 = decisions_of<OfferVisit>(out);
  ASSERT_EQ(o2.size(), 1U);
  EXPECT_EQ(o2[0].team, TeamId(2));
  EXPECT_EQ(d->apply(OfferAccepted{o1[0].offer}, o1[0].expires_at).status,
            EventStatus::kOfferNotPending);
  EXPECT_EQ(d->apply(OfferAccepted{OfferId(999)}, o1[0].expires_at).status,
            EventStatus::kUnknownOffer);
}

TEST_P(DispatcherTest, ANewOfferTimeoutAppliesToLaterOffersOnly) {
  auto d = make();
  const auto o1 = two_teams_and_a_request(*d);
  ASSERT_EQ(o1.size(), 1U);
  EXPECT_EQ(o1[0].expires_at, at(5) + std::chrono::seconds(60));
  d->set_offer_timeout(std::chrono::seconds(600));
  EXPECT_EQ(d->offer_timeout(), std::chrono::seconds(600));
  // The pending offer keeps its expiry; the next one gets the new timeout.
  EXPECT_EQ(d->next_deadline(), o1[0].expires_at);
  const auto out = d->apply(Tick{}, o1[0].expires_at);
  ASSERT_EQ(decisions_of<WithdrawOffer>(out).size(), 1U);
  const auto o2 = decisions_of<OfferVisit>(out);
  ASSERT_EQ(o2.size(), 1U);
  EXPECT_EQ(o2[0].expires_at, o1[0].expires_at + std::chrono::seconds(600));
}

TEST_P(DispatcherTest, ExpiryFiresOnAnyLaterEvent) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto o1 =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 5, near_center(1, 0))}, at(5)));
  ASSERT_EQ(o1.size(), 1U);
  const auto out = d->apply(TeamLocationUpdated{TeamId(1), near_center(0.1, 0)}, at(10));
  EXPECT_EQ(decisions_of<WithdrawOffer>(out).size(), 1U);
  EXPECT_EQ(decisions_of<OfferVisit>(out).size(), 1U);  // the only team gets it again
}

TEST_P(DispatcherTest, ProgressEventsFollowTheVisitLife) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(0, 0.5))}, at(0));
  const LatLon home = near_center(5, 0);
  const auto o = decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 5, home)}, at(5)));
  ASSERT_EQ(o.size(), 1U);
  const VisitId v(1);
  const TeamId t = o[0].team;
  EXPECT_EQ(d->apply(VisitDeparted{v}, at(5.1)).status, EventStatus::kInvalidTransition);
  EXPECT_EQ(d->apply(OfferAccepted{o[0].offer}, at(5.2)).status, EventStatus::kOk);
  EXPECT_EQ(d->visit_status(v), VisitStatus::kAssigned);
  EXPECT_EQ(d->team_status(t), TeamStatus::kBusy);
  EXPECT_EQ(d->apply(VisitArrived{v}, at(5.3)).status, EventStatus::kInvalidTransition);
  EXPECT_EQ(d->apply(VisitDeparted{v}, at(5.4)).status, EventStatus::kOk);
  EXPECT_EQ(d->visit_status(v), VisitStatus::kEnRoute);
  EXPECT_EQ(d->apply(VisitCompleted{v}, at(5.5)).status, EventStatus::kInvalidTransition);
  EXPECT_EQ(d->apply(VisitArrived{v}, at(25)).status, EventStatus::kOk);
  EXPECT_EQ(d->visit_status(v), VisitStatus::kOnSite);
  EXPECT_EQ(d->apply(VisitCompleted{v}, at(55)).status, EventStatus::kOk);
  EXPECT_EQ(d->visit_status(v), VisitStatus::kCompleted);
  EXPECT_EQ(d->team_status(t), TeamStatus::kAvailable);
  EXPECT_EQ(d->apply(VisitCompleted{v}, at(56)).status, EventStatus::kInvalidTransition);
  // The team is now at the patient's home: the next call next door goes to it.
  const auto next = decisions_of<OfferVisit>(
      d->apply(VisitRequested{request(2, 60, near_center(5.3, 0))}, at(60)));
  ASSERT_EQ(next.size(), 1U);
  EXPECT_EQ(next[0].team, t);
}

TEST_P(DispatcherTest, CancelInEveryState) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  // Requested (team off shift so nothing is offered).
  TeamSpec off = team(2, near_center(0, 0));
  off.shift_start = at(600);
  (void)d->apply(TeamUpserted{off}, at(0));
  auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 1, near_center(1, 0))}, at(1)));
  ASSERT_EQ(o.size(), 1U);
  // Offered -> withdrawn.
  const auto cancelled = d->apply(VisitCancelled{VisitId(1)}, at(1.2));
  const auto withdrawn = decisions_of<WithdrawOffer>(cancelled);
  ASSERT_EQ(withdrawn.size(), 1U);
  EXPECT_EQ(withdrawn[0].reason, WithdrawReason::kCancelled);
  EXPECT_EQ(d->visit_status(VisitId(1)), VisitStatus::kCancelled);
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kAvailable);
  EXPECT_EQ(d->apply(VisitCancelled{VisitId(1)}, at(1.3)).status, EventStatus::kInvalidTransition);
  // Assigned / en route -> team freed.
  o = decisions_of<OfferVisit>(d->apply(VisitRequested{request(2, 2, near_center(1, 0))}, at(2)));
  ASSERT_EQ(o.size(), 1U);
  (void)d->apply(OfferAccepted{o[0].offer}, at(2.1));
  (void)d->apply(VisitDeparted{VisitId(2)}, at(2.2));
  EXPECT_EQ(d->apply(VisitCancelled{VisitId(2)}, at(3)).status, EventStatus::kOk);
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kAvailable);
  // On site -> too late to cancel.
  o = decisions_of<OfferVisit>(d->apply(VisitRequested{request(3, 4, near_center(1, 0))}, at(4)));
  ASSERT_EQ(o.size(), 1U);
  (void)d->apply(OfferAccepted{o[0].offer}, at(4.1));
  (void)d->apply(VisitDeparted{VisitId(3)}, at(4.2));
  (void)d->apply(VisitArrived{VisitId(3)}, at(14));
  EXPECT_EQ(d->apply(VisitCancelled{VisitId(3)}, at(15)).status, EventStatus::kInvalidTransition);
  // Requested, never offered (the only team is busy).
  EXPECT_TRUE(
      d->apply(VisitRequested{request(4, 16, near_center(1, 0))}, at(16)).decisions.empty());
  EXPECT_EQ(d->apply(VisitCancelled{VisitId(4)}, at(17)).status, EventStatus::kOk);
  EXPECT_EQ(d->open_visits(), 0U);
  EXPECT_EQ(d->apply(VisitCancelled{VisitId(77)}, at(18)).status, EventStatus::kUnknownVisit);
}

TEST_P(DispatcherTest, LocationUpdateMovesAnIdleTeam) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(-3, 0))}, at(0));
  ASSERT_EQ(d->apply(TeamLocationUpdated{TeamId(2), near_center(6, 0)}, at(1)).status,
            EventStatus::kOk);
  const auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 2, near_center(6.2, 0))}, at(2)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].team, TeamId(2));
  EXPECT_EQ(d->apply(TeamLocationUpdated{TeamId(2), LatLon{95, 0}}, at(3)).status,
            EventStatus::kInvalidArgument);
  EXPECT_EQ(d->apply(TeamLocationUpdated{TeamId(9), near_center(0, 0)}, at(3)).status,
            EventStatus::kUnknownTeam);
}

TEST_P(DispatcherTest, RemovingATeamWithdrawsItsOffer) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  (void)d->apply(TeamUpserted{team(2, near_center(-4, 0))}, at(0));
  const auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 1, near_center(1, 0))}, at(1)));
  ASSERT_EQ(o.size(), 1U);
  const auto out = d->apply(TeamRemoved{TeamId(1)}, at(1.5));
  const auto w = decisions_of<WithdrawOffer>(out);
  ASSERT_EQ(w.size(), 1U);
  EXPECT_EQ(w[0].reason, WithdrawReason::kTeamRemoved);
  const auto o2 = decisions_of<OfferVisit>(out);
  ASSERT_EQ(o2.size(), 1U);
  EXPECT_EQ(o2[0].team, TeamId(2));
  EXPECT_FALSE(d->team_status(TeamId(1)).has_value());
  (void)d->apply(OfferAccepted{o2[0].offer}, at(1.6));
  EXPECT_EQ(d->apply(TeamRemoved{TeamId(2)}, at(1.7)).status, EventStatus::kInvalidTransition);
  EXPECT_EQ(d->apply(TeamUpserted{team(2, near_center(0, 0))}, at(1.8)).status,
            EventStatus::kInvalidTransition);
}

TEST_P(DispatcherTest, RejectsBadEventsWithoutChangingState) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  TeamSpec bad = team(2, near_center(0, 0));
  bad.shift_end = bad.shift_start;
  EXPECT_EQ(d->apply(TeamUpserted{bad}, at(0)).status, EventStatus::kInvalidArgument);
  EXPECT_EQ(d->apply(VisitRequested{request(1, 10, LatLon{0, 200})}, at(10)).status,
            EventStatus::kInvalidArgument);
  EXPECT_EQ(d->apply(VisitRequested{request(1, 30, near_center(0, 0))}, at(10)).status,
            EventStatus::kInvalidArgument);  // requested in the future
  EXPECT_EQ(d->apply(VisitRequested{request(1, 10, near_center(1, 0))}, at(10)).status,
            EventStatus::kOk);
  EXPECT_EQ(d->apply(VisitRequested{request(1, 10, near_center(1, 0))}, at(10)).status,
            EventStatus::kDuplicateId);
  EXPECT_EQ(d->apply(TeamRemoved{TeamId(5)}, at(10)).status, EventStatus::kUnknownTeam);
  EXPECT_EQ(d->apply(OfferDeclined{OfferId(42)}, at(10)).status, EventStatus::kUnknownOffer);
  EXPECT_EQ(d->apply(VisitArrived{VisitId(42)}, at(10)).status, EventStatus::kUnknownVisit);
}

TEST_P(DispatcherTest, TimeNeverRunsBackwards) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(1, 10, near_center(1, 0))}, at(10)));
  ASSERT_EQ(o.size(), 1U);
  // An event stamped earlier is applied at the latest instant seen.
  const auto out = d->apply(Tick{}, at(5));
  EXPECT_TRUE(out.decisions.empty());
  EXPECT_EQ(d->next_deadline(), o[0].expires_at);
}

TEST_P(DispatcherTest, UpsertChangesAnIdleTeamAndReaddsARemovedOne) {
  auto d = make();
  (void)d->apply(TeamUpserted{team(1, near_center(0, 0))}, at(0));
  const SkillSet pediatric = SkillSet{}.with(Skill::kPediatric);
  // No one can take a pediatric visit yet.
  auto out = d->apply(VisitRequested{request(1, 1, near_center(1, 0), Urgency::kUrgent, pediatric)},
                      at(1));
  ASSERT_EQ(decisions_of<MarkUnservable>(out).size(), 1U);
  // The same team, now with the skill, gets the next one.
  ASSERT_EQ(d->apply(TeamUpserted{team(1, near_center(0, 0), pediatric)}, at(2)).status,
            EventStatus::kOk);
  out = d->apply(VisitRequested{request(2, 3, near_center(1, 0), Urgency::kUrgent, pediatric)},
                 at(3));
  ASSERT_EQ(decisions_of<OfferVisit>(out).size(), 1U);
  (void)d->apply(OfferDeclined{decisions_of<OfferVisit>(out)[0].offer}, at(3.1));
  // Removed: its re-offer is withdrawn and, with no capable team left, the visit is unservable.
  out = d->apply(TeamRemoved{TeamId(1)}, at(4));
  ASSERT_EQ(out.status, EventStatus::kOk);
  EXPECT_EQ(decisions_of<WithdrawOffer>(out).size(), 1U);
  ASSERT_EQ(decisions_of<MarkUnservable>(out).size(), 1U);
  EXPECT_EQ(decisions_of<MarkUnservable>(out)[0].reason, UnservableReason::kNoCapableTeam);
  EXPECT_FALSE(d->team_status(TeamId(1)).has_value());
  // Added back: available again, at its base.
  out = d->apply(TeamUpserted{team(1, near_center(0, 0), pediatric)}, at(5));
  ASSERT_EQ(out.status, EventStatus::kOk);
  EXPECT_EQ(d->team_status(TeamId(1)), TeamStatus::kAvailable);
  const auto o =
      decisions_of<OfferVisit>(d->apply(VisitRequested{request(3, 6, near_center(2, 0))}, at(6)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].eta, at(6) + drive(near_center(0, 0), near_center(2, 0)));
}

TEST_P(DispatcherTest, UsesAPrecomputedMatrix) {
  // Two nodes: the center and a point 1 km north, 7 minutes apart either way.
  const LatLon a = near_center(0, 0);
  const LatLon b = near_center(1, 0);
  std::shared_ptr<const TravelModel> matrix =
      MatrixTravelModel::create({a, b}, {60.0, 420.0, 420.0, 60.0});
  ASSERT_NE(matrix, nullptr);
  Dispatcher d(DispatcherConfig{}, matrix, make_policy(GetParam()));
  (void)d.apply(TeamUpserted{team(1, a)}, at(0));
  const auto o = decisions_of<OfferVisit>(d.apply(VisitRequested{request(1, 1, b)}, at(1)));
  ASSERT_EQ(o.size(), 1U);
  EXPECT_EQ(o[0].eta, at(1) + std::chrono::minutes(7));
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, DispatcherTest,
                         ::testing::Values(PolicyKind::kClosestIdle, PolicyKind::kOptimal,
                                           PolicyKind::kRolling),
                         [](const ::testing::TestParamInfo<PolicyKind>& param_info) {
                           switch (param_info.param) {
                             case PolicyKind::kClosestIdle:
                               return std::string("ClosestIdle");
                             case PolicyKind::kOptimal:
                               return std::string("Optimal");
                             case PolicyKind::kRolling:
                               return std::string("Rolling");
                           }
                           return std::string("Unknown");
                         });

TEST(DispatcherNames, StatusNamesMatchTheApi) {
  EXPECT_EQ(team_status_name(TeamStatus::kAvailable), "AVAILABLE");
  EXPECT_EQ(team_status_name(TeamStatus::kOffered), "OFFERED");
  EXPECT_EQ(team_status_name(TeamStatus::kBusy), "BUSY");
  EXPECT_EQ(team_status_name(TeamStatus::kOffShift), "OFF_SHIFT");
  EXPECT_EQ(withdraw_reason_name(WithdrawReason::kExpired), "EXPIRED");
  EXPECT_EQ(visit_status_name(VisitStatus::kEnRoute), "EN_ROUTE");
}

}  // namespace
}  // namespace oshin::dispatcher
