#pragma once
/// The simulator: runs a scenario through a policy, with simulated doctors answering offers,
/// and reports KPIs and the trace. Pure: the wall clock used to time decisions is injected.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/cost_model.hpp"
#include "oshin/dispatcher/kpis.hpp"
#include "oshin/dispatcher/policy.hpp"

namespace oshin::dispatcher {

/// Options of one run.
struct SimulationOptions {
  std::uint64_t seed{1};  ///< seeds the doctors' accept/decline draws
  /// Monotonic nanoseconds, used only to time decisions; when empty decisionP99Us is 0.
  std::function<std::int64_t()> now_ns;
  PolicyOptions policy_options;
  CostWeights weights;
  /// hindsight: local-search work budget per restart (route-stop evaluations).
  std::uint64_t hindsight_budget{30'000'000};
};

/// The result of one run.
struct SimulationResult {
  Kpis kpis;
  std::vector<TraceLine> trace;  ///< one line per request, in scenario order
};

/// Every policy oshin-sim knows, in display order: the online ones, then hindsight.
[[nodiscard]] std::vector<std::string_view> simulator_policies();

/// Runs `scenario` through `policy` (a name from simulator_policies()). An unknown policy name
/// gives an empty result whose kpis.policy is empty.
[[nodiscard]] SimulationResult simulate(const Scenario& scenario, std::string_view policy,
                                        const SimulationOptions& options);

}  // namespace oshin::dispatcher
