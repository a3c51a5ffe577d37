#include "oshin/dispatcher/simulator.hpp"

#include <algorithm>
#include <queue>
#include <random>
#include <set>

#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/dispatcher/hindsight.hpp"

namespace oshin::dispatcher {
namespace {

constexpr std::string_view kHindsight = "hindsight";
constexpr std::size_t kMaxSteps = 20'000'000;

enum class Kind : std::uint8_t { kRequest, kAnswer, kDepart, kArrive, kComplete };

struct SimEvent {
  TimePoint at;
  std::uint64_t seq{0};
  Kind kind{Kind::kRequest};
  std::size_t index{0};  // request index (or team index for nothing)
  OfferId offer;
  bool decline{false};
  friend bool operator>(const SimEvent& a, const SimEvent& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

// A uniform draw in [0, 1) with the same bits on every standard library.
double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11U) * 0x1.0p-53;
}

double p99_us(std::vector<std::int64_t>& ns) {
  if (ns.empty()) {
    return 0.0;
  }
  std::vector<double> us;
  us.reserve(ns.size());
  for (const std::int64_t v : ns) {
    us.push_back(static_cast<double>(v) / 1000.0);
  }
  return nearest_rank(std::move(us), 99.0);
}

TimePoint start_of(const Scenario& s) {
  TimePoint t = TimePoint::max();
  for (const ScenarioTeam& team : s.teams) {
    t = std::min(t, team.shift_start);
  }
  for (const ScenarioRequest& r : s.requests) {
    t = std::min(t, r.at);
  }
  return t == TimePoint::max() ? TimePoint{} : t;
}

class OnlineRun {
 public:
  OnlineRun(const Scenario& s, PolicyKind kind, const SimulationOptions& options)
      : s_(s),
        options_(options),
        travel_(std::make_shared<HaversineTravelModel>(s.travel)),
        dispatcher_(config_of(s, options), travel_, make_policy(kind, options.policy_options)),
        rng_(options.seed),
        trace_(s.requests.size()),
        team_at_(s.teams.size()) {
    for (std::size_t i = 0; i < s.requests.size(); ++i) {
      trace_[i].request = s.requests[i].id;
    }
    for (std::size_t j = 0; j < s.teams.size(); ++j) {
      team_at_[j] = s.teams[j].base;
    }
  }

  SimulationResult run(std::string_view name) {
    const TimePoint t0 = start_of(s_);
    for (std::size_t j = 0; j < s_.teams.size(); ++j) {
      const ScenarioTeam& t = s_.teams[j];
      TeamSpec spec{TeamId(j + 1),       t.base,  t.shift_start, t.shift_end,
                    s_.allowed_overtime, t.skills};
      step(TeamUpserted{spec}, t0);
    }
    for (std::size_t i = 0; i < s_.requests.size(); ++i) {
      push(s_.requests[i].at, Kind::kRequest, i);
    }
    for (std::size_t steps = 0; steps < kMaxSteps; ++steps) {
      const auto deadline = dispatcher_.next_deadline();
      if (deadline && (queue_.empty() || *deadline < queue_.top().at)) {
        step(Tick{}, *deadline);
        continue;
      }
      if (queue_.empty()) {
        break;
      }
      const SimEvent e = queue_.top();
      queue_.pop();
      handle(e);
    }
    SimulationResult result;
    result.kpis = compute_kpis(s_, name, trace_);
    result.kpis.decision_p99_us = p99_us(latencies_ns_);
    result.trace = std::move(trace_);
    return result;
  }

 private:
  static DispatcherConfig config_of(const Scenario& s, const SimulationOptions& options) {
    DispatcherConfig c;
    c.center = s.center;
    c.service_radius_km = s.service_radius_km;
    c.offer_timeout = s.offer_timeout;
    c.default_expected_service = s.expected_service;
    c.weights = options.weights;
    return c;
  }

  void push(TimePoint at, Kind kind, std::size_t index, OfferId offer = {}, bool decline = false) {
    queue_.push(SimEvent{at, next_seq_++, kind, index, offer, decline});
  }

  Outcome step(const Event& event, TimePoint now) {
    const std::int64_t begin = options_.now_ns ? options_.now_ns() : 0;
    Outcome outcome = dispatcher_.apply(event, now);
    if (options_.now_ns) {
      latencies_ns_.push_back(options_.now_ns() - begin);
    }
    for (const Decision& d : outcome.decisions) {
      if (const auto* offer = std::get_if<OfferVisit>(&d)) {
        const std::size_t i = offer->visit.value() - 1;
        trace_[i].offered_at = now;
        const bool decline = uniform01(rng_) < s_.behavior.decline_probability;
        if (s_.behavior.accept_delay < s_.offer_timeout) {
          push(now + s_.behavior.accept_delay, Kind::kAnswer, i, offer->offer, decline);
        }
        team_of_[offer->offer] = offer->team.value() - 1;
      }
    }
    return outcome;
  }

