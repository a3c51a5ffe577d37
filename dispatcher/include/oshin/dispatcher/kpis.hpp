#pragma once
/// KPIs of a simulated night and the per-request trace they are computed from (DESIGN.md
/// "Simulator and scenarios"). compute_kpis() uses only the trace and the scenario, so anyone
/// holding a trace file can check the figures.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/scenario.hpp"

namespace oshin::dispatcher {

/// One line of --trace: what happened to one request.
struct TraceLine {
  std::string request;
  std::optional<std::string> team;  ///< empty when unserved
  std::optional<TimePoint> offered_at;
  std::optional<TimePoint> accepted_at;
  std::optional<TimePoint> departed_at;
  std::optional<TimePoint> arrived_at;
  std::optional<TimePoint> completed_at;
  std::optional<LatLon> from;  ///< where the team departed from
};

/// The KPI set; JSON keys in kpis_to_json() are exactly DESIGN.md's.
struct Kpis {
  std::string policy;
  std::size_t requests{0};
  std::size_t served{0};
  std::size_t unserved{0};
  double mean_response_min{0.0};
  double p90_response_min{0.0};
  double max_response_min{0.0};
  double late_fraction{0.0};
  double late_fraction_urgent{0.0};
  double utilization{0.0};
  double worked_hours{0.0};
  double overtime_minutes{0.0};
  double decision_p99_us{0.0};
};

/// Computes every KPI except decisionP99Us (left 0) from a trace (one line per request, in any
/// order; requests without a line count as unserved).
[[nodiscard]] Kpis compute_kpis(const Scenario& scenario, std::string_view policy,
                                const std::vector<TraceLine>& trace);

/// Nearest-rank percentile (p in (0, 100]) of `values`; 0 for an empty set.
[[nodiscard]] double nearest_rank(std::vector<double> values, double p);

/// {"policy":...,"requests":...,...} with DESIGN.md's keys, in its order.
[[nodiscard]] std::string kpis_to_json(const Kpis& kpis);
/// One trace line as JSON (times in the given UTC offset).
[[nodiscard]] std::string trace_line_to_json(const TraceLine& line, int offset_minutes);
/// Human-readable side-by-side table, one column per policy.
[[nodiscard]] std::string kpis_table(const std::vector<Kpis>& columns);

}  // namespace oshin::dispatcher
