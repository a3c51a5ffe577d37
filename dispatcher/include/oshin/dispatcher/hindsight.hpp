#pragma once
/// The hindsight reference: an offline plan that knows the whole night in advance (every request,
/// its true time on site). It obeys the same rules as the online policies: no departure before a
/// request's time, skills, service radius, arrival no later than shift end and completion no
/// later than shift end + allowed overtime; each offer takes the doctors' accept delay. Doctors
/// never decline in hindsight. Simulator only.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "oshin/dispatcher/cost_model.hpp"
#include "oshin/dispatcher/scenario.hpp"

namespace oshin::dispatcher {

/// Per team (scenario order), the requests it serves in order (indices into requests).
struct HindsightPlan {
  std::vector<std::vector<std::size_t>> routes;
};

/// Builds the plan: cheapest insertion in request order, then relocate and swap local search
/// until no move improves or `budget` route-stop evaluations are spent; repeated from 7 more
/// insertion orders (request order locally shuffled by a fixed seed), keeping the plan with the
/// lowest objective. Deterministic.
[[nodiscard]] HindsightPlan solve_hindsight(const Scenario& scenario, const CostWeights& weights,
                                            std::uint64_t budget);

}  // namespace oshin::dispatcher
