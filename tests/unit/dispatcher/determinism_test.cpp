// Same events in the same order give the same decisions, for each policy: a random event stream
// is applied to one dispatcher, logged, and replayed into a fresh one.

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/dispatcher/generator.hpp"
#include "oshin/dispatcher/simulator.hpp"
#include "test_support.hpp"

namespace oshin::dispatcher {
namespace {

using testing::at;
using testing::near_center;

struct Logged {
  Event event;
  TimePoint now;
};

std::string outcome_text(const Outcome& o) {
  return std::string(event_status_name(o.status)) + ": " + testing::describe(o.decisions);
}

// Drives a dispatcher with a random but plausible stream; returns the log and the transcript.
std::vector<Logged> random_stream(PolicyKind kind, std::uint64_t seed,
                                  std::vector<std::string>& transcript) {
  std::mt19937_64 rng(seed);
  const auto uniform = [&rng](double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(rng() >> 11U) * 0x1.0p-53;
  };
  auto d = testing::make_dispatcher(kind);
  std::vector<Logged> log;
  const auto apply = [&](const Event& e, TimePoint now) {
    log.push_back({e, now});
    const Outcome o = d->apply(e, now);
    transcript.push_back(outcome_text(o));
    return o;
  };
  std::map<OfferId, VisitId> pending;
  std::map<VisitId, int> phase;  // 1 assigned, 2 en route, 3 on site
  double clock = 0.0;
  const int teams = 2 + static_cast<int>(rng() % 5);
  for (int t = 1; t <= teams; ++t) {
    TeamSpec spec =
        testing::team(static_cast<std::uint64_t>(t), near_center(uniform(-4, 4), uniform(-4, 4)));
    if (rng() % 3 == 0) {
      spec.skills = spec.skills.with(Skill::kPediatric);
    }
    (void)apply(TeamUpserted{spec}, at(0));
  }
  std::uint64_t next_visit = 1;
  for (int step = 0; step < 250; ++step) {
    clock += uniform(0.0, 4.0);
    const TimePoint now = at(clock);
    if (const auto deadline = d->next_deadline(); deadline && *deadline <= now) {
      (void)apply(Tick{}, *deadline);
    }
    Outcome o;
    const auto choice = rng() % 10;
    if (choice < 3) {
      VisitRequest r =
          testing::request(next_visit++, clock, near_center(uniform(-8, 8), uniform(-8, 8)),
                           rng() % 2 == 0 ? Urgency::kUrgent : Urgency::kSoon);
      if (rng() % 8 == 0) {
        r.needed_skills = r.needed_skills.with(Skill::kPediatric);
      }
      o = apply(VisitRequested{r}, now);
    } else if (choice < 5 && !pending.empty()) {
      auto it = pending.begin();
      std::advance(it, static_cast<long>(rng() % pending.size()));
      if (rng() % 4 == 0) {
        o = apply(OfferDeclined{it->first}, now);
      } else {
        o = apply(OfferAccepted{it->first}, now);
        if (o.status == EventStatus::kOk) {
          phase[it->second] = 1;
        }
      }
      pending.erase(it);
    } else if (choice < 8 && !phase.empty()) {
      auto it = phase.begin();
      std::advance(it, static_cast<long>(rng() % phase.size()));
      if (it->second == 1) {
        o = apply(VisitDeparted{it->first}, now);
        ++it->second;
      } else if (it->second == 2) {
        o = apply(VisitArrived{it->first}, now);
        ++it->second;
      } else {
        o = apply(VisitCompleted{it->first}, now);
        phase.erase(it);
      }
    } else if (choice == 8) {
      o = apply(TeamLocationUpdated{TeamId(1 + rng() % static_cast<std::uint64_t>(teams)),
                                    near_center(uniform(-5, 5), uniform(-5, 5))},
                now);
    } else {
      o = apply(VisitCancelled{VisitId(1 + rng() % next_visit)}, now);
    }
    for (const Decision& dec : o.decisions) {
      if (const auto* offer = std::get_if<OfferVisit>(&dec)) {
        pending[offer->offer] = offer->visit;
      } else if (const auto* w = std::get_if<WithdrawOffer>(&dec)) {
        pending.erase(w->offer);
      }
    }
  }
  return log;
}

class DeterminismTest : public ::testing::TestWithParam<PolicyKind> {};

TEST_P(DeterminismTest, ReplayingTheEventLogGivesIdenticalDecisions) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    std::vector<std::string> first;
    const std::vector<Logged> log = random_stream(GetParam(), seed, first);
    auto replay = testing::make_dispatcher(GetParam());
    ASSERT_EQ(log.size(), first.size());
    std::size_t offers = 0;
    for (std::size_t i = 0; i < log.size(); ++i) {
      const std::string again = outcome_text(replay->apply(log[i].event, log[i].now));
      ASSERT_EQ(again, first[i]) << "seed " << seed << " step " << i;
      offers += again.find("offer#") != std::string::npos ? 1U : 0U;
    }
    EXPECT_GT(offers, 5U) << "the stream should exercise offers";
  }
}

TEST_P(DeterminismTest, SimulatorRunsAreReproducible) {
  const auto scenario = generate_scenario("surge", 11);
  ASSERT_TRUE(scenario.has_value());
  SimulationOptions options;
  options.seed = 5;
  const std::string name(policy_kind_name(GetParam()));
  const auto a = simulate(*scenario, name, options);
  const auto b = simulate(*scenario, name, options);
  EXPECT_EQ(kpis_to_json(a.kpis), kpis_to_json(b.kpis));
  ASSERT_EQ(a.trace.size(), b.trace.size());
  for (std::size_t i = 0; i < a.trace.size(); ++i) {
    EXPECT_EQ(trace_line_to_json(a.trace[i], 540), trace_line_to_json(b.trace[i], 540));
  }
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, DeterminismTest,
                         ::testing::Values(PolicyKind::kClosestIdle, PolicyKind::kOptimal,
                                           PolicyKind::kRolling));

TEST(DeterminismTest, HindsightIsReproducible) {
  const auto scenario = generate_scenario("burst", 4);
  ASSERT_TRUE(scenario.has_value());
  const auto a = simulate(*scenario, "hindsight", {});
  const auto b = simulate(*scenario, "hindsight", {});
  EXPECT_EQ(kpis_to_json(a.kpis), kpis_to_json(b.kpis));
}

TEST(DeterminismTest, GeneratorIsSeeded) {
  EXPECT_EQ(scenario_to_json(*generate_scenario("metro", 3)),
            scenario_to_json(*generate_scenario("metro", 3)));
  EXPECT_NE(scenario_to_json(*generate_scenario("surge", 3)),
            scenario_to_json(*generate_scenario("surge", 4)));
}

}  // namespace
}  // namespace oshin::dispatcher
