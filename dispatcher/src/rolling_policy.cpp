#include <algorithm>
#include <limits>
#include <numeric>

#include "policies.hpp"

namespace oshin::dispatcher::detail {
namespace {

constexpr double kInfeasible = std::numeric_limits<double>::infinity();
constexpr double kEpsilon = 1e-7;

// One decision's working state: routes as visit indices into ctx.visits.
class RoutePlanner {
 public:
  RoutePlanner(const PlanningContext& ctx, const PolicyOptions& options, RollingScratch& scratch)
      : ctx_(ctx),
        budget_(static_cast<std::int64_t>(options.work_budget)),
        routes_(scratch.routes),
        cost_(scratch.cost),
        team_of_(scratch.team_of),
        candidates_(scratch.candidates),
        scratch_(scratch.route),
        without_(scratch.without),
        swap_a_(scratch.swap_a),
        swap_b_(scratch.swap_b) {
    // Reuse every buffer's capacity: no allocation in the steady state.
    if (routes_.size() < ctx.teams.size()) {
      routes_.resize(ctx.teams.size());
    }
    for (std::size_t t = 0; t < ctx.teams.size(); ++t) {
      routes_[t].clear();
    }
    cost_.assign(ctx.teams.size(), 0.0);
    team_of_.assign(ctx.visits.size(), kNone);
    if (candidates_.size() < ctx.visits.size()) {
      candidates_.resize(ctx.visits.size());
    }
    pack_team_times(ctx, scratch.times);
    for (std::uint32_t vi = 0; vi < ctx.visits.size(); ++vi) {
      nearest_candidates(ctx, scratch.times, ctx.visits[vi], options.candidate_teams,
                         candidates_[vi]);
    }
  }

  // Seeds team t's route with the previous plan's stops still open, in order, dropping any
  // that no longer fit.
  void seed(std::uint32_t t, const std::vector<VisitId>& previous) {
    std::vector<std::uint32_t>& route = routes_[t];
    for (const VisitId id : previous) {
      const auto it = std::lower_bound(ctx_.visits.begin(), ctx_.visits.end(), id,
                                       [](const PlanVisit& v, VisitId key) { return v.id < key; });
      if (it == ctx_.visits.end() || it->id != id) {
        continue;
      }
      const auto vi = static_cast<std::uint32_t>(it - ctx_.visits.begin());
      if (team_of_[vi] != kNone || !ctx_.allowed(*it, ctx_.teams[t])) {
        continue;
      }
      route.push_back(vi);
      if (evaluate(t, route) == kInfeasible) {
        route.pop_back();
        continue;
      }
      team_of_[vi] = t;
    }
    cost_[t] = evaluate(t, route);
  }

  // Inserts every unplanned visit at its cheapest feasible position, most pressing first.
  void insert_unplanned() {
    std::vector<std::uint32_t> pending;
    for (std::uint32_t vi = 0; vi < ctx_.visits.size(); ++vi) {
      if (team_of_[vi] == kNone) {
        pending.push_back(vi);
      }
    }
    std::sort(pending.begin(), pending.end(), [this](std::uint32_t a, std::uint32_t b) {
      return by_deadline(ctx_.visits[a], ctx_.visits[b]);
    });
    for (const std::uint32_t vi : pending) {
      const Insertion best = best_insertion(vi, kNone, {}, 0.0);
      if (best.delta < kInfeasible) {
        apply_insertion(vi, best);
      }
    }
  }

  // Local search: relocate (move one stop to its best position anywhere) and swap (exchange two
  // stops of different teams) while that lowers the total cost, until a full pass finds nothing
  // or the budget is spent.
  void improve() {
    bool improved = true;
    while (improved && budget_ > 0) {
      improved = swap_pass();
      for (std::uint32_t vi = 0; vi < ctx_.visits.size() && budget_ > 0; ++vi) {
        const std::uint32_t t = team_of_[vi];
        if (t == kNone) {
          continue;
        }
        without_ = routes_[t];
        without_.erase(std::find(without_.begin(), without_.end(), vi));
        const double without_cost = evaluate(t, without_);
        const double gain = cost_[t] - without_cost;
        const Insertion best = best_insertion(vi, t, without_, without_cost);
        if (best.delta < gain - kEpsilon) {
          routes_[t].swap(without_);
          cost_[t] = without_cost;
          team_of_[vi] = kNone;
          apply_insertion(vi, best);
          improved = true;
        }
      }
    }
  }

  // Exchanges vi with a stop of one of its candidate teams when both routes stay feasible and
  // the sum of their costs drops.
  bool swap_pass() {
    bool improved = false;
    for (std::uint32_t vi = 0; vi < ctx_.visits.size() && budget_ > 0; ++vi) {
      for (const Candidate& c : candidates_[vi]) {
        const std::uint32_t ta = team_of_[vi];
        const std::uint32_t tb = c.team;
        if (ta == kNone || ta == tb || budget_ <= 0) {
          continue;
        }
        for (std::size_t pos = 0; pos < routes_[tb].size(); ++pos) {
          const std::uint32_t other = routes_[tb][pos];
          if (!ctx_.allowed(ctx_.visits[other], ctx_.teams[ta])) {
            continue;
          }
          swap_a_ = routes_[ta];
          swap_b_ = routes_[tb];
          *std::find(swap_a_.begin(), swap_a_.end(), vi) = other;
          swap_b_[pos] = vi;
          const double ca = evaluate(ta, swap_a_);
          if (ca == kInfeasible) {
            continue;
          }
          const double cb = evaluate(tb, swap_b_);
          if (cb == kInfeasible || ca + cb >= cost_[ta] + cost_[tb] - kEpsilon) {
            continue;
          }
          routes_[ta].swap(swap_a_);
          routes_[tb].swap(swap_b_);
          cost_[ta] = ca;
          cost_[tb] = cb;
          team_of_[vi] = tb;
          team_of_[other] = ta;
          improved = true;
          break;
        }
      }
    }
    return improved;
  }

