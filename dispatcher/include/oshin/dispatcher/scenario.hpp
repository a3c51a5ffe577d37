#pragma once
/// Scenario files of the simulator (DESIGN.md "Simulator and scenarios"): JSON in, validated,
/// with clear errors for untrusted input; and JSON out in the same format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/domain.hpp"
#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::dispatcher {

/// A team of a scenario.
struct ScenarioTeam {
  std::string id;
  LatLon base;
  TimePoint shift_start;
  TimePoint shift_end;
  SkillSet skills;
};

/// A request of a scenario; `service` is the true time on site, revealed at completion.
struct ScenarioRequest {
  std::string id;
  TimePoint at;
  LatLon location;
  Urgency urgency{Urgency::kUrgent};
  std::optional<Reason> reason;
  Duration service{};
  SkillSet skills;
};

/// Simulated doctor behaviour.
struct Behavior {
  double decline_probability{0.05};                 ///< per offer, in [0, 1]
  Duration accept_delay{std::chrono::seconds(20)};  ///< time to answer an offer
};

/// A whole night.
struct Scenario {
  LatLon center{35.6716, 139.3950};
  double service_radius_km{16.0};
  TravelParams travel;
  Duration offer_timeout{std::chrono::seconds(60)};
  Behavior behavior;
  Duration expected_service{minutes(30)};  ///< what online policies plan with
  Duration allowed_overtime{};             ///< completions may run this long past shift end
  std::vector<ScenarioTeam> teams;
  std::vector<ScenarioRequest> requests;
  int utc_offset_minutes{0};  ///< offset of the first timestamp read (used when printing)
};

/// A parse result: a scenario or a message naming the offending field.
struct ScenarioResult {
  std::optional<Scenario> scenario;
  std::string error;
};

/// Parses and validates a scenario document. Never throws on bad input.
[[nodiscard]] ScenarioResult parse_scenario(std::string_view json);

/// Writes a scenario in the documented format, one team or request per line.
[[nodiscard]] std::string scenario_to_json(const Scenario& scenario);

}  // namespace oshin::dispatcher