  void handle(const SimEvent& e) {
    const ScenarioRequest& r = s_.requests[e.index];
    const VisitId visit(e.index + 1);
    TraceLine& line = trace_[e.index];
    switch (e.kind) {
      case Kind::kRequest: {
        VisitRequest req;
        req.id = visit;
        req.requested_at = r.at;
        req.location = r.location;
        req.urgency = r.urgency;
        req.needed_skills = r.skills;
        if (r.reason) {
          req.reason = *r.reason;
        }
        step(VisitRequested{req}, e.at);
        break;
      }
      case Kind::kAnswer: {
        if (e.decline) {
          step(OfferDeclined{e.offer}, e.at);
          break;
        }
        if (step(OfferAccepted{e.offer}, e.at).status == EventStatus::kOk) {
          line.accepted_at = e.at;
          line.team = s_.teams[team_of_[e.offer]].id;
          assigned_[e.index] = team_of_[e.offer];
          push(e.at, Kind::kDepart, e.index);
        }
        break;
      }
      case Kind::kDepart: {
        const std::size_t team = assigned_[e.index];
        if (step(VisitDeparted{visit}, e.at).status == EventStatus::kOk) {
          line.departed_at = e.at;
          line.from = team_at_[team];
          const Duration leg =
              travel_->travel(travel_->make_place(team_at_[team]), travel_->make_place(r.location));
          push(e.at + leg, Kind::kArrive, e.index);
        }
        break;
      }
      case Kind::kArrive: {
        if (step(VisitArrived{visit}, e.at).status == EventStatus::kOk) {
          line.arrived_at = e.at;
          team_at_[assigned_[e.index]] = r.location;
          push(e.at + r.service, Kind::kComplete, e.index);
        }
        break;
      }
      case Kind::kComplete: {
        if (step(VisitCompleted{visit}, e.at).status == EventStatus::kOk) {
          line.completed_at = e.at;
        }
        break;
      }
    }
  }

  const Scenario& s_;
  const SimulationOptions& options_;
  std::shared_ptr<HaversineTravelModel> travel_;
  Dispatcher dispatcher_;
  std::mt19937_64 rng_;
  std::vector<TraceLine> trace_;
  std::vector<LatLon> team_at_;
  std::map<OfferId, std::size_t> team_of_;
  std::map<std::size_t, std::size_t> assigned_;
  std::priority_queue<SimEvent, std::vector<SimEvent>, std::greater<>> queue_;
  std::uint64_t next_seq_{0};
  std::vector<std::int64_t> latencies_ns_;
};

SimulationResult run_hindsight(const Scenario& s, const SimulationOptions& options) {
  const std::int64_t begin = options.now_ns ? options.now_ns() : 0;
  const HindsightPlan plan = solve_hindsight(s, options.weights, options.hindsight_budget);
  const std::int64_t elapsed = options.now_ns ? options.now_ns() - begin : 0;
  const HaversineTravelModel travel(s.travel);
  std::vector<TraceLine> trace(s.requests.size());
  for (std::size_t i = 0; i < s.requests.size(); ++i) {
    trace[i].request = s.requests[i].id;
  }
  for (std::size_t j = 0; j < plan.routes.size() && j < s.teams.size(); ++j) {
    const ScenarioTeam& team = s.teams[j];
    TimePoint clock = team.shift_start;
    LatLon here = team.base;
    for (const std::size_t i : plan.routes[j]) {
      const ScenarioRequest& r = s.requests[i];
      TraceLine& line = trace[i];
      line.team = team.id;
      line.offered_at = std::max(clock, r.at);
      line.accepted_at = *line.offered_at + s.behavior.accept_delay;
      line.departed_at = line.accepted_at;
      line.from = here;
      line.arrived_at =
          *line.departed_at + travel.travel(travel.make_place(here), travel.make_place(r.location));
      line.completed_at = *line.arrived_at + r.service;
      clock = *line.completed_at;
      here = r.location;
    }
  }
  SimulationResult result;
  result.kpis = compute_kpis(s, kHindsight, trace);
  result.kpis.decision_p99_us = static_cast<double>(elapsed) / 1000.0;
  result.trace = std::move(trace);
  return result;
}

}  // namespace

std::vector<std::string_view> simulator_policies() {
  return {"closest-idle", "optimal", "rolling", kHindsight};
}

SimulationResult simulate(const Scenario& scenario, std::string_view policy,
                          const SimulationOptions& options) {
  if (policy == kHindsight) {
    return run_hindsight(scenario, options);
  }
  const auto kind = parse_policy_kind(policy);
  if (!kind) {
    return {};
  }
  OnlineRun run(scenario, *kind, options);
  return run.run(policy);
}

}  // namespace oshin::dispatcher
