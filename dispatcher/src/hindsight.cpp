#include "oshin/dispatcher/hindsight.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::dispatcher {
namespace {

constexpr double kInfeasible = std::numeric_limits<double>::infinity();
constexpr double kEpsilon = 1e-7;
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

class OfflineSolver {
 public:
  OfflineSolver(const Scenario& s, const CostWeights& w)
      : s_(s),
        w_(w),
        travel_(s.travel),
        routes_(s.teams.size()),
        cost_(s.teams.size(), 0.0),
        team_of_(s.requests.size(), kNone) {
    const GeoPoint center(s.center);
    for (const ScenarioTeam& t : s.teams) {
      bases_.push_back(travel_.make_place(t.base));
    }
    for (const ScenarioRequest& r : s.requests) {
      places_.push_back(travel_.make_place(r.location));
      in_area_.push_back(places_.back().geo.distance_km(center) <= s.service_radius_km);
    }
  }

  // One construction (cheapest insertion in `order`) followed by local search under `budget`.
  // Returns the objective: route costs plus the unserved penalty.
  double solve(const std::vector<std::size_t>& order, std::int64_t budget) {
    budget_ = budget;
    for (auto& route : routes_) {
      route.clear();
    }
    std::fill(cost_.begin(), cost_.end(), 0.0);
    std::fill(team_of_.begin(), team_of_.end(), kNone);
    for (const std::size_t i : order) {
      try_insert(i);
    }
    bool improved = true;
    while (improved && budget_ > 0) {
      improved = false;
      for (const std::size_t i : order) {
        if (budget_ <= 0) {
          break;
        }
        if (team_of_[i] == kNone) {
          improved = try_insert(i) || improved;
        } else {
          improved = relocate(i) || improved;
        }
      }
      for (std::size_t a = 0; a < order.size() && budget_ > 0; ++a) {
        for (std::size_t b = a + 1; b < order.size() && budget_ > 0; ++b) {
          improved = swap(order[a], order[b]) || improved;
        }
      }
    }
    double total = 0.0;
    for (const double c : cost_) {
      total += c;
    }
    for (const std::size_t t : team_of_) {
      total += t == kNone ? w_.unserved : 0.0;
    }
    return total;
  }

  [[nodiscard]] const std::vector<std::vector<std::size_t>>& routes() const { return routes_; }

 private:
  struct Insertion {
    double delta{kInfeasible};
    std::size_t team{kNone};
    std::size_t position{0};
  };

  bool eligible(std::size_t i, std::size_t team) const {
    return in_area_[i] && s_.teams[team].skills.covers(s_.requests[i].skills);
  }

  double evaluate(std::size_t team, const std::vector<std::size_t>& route) {
    budget_ -= static_cast<std::int64_t>(route.size()) + 1;
    const ScenarioTeam& t = s_.teams[team];
    TimePoint clock = t.shift_start;
    const Place* here = &bases_[team];
    double total = 0.0;
    for (const std::size_t i : route) {
      const ScenarioRequest& r = s_.requests[i];
      const Duration leg = travel_.travel(*here, places_[i]);
      const TimePoint arrival = std::max(clock, r.at) + s_.behavior.accept_delay + leg;
      if (arrival > t.shift_end || arrival + r.service > t.shift_end + s_.allowed_overtime) {
        return kInfeasible;
      }
      total += visit_cost(w_, r.urgency, r.at, arrival, leg);
      clock = arrival + r.service;
      here = &places_[i];
    }
    return total;
  }

  Insertion best_insertion(std::size_t i, std::size_t replaced,
                           const std::vector<std::size_t>& replacement, double replacement_cost) {
    Insertion best;
    for (std::size_t team = 0; team < routes_.size(); ++team) {
      if (!eligible(i, team)) {
        continue;
      }
      const auto& base = team == replaced ? replacement : routes_[team];
      const double base_cost = team == replaced ? replacement_cost : cost_[team];
      for (std::size_t pos = 0; pos <= base.size(); ++pos) {
        scratch_ = base;
        scratch_.insert(scratch_.begin() + static_cast<std::ptrdiff_t>(pos), i);
        const double after = evaluate(team, scratch_);
        if (after < kInfeasible && after - base_cost < best.delta - kEpsilon) {
          best = Insertion{after - base_cost, team, pos};
        }
      }
    }
    return best;
  }

