#pragma once
/// Recorded nights: the server's durable core log (core_log.proto, events with stream_key
/// "core") turned into the simulator's input, and replayed through any policy and team count
/// with the recorded human delays (docs/OPERATIONS.md "Replay and staffing").

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/dispatcher/kpis.hpp"
#include "oshin/dispatcher/scenario.hpp"
#include "oshin/dispatcher/simulator.hpp"
#include "oshin/v1/config.pb.h"
#include "oshin/v1/core_log.pb.h"

namespace oshin::sim {

namespace d = oshin::dispatcher;

/// What the server's dispatcher was built with (server/app make_core()).
struct ReplaySettings {
  d::DispatcherConfig dispatcher;
  d::TravelParams travel;
  std::string server_policy{"rolling"};
};

/// The settings a server with `config` (already defaulted and validated) dispatches with.
[[nodiscard]] ReplaySettings settings_from_config(const oshin::v1::ServerConfig& config);

/// How a recorded offer was answered, and after how long.
struct RecordedAnswer {
  enum class Kind : std::uint8_t { kAccept, kDecline, kLapse };
  Kind kind{Kind::kLapse};
  d::Duration after{};
};

/// A log event of the window that is not a doctor's answer or progress: it happens whatever the
/// policy does (a request, a cancellation, a team's position, a team leaving, time passing).
struct Exogenous {
  enum class Kind : std::uint8_t { kRequest, kCancel, kLocation, kTeamRemoved, kTick };
  Kind kind{Kind::kTick};
  d::TimePoint at;
  std::size_t index{0};  ///< request index (kRequest, kCancel) or team index
  d::LatLon location;    ///< kLocation
};

/// One recorded night, ready to replay.
struct RecordedNight {
  /// Teams on shift in the window (their last spec), requests of the window with `service` the
  /// recorded time on site (expected_service when never completed); behaviour = recorded median
  /// answer delay and decline share (what staffing and unknown offers use).
  d::Scenario scenario;
  std::vector<std::string> visit_ids;  ///< the server's visit id of each request
  std::vector<d::TraceLine> recorded;  ///< what the server actually did, one line per request
  /// Answers of each offer the server made, in order, keyed by (request, team index).
  std::map<std::pair<std::size_t, std::size_t>, std::vector<RecordedAnswer>> answers;
  std::vector<std::optional<d::Duration>> depart_delay;  ///< accept → depart, per request
  std::vector<Exogenous> exogenous;                      ///< in log order
  std::vector<d::LatLon> team_position;  ///< where each team was at the window's start
  /// The server's core ids of the teams and requests: the replay uses them too, so the policies
  /// break ties exactly as the server's did.
  std::vector<std::uint64_t> team_core_ids;
  std::vector<std::uint64_t> request_core_ids;
  d::TimePoint from;
  d::TimePoint to;
};

/// Converts a core log (every event, in log order) into the night of requests requested in
/// [from, to). Replays the whole log through a dispatcher built like the server's to learn
/// which offer went to which team. On failure (an empty window) returns nothing and sets
/// `error`.
[[nodiscard]] std::optional<RecordedNight> night_from_core_log(
    const std::vector<oshin::v1::CoreEvent>& log, d::TimePoint from, d::TimePoint to,
    const ReplaySettings& settings, std::string& error);

/// Replays `night` through `policy` ("closest-idle", "optimal" or "rolling") with `teams` teams
/// (the recorded ones first; more are copies of them, fewer drops the last). Doctors answer
/// offers as recorded for the same visit and team (the median delay, accepting, otherwise);
/// they depart after the recorded delay, travel as recorded when the same team leaves from the
/// same place (the travel model otherwise) and stay on site as recorded.
[[nodiscard]] d::SimulationResult replay_night(const RecordedNight& night, std::string_view policy,
                                               std::size_t teams, const ReplaySettings& settings);

/// Response figures of one urgency (minutes; share within the urgency's target over all its
/// requests, unserved ones counting as late).
struct UrgencyFigures {
  d::Urgency urgency{d::Urgency::kUrgent};
  std::size_t requests{0};
  std::size_t served{0};
  double mean_min{0.0};
  double p50_min{0.0};
  double p90_min{0.0};
  double max_min{0.0};
  double within_target{0.0};
};

/// URGENT then SOON figures of a trace over the night's requests.
[[nodiscard]] std::vector<UrgencyFigures> urgency_figures(const d::Scenario& scenario,
                                                          const std::vector<d::TraceLine>& trace);

/// Reads every core log event of the store in DATA_DIR/oshin.db, read-only. On failure returns
/// nothing and sets `error`.
[[nodiscard]] std::optional<std::vector<oshin::v1::CoreEvent>> read_core_log(
    const std::string& data_dir, std::string& error);

}  // namespace oshin::sim