  // First stops of idle teams: the only part of the plan committed now.
  [[nodiscard]] std::vector<Assignment> commit() const {
    std::vector<Assignment> chosen;
    for (std::uint32_t t = 0; t < routes_.size(); ++t) {
      if (ctx_.teams[t].idle && !routes_[t].empty()) {
        chosen.push_back(Assignment{routes_[t].front(), t});
      }
    }
    return chosen;
  }

  [[nodiscard]] const std::vector<std::uint32_t>& route(std::uint32_t t) const {
    return routes_[t];
  }

 private:
  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

  struct Insertion {
    double delta{kInfeasible};
    std::uint32_t team{kNone};
    std::size_t position{0};
  };

  // Cost of team t driving `route` from its next free slot; kInfeasible when a stop misses the
  // shift. Charges the work budget one unit per stop.
  double evaluate(std::uint32_t t, const std::vector<std::uint32_t>& route) {
    const PlanTeam& team = ctx_.teams[t];
    budget_ -= static_cast<std::int64_t>(route.size()) + 1;
    TimePoint clock = team.available_at;
    const Place* here = team.place;
    double total = 0.0;
    for (std::size_t k = 0; k < route.size(); ++k) {
      const PlanVisit& v = ctx_.visits[route[k]];
      const Duration leg = k == 0 ? ctx_.first_leg(v, team) : ctx_.travel->travel(*here, *v.place);
      const TimePoint arrival = std::max(clock, v.requested_at) + leg;
      if (!ctx_.fits_shift(team, arrival, v.expected_service)) {
        return kInfeasible;
      }
      total += ctx_.cost(v, arrival, leg);
      clock = arrival + v.expected_service;
      here = v.place;
    }
    return total;
  }

  // Cheapest insertion of vi over its candidate teams; for team `replaced` the route
  // `replacement` (cost `replacement_cost`) stands in for the current one.
  Insertion best_insertion(std::uint32_t vi, std::uint32_t replaced,
                           const std::vector<std::uint32_t>& replacement, double replacement_cost) {
    Insertion best;
    for (const Candidate& c : candidates_[vi]) {
      const std::vector<std::uint32_t>& base = c.team == replaced ? replacement : routes_[c.team];
      const double base_cost = c.team == replaced ? replacement_cost : cost_[c.team];
      if (base_cost == kInfeasible) {
        continue;
      }
      for (std::size_t pos = 0; pos <= base.size(); ++pos) {
        scratch_ = base;
        scratch_.insert(scratch_.begin() + static_cast<std::ptrdiff_t>(pos), vi);
        const double after = evaluate(c.team, scratch_);
        if (after == kInfeasible) {
          continue;
        }
        const double delta = after - base_cost;
        if (delta < best.delta - kEpsilon) {
          best = Insertion{delta, c.team, pos};
        }
      }
    }
    return best;
  }

  void apply_insertion(std::uint32_t vi, const Insertion& ins) {
    std::vector<std::uint32_t>& route = routes_[ins.team];
    route.insert(route.begin() + static_cast<std::ptrdiff_t>(ins.position), vi);
    cost_[ins.team] += ins.delta;
    team_of_[vi] = ins.team;
  }

  const PlanningContext& ctx_;
  std::int64_t budget_;
  std::vector<std::vector<std::uint32_t>>& routes_;
  std::vector<double>& cost_;
  std::vector<std::uint32_t>& team_of_;
  std::vector<std::vector<Candidate>>& candidates_;
  std::vector<std::uint32_t>& scratch_;
  std::vector<std::uint32_t>& without_;
  std::vector<std::uint32_t>& swap_a_;
  std::vector<std::uint32_t>& swap_b_;
};

}  // namespace

std::vector<Assignment> RollingPolicy::decide(const PlanningContext& ctx) {
  RoutePlanner planner(ctx, options_, scratch_);
  for (std::uint32_t t = 0; t < ctx.teams.size(); ++t) {
    const auto it = routes_.find(ctx.teams[t].id);
    if (it != routes_.end()) {
      planner.seed(t, it->second);
    }
  }
  planner.insert_unplanned();
  planner.improve();
  std::vector<Assignment> chosen = planner.commit();

  for (auto it = routes_.begin(); it != routes_.end();) {
    it = it->second.empty() ? routes_.erase(it) : std::next(it);
  }
  for (auto& [id, ids] : routes_) {
    ids.clear();
  }
  for (std::uint32_t t = 0; t < ctx.teams.size(); ++t) {
    const std::vector<std::uint32_t>& route = planner.route(t);
    if (route.empty()) {
      continue;
    }
    std::vector<VisitId>& ids = routes_[ctx.teams[t].id];
    for (const std::uint32_t vi : route) {
      ids.push_back(ctx.visits[vi].id);
    }
  }
  return chosen;
}

}  // namespace oshin::dispatcher::detail
