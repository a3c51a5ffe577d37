#pragma once
/// Realistic generated nights (DESIGN.md "Simulator and scenarios", figures for Hino City).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/scenario.hpp"

namespace oshin::dispatcher {

/// The kinds generate_scenario() knows: quiet, surge, burst, metro.
[[nodiscard]] std::vector<std::string_view> scenario_kinds();

/// A night of the given kind, fully determined by `seed`; empty for an unknown kind.
/// quiet: 2 teams, 1-3 visits. surge (an epidemic wave): 4 teams, 40-55 visits peaking in the
/// evening. burst: 3 teams, a cluster of ~20 calls within 90 minutes plus a few others. metro: 40
/// teams, ~400 visits over a 12 km area.
[[nodiscard]] std::optional<Scenario> generate_scenario(std::string_view kind, std::uint64_t seed);

}  // namespace oshin::dispatcher
