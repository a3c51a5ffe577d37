#pragma once
/// Staffing (DESIGN.md "Simulator and scenarios", `oshin-sim staffing`): the fewest teams per
/// time band of the night that keep at least 90% of URGENT visits within their 60-minute target.
/// Pure: runs the simulator on parts of a scenario.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/scenario.hpp"
#include "oshin/dispatcher/simulator.hpp"

namespace oshin::dispatcher {

/// A band of local time of day, [start, end) in minutes after midnight; wraps midnight when
/// end <= start.
struct StaffingBand {
  std::string name;
  int start_minute{0};
  int end_minute{0};
};

/// The bands of the night: evening 18:00-22:00, late night 22:00-06:00, morning 06:00-08:00, and
/// day 08:00-18:00 (holidays).
[[nodiscard]] std::vector<StaffingBand> default_staffing_bands();

/// The answer for one band.
struct StaffingRow {
  std::string band;
  std::size_t requests{0};  ///< requests made in the band
  std::size_t urgent{0};    ///< of which URGENT
  /// Fewest teams meeting the target (0 for a band without requests); empty when even every team
  /// of the scenario misses it.
  std::optional<std::size_t> teams;
  /// Share of URGENT arriving within 60 minutes with `teams` teams (with every team when
  /// `teams` is empty); 1 when the band has no URGENT request.
  double urgent_within_target{1.0};
};

/// For each band: simulates only the band's requests (local time at scenario.utc_offset_minutes)
/// with the first n teams of the scenario (file order), n = 1, 2, ..., under `policy`, and
/// keeps the first n whose share of URGENT requests arriving within target reaches
/// `target_share` (unserved requests count as late). A band with requests but no URGENT needs 1.
/// Each band starts with every team idle at its base.
[[nodiscard]] std::vector<StaffingRow> staffing(const Scenario& scenario, std::string_view policy,
                                                const SimulationOptions& options,
                                                const std::vector<StaffingBand>& bands,
                                                double target_share = 0.9);

/// Human-readable table, one line per band.
[[nodiscard]] std::string staffing_table(const std::vector<StaffingRow>& rows);
/// `[{"band":...,"requests":N,"urgent":N,"teams":N|null,"urgentWithinTarget":x}, ...]`.
[[nodiscard]] std::string staffing_to_json(const std::vector<StaffingRow>& rows);

}  // namespace oshin::dispatcher
