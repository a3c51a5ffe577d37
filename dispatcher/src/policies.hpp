#pragma once
// Private declarations of the built-in policies (created through make_policy()).

#include <cstdint>
#include <map>
#include <vector>

#include "candidates.hpp"
#include "oshin/dispatcher/lap.hpp"
#include "oshin/dispatcher/policy.hpp"

namespace oshin::dispatcher::detail {

/// The human dispatcher's rule: the queue (URGENT first, then oldest) goes, one visit at a time,
/// to the idle team with the shortest drive. Never waits while a capable team is idle.
class ClosestIdlePolicy final : public Policy {
 public:
  [[nodiscard]] std::string_view name() const override { return "closest-idle"; }
  [[nodiscard]] std::vector<Assignment> decide(const PlanningContext& ctx) override;

 private:
  std::vector<std::uint32_t> idle_;
  std::vector<std::uint32_t> order_;
};

/// Batched optimal assignment: every open visit against every team's next free slot (busy teams
/// included, at their expected completion), solved as a sparse linear assignment with a
/// per-visit "defer" column. Offers only the pairs that land on idle teams.
class OptimalPolicy final : public Policy {
 public:
  explicit OptimalPolicy(PolicyOptions options) : options_(options) {}
  [[nodiscard]] std::string_view name() const override { return "optimal"; }
  [[nodiscard]] std::vector<Assignment> decide(const PlanningContext& ctx) override;

 private:
  PolicyOptions options_;
  std::vector<Candidate> candidates_;
  std::vector<std::uint32_t> row_visit_;
  std::vector<LapEdge> edges_;
  TeamTimes times_;
};

/// Buffers of the rolling planner, kept between decisions so that their capacity is reused.
struct RollingScratch {
  std::vector<std::vector<std::uint32_t>> routes;
  std::vector<double> cost;
  std::vector<std::uint32_t> team_of;
  std::vector<std::vector<Candidate>> candidates;
  std::vector<std::uint32_t> route;
  std::vector<std::uint32_t> without;
  std::vector<std::uint32_t> swap_a;
  std::vector<std::uint32_t> swap_b;
  TeamTimes times;
};

/// Rolling horizon: a route per team over all open visits, kept between decisions (warm start),
/// new visits inserted at their cheapest position, then relocate local search until no move
/// improves or the work budget is spent. Only first stops of idle teams are committed.
class RollingPolicy final : public Policy {
 public:
  explicit RollingPolicy(PolicyOptions options) : options_(options) {}
  [[nodiscard]] std::string_view name() const override { return "rolling"; }
  [[nodiscard]] std::vector<Assignment> decide(const PlanningContext& ctx) override;

 private:
  PolicyOptions options_;
  std::map<TeamId, std::vector<VisitId>> routes_;  // the previous plan (empty entries reused)
  RollingScratch scratch_;
};

}  // namespace oshin::dispatcher::detail
