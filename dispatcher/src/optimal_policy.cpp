#include "oshin/dispatcher/lap.hpp"
#include "policies.hpp"

namespace oshin::dispatcher::detail {

std::vector<Assignment> OptimalPolicy::decide(const PlanningContext& ctx) {
  std::vector<Assignment> chosen;
  bool any_idle = false;
  for (const PlanTeam& t : ctx.teams) {
    any_idle = any_idle || t.idle;
  }
  if (!any_idle) {
    return chosen;  // nothing can be offered before the next event
  }
  const auto team_count = static_cast<std::uint32_t>(ctx.teams.size());
  pack_team_times(ctx, times_);
  SparseLap lap(team_count + static_cast<std::uint32_t>(ctx.visits.size()));
  std::vector<std::uint32_t>& row_visit = row_visit_;
  std::vector<LapEdge>& edges = edges_;
  row_visit.clear();
  for (std::uint32_t vi = 0; vi < ctx.visits.size(); ++vi) {
    const PlanVisit& v = ctx.visits[vi];
    nearest_candidates(ctx, times_, v, options_.candidate_teams, candidates_);
    if (candidates_.empty()) {
      continue;
    }
    edges.clear();
    for (const Candidate& c : candidates_) {
      edges.push_back(LapEdge{c.team, ctx.cost(v, c.arrival, c.leg)});
    }
    // Leaving the visit for a later batch costs as much as being served `defer` later than
    // its best slot now.
    const Candidate& best = candidates_.front();
    const auto row = static_cast<std::uint32_t>(row_visit.size());
    edges.push_back(
        LapEdge{team_count + row, ctx.cost(v, best.arrival + options_.defer, best.leg)});
    lap.add_row(edges);
    row_visit.push_back(vi);
  }
  const std::vector<std::int64_t> columns = lap.solve();
  for (std::size_t row = 0; row < columns.size(); ++row) {
    const std::int64_t column = columns[row];
    if (column >= 0 && column < team_count && ctx.teams[static_cast<std::size_t>(column)].idle) {
      chosen.push_back(Assignment{row_visit[row], static_cast<std::uint32_t>(column)});
    }
  }
  return chosen;
}

}  // namespace oshin::dispatcher::detail