  void apply(std::size_t i, const Insertion& ins) {
    auto& route = routes_[ins.team];
    route.insert(route.begin() + static_cast<std::ptrdiff_t>(ins.position), i);
    cost_[ins.team] += ins.delta;
    team_of_[i] = ins.team;
  }

  bool try_insert(std::size_t i) {
    const Insertion best = best_insertion(i, kNone, {}, 0.0);
    if (best.delta < w_.unserved) {
      apply(i, best);
      return true;
    }
    return false;
  }

  bool relocate(std::size_t i) {
    const std::size_t team = team_of_[i];
    std::vector<std::size_t> without = routes_[team];
    without.erase(std::find(without.begin(), without.end(), i));
    const double without_cost = evaluate(team, without);
    const Insertion best = best_insertion(i, team, without, without_cost);
    if (best.delta < cost_[team] - without_cost - kEpsilon) {
      routes_[team] = std::move(without);
      cost_[team] = without_cost;
      apply(i, best);
      return true;
    }
    return false;
  }

  // Exchanges two served requests of different teams, each taking the other's position.
  bool swap(std::size_t a, std::size_t b) {
    const std::size_t ta = team_of_[a];
    const std::size_t tb = team_of_[b];
    if (ta == kNone || tb == kNone || ta == tb || !eligible(a, tb) || !eligible(b, ta)) {
      return false;
    }
    std::vector<std::size_t> ra = routes_[ta];
    std::vector<std::size_t> rb = routes_[tb];
    *std::find(ra.begin(), ra.end(), a) = b;
    *std::find(rb.begin(), rb.end(), b) = a;
    const double ca = evaluate(ta, ra);
    if (ca == kInfeasible) {
      return false;
    }
    const double cb = evaluate(tb, rb);
    if (cb == kInfeasible || ca + cb >= cost_[ta] + cost_[tb] - kEpsilon) {
      return false;
    }
    routes_[ta] = std::move(ra);
    routes_[tb] = std::move(rb);
    cost_[ta] = ca;
    cost_[tb] = cb;
    team_of_[a] = tb;
    team_of_[b] = ta;
    return true;
  }

  const Scenario& s_;
  const CostWeights& w_;
  HaversineTravelModel travel_;
  std::int64_t budget_{0};
  std::vector<Place> bases_;
  std::vector<Place> places_;
  std::vector<bool> in_area_;
  std::vector<std::vector<std::size_t>> routes_;
  std::vector<double> cost_;
  std::vector<std::size_t> team_of_;
  std::vector<std::size_t> scratch_;
};

}  // namespace

HindsightPlan solve_hindsight(const Scenario& scenario, const CostWeights& weights,
                              std::uint64_t budget) {
  // Restarts: request order first, then orders perturbed by a seeded shuffle within a sliding
  // window (a call may be planned up to a few places earlier or later); the best plan wins.
  constexpr int kRestarts = 8;
  const auto per_start = static_cast<std::int64_t>(std::min<std::uint64_t>(budget, 1ULL << 62U));
  std::vector<std::size_t> order(scenario.requests.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&scenario](std::size_t a, std::size_t b) {
    return scenario.requests[a].at < scenario.requests[b].at;
  });
  OfflineSolver solver(scenario, weights);
  HindsightPlan best;
  double best_total = std::numeric_limits<double>::infinity();
  std::mt19937_64 rng(20260110);
  for (int start = 0; start < kRestarts; ++start) {
    std::vector<std::size_t> perturbed = order;
    if (start > 0) {
      for (std::size_t k = 0; k + 1 < perturbed.size(); ++k) {
        const std::size_t span = std::min<std::size_t>(4, perturbed.size() - k);
        std::swap(perturbed[k], perturbed[k + static_cast<std::size_t>(rng() % span)]);
      }
    }
    const double total = solver.solve(perturbed, per_start);
    if (total < best_total - kEpsilon) {
      best_total = total;
      best.routes = solver.routes();
    }
  }
  return best;
}

}  // namespace oshin::dispatcher
