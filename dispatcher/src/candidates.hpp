#pragma once
// Private helpers shared by the policies.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "oshin/dispatcher/planning.hpp"

namespace oshin::dispatcher::detail {

/// A team that may serve a visit as its next stop, with the estimated first-leg arrival.
struct Candidate {
  std::uint32_t team{0};  // index into ctx.teams
  TimePoint arrival;
  Duration leg{};
};

/// The per-team fields candidate selection reads, packed densely (built once per decision so
/// that the O(visits x teams) scan touches 12 bytes per team instead of a whole PlanTeam).
struct TeamTimes {
  std::vector<std::int64_t> available_ms;  ///< PlanTeam::available_at, ms since epoch
  std::vector<std::uint32_t> slot;         ///< PlanTeam::slot
};

/// Fills `times` from ctx.teams.
inline void pack_team_times(const PlanningContext& ctx, TeamTimes& times) {
  times.available_ms.clear();
  times.slot.clear();
  for (const PlanTeam& t : ctx.teams) {
    times.available_ms.push_back(t.available_at.time_since_epoch().count());
    times.slot.push_back(t.slot);
  }
}

/// Fills `out` with up to `limit` teams allowed for `v` whose next-stop arrival fits their
/// shift, earliest arrival first (ties: smaller team id). O(teams): a team is first compared
/// with the current worst kept (integer arithmetic only) before any further check.
inline void nearest_candidates(const PlanningContext& ctx, const TeamTimes& times,
                               const PlanVisit& v, std::uint32_t limit,
                               std::vector<Candidate>& out) {
  out.clear();
  if (limit == 0) {
    return;
  }
  const auto before = [](const Candidate& a, const Candidate& b) {
    return a.arrival != b.arrival ? a.arrival < b.arrival : a.team < b.team;
  };
  const std::int64_t requested = v.requested_at.time_since_epoch().count();
  const std::int64_t* available = times.available_ms.data();
  const std::uint32_t* slot = times.slot.data();
  const std::int32_t* travel = v.travel_ms;
  std::int64_t worst = std::numeric_limits<std::int64_t>::max();
  const auto count = static_cast<std::uint32_t>(times.slot.size());
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::int64_t arrival = std::max(available[i], requested) + travel[slot[i]];
    // Teams come in id order, so a later team with an equal arrival never displaces.
    if (arrival >= worst) {
      continue;
    }
    const PlanTeam& t = ctx.teams[i];
    const Candidate c{i, TimePoint(Duration(arrival)), Duration(travel[slot[i]])};
    if (!ctx.allowed(v, t) || !ctx.fits_shift(t, c.arrival, v.expected_service)) {
      continue;
    }
    if (out.size() == limit) {
      out.pop_back();
    }
    out.insert(std::upper_bound(out.begin(), out.end(), c, before), c);
    if (out.size() == limit) {
      worst = out.back().arrival.time_since_epoch().count();
    }
  }
}

/// Deadline order: earliest (request + target) first, then id.
inline bool by_deadline(const PlanVisit& a, const PlanVisit& b) {
  const TimePoint da = a.requested_at + target_response(a.urgency);
  const TimePoint db = b.requested_at + target_response(b.urgency);
  return da != db ? da < db : a.id < b.id;
}

}  // namespace oshin::dispatcher::detail
