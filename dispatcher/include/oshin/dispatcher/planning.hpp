#pragma once
/// The view of the dispatcher's state that a policy plans over. Built by Dispatcher on every
/// event; valid only for the duration of one Policy::decide() call.

#include <cstdint>
#include <span>

#include "oshin/dispatcher/cost_model.hpp"
#include "oshin/dispatcher/domain.hpp"
#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::dispatcher {

/// A team as the planner sees it: where and when it is next free.
struct PlanTeam {
  TeamId id;
  std::uint32_t slot{0};        ///< column of this team in PlanVisit::travel_ms
  TimePoint available_at;       ///< when it can next depart (>= now, >= shift start)
  const Place* place{nullptr};  ///< where it will be then
  TimePoint shift_start;
  TimePoint shift_end;
  Duration allowed_overtime{};
  SkillSet skills;
  bool idle{false};  ///< on shift with nothing to do and no pending offer: may be offered now
};

/// An open visit (requested, not offered) as the planner sees it.
struct PlanVisit {
  VisitId id;
  TimePoint requested_at;
  Urgency urgency{Urgency::kUrgent};
  SkillSet needed_skills;
  Duration expected_service{};
  const Place* place{nullptr};
  /// Driving milliseconds from each team's PlanTeam::place (indexed by PlanTeam::slot).
  const std::int32_t* travel_ms{nullptr};
  /// Teams that declined or let an offer of this visit expire, sorted.
  std::span<const TeamId> declined;
  /// True when some team outside `declined` can take the visit: declined teams are then barred.
  bool declines_bind{false};
};

/// Everything a policy may read to decide.
class PlanningContext {
 public:
  TimePoint now;
  std::span<const PlanTeam> teams;    ///< active teams, sorted by id
  std::span<const PlanVisit> visits;  ///< open visits, sorted by id
  const TravelModel* travel{nullptr};
  CostWeights weights;
  /// How long an offer may wait for acceptance; shift checks assume departure this late.
  Duration offer_allowance{};

  /// Cached driving time from team t's planning place to visit v.
  [[nodiscard]] Duration first_leg(const PlanVisit& v, const PlanTeam& t) const {
    return Duration(v.travel_ms[t.slot]);
  }
  /// Skills match and the decline rule allows offering v to t.
  [[nodiscard]] bool allowed(const PlanVisit& v, const PlanTeam& t) const;
  /// A leg arriving at `arrival` followed by `service` on site respects t's shift (arrival no
  /// later than shift end, completion no later than shift end + overtime), counting the offer
  /// allowance before departure.
  [[nodiscard]] bool fits_shift(const PlanTeam& t, TimePoint arrival, Duration service) const {
    const TimePoint latest_arrival = arrival + offer_allowance;
    return latest_arrival <= t.shift_end &&
           latest_arrival + service <= t.shift_end + t.allowed_overtime;
  }
  /// Objective cost of serving v with arrival at `arrival` after driving `drive`.
  [[nodiscard]] double cost(const PlanVisit& v, TimePoint arrival, Duration drive) const {
    return visit_cost(weights, v.urgency, v.requested_at, arrival, drive);
  }
};

}  // namespace oshin::dispatcher
