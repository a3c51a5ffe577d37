#pragma once
/// The objective every policy (and the hindsight reference) minimises, DESIGN.md "The scheduling
/// core": urgency-weighted response time (request to arrival), lateness against the target
/// weighted far higher, then paid (driving) time.

#include "oshin/dispatcher/domain.hpp"

namespace oshin::dispatcher {

/// Weights of the objective, in "weighted minutes". A late minute costs 6x an on-time one (plus
/// a 30-minute step when the target is missed); tuned on generated surge and burst nights
/// (docs/PERFORMANCE.md).
struct CostWeights {
  double urgent_weight{1.2};     ///< per minute of response of an URGENT visit
  double soon_weight{1.0};       ///< per minute of response of a SOON visit
  double late_per_minute{5.0};   ///< extra, per minute past the target (times the urgency weight)
  double late_step{30.0};        ///< extra, once, when a visit is late at all (times the weight)
  double paid_per_minute{0.05};  ///< per minute of driving (paid hours)
  double unserved{20000.0};      ///< a visit left without a team
};

/// The cost of serving a visit of urgency `u` requested at `requested_at` with arrival at
/// `arrival` after driving `drive`.
[[nodiscard]] inline double visit_cost(const CostWeights& w, Urgency u, TimePoint requested_at,
                                       TimePoint arrival, Duration drive) {
  const double weight = u == Urgency::kUrgent ? w.urgent_weight : w.soon_weight;
  const double response = to_minutes(arrival - requested_at);
  const double late = response - to_minutes(target_response(u));
  double cost = weight * response + w.paid_per_minute * to_minutes(drive);
  if (late > 0.0) {
    cost += weight * (w.late_step + w.late_per_minute * late);
  }
  return cost;
}

}  // namespace oshin::dispatcher
