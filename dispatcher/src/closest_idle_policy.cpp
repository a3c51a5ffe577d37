#include <algorithm>
#include <numeric>

#include "policies.hpp"

namespace oshin::dispatcher::detail {

std::vector<Assignment> ClosestIdlePolicy::decide(const PlanningContext& ctx) {
  std::vector<Assignment> chosen;
  idle_.clear();
  for (std::uint32_t i = 0; i < ctx.teams.size(); ++i) {
    if (ctx.teams[i].idle) {
      idle_.push_back(i);
    }
  }
  if (idle_.empty()) {
    return chosen;
  }
  // A human dispatcher's queue: URGENT first, then first come, first served.
  order_.resize(ctx.visits.size());
  std::iota(order_.begin(), order_.end(), 0U);
  std::sort(order_.begin(), order_.end(), [&ctx](std::uint32_t a, std::uint32_t b) {
    const PlanVisit& va = ctx.visits[a];
    const PlanVisit& vb = ctx.visits[b];
    if (va.urgency != vb.urgency) {
      return va.urgency == Urgency::kUrgent;
    }
    if (va.requested_at != vb.requested_at) {
      return va.requested_at < vb.requested_at;
    }
    return va.id < vb.id;
  });
  for (const std::uint32_t vi : order_) {
    const PlanVisit& v = ctx.visits[vi];
    std::size_t best = idle_.size();
    Duration best_leg = Duration::max();
    for (std::size_t k = 0; k < idle_.size(); ++k) {
      const PlanTeam& t = ctx.teams[idle_[k]];
      if (!ctx.allowed(v, t)) {
        continue;
      }
      const Duration leg = ctx.first_leg(v, t);
      if (leg >= best_leg || !ctx.fits_shift(t, ctx.now + leg, v.expected_service)) {
        continue;  // teams are in id order, so the first of equal legs wins
      }
      best = k;
      best_leg = leg;
    }
    if (best < idle_.size()) {
      chosen.push_back(Assignment{vi, idle_[best]});
      idle_.erase(idle_.begin() + static_cast<std::ptrdiff_t>(best));
      if (idle_.empty()) {
        break;
      }
    }
  }
  return chosen;
}

}  // namespace oshin::dispatcher::detail
