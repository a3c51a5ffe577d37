#pragma once
/// The scheduling core: an event-in, decisions-out state machine (DESIGN.md "Architecture").
/// apply(event, now) updates the state, fires due timers (offer expiry) and asks the policy for
/// offers; next_deadline() tells the caller when to apply a Tick. Same events with the same
/// instants give the same decisions. Single-threaded: call from one strand only.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "oshin/dispatcher/decisions.hpp"
#include "oshin/dispatcher/events.hpp"
#include "oshin/dispatcher/planning.hpp"
#include "oshin/dispatcher/policy.hpp"

namespace oshin::dispatcher {

/// Static configuration of a dispatcher.
struct DispatcherConfig {
  LatLon center{35.6716, 139.3950};  ///< the house-call center
  double service_radius_km{16.0};    ///< straight-line service radius around the center
  Duration offer_timeout{std::chrono::seconds(60)};  ///< an unanswered offer lapses after this
  Duration default_expected_service{minutes(30)};    ///< planned time on site when not given
  /// While visits wait and a team is idle, re-plan at least this often (a busy team may overrun
  /// its expected completion without any event saying so).
  Duration replan_interval{std::chrono::seconds(60)};
  CostWeights weights;
};

/// Team status as the API shows it.
enum class TeamStatus : std::uint8_t { kAvailable, kOffered, kBusy, kOffShift };
/// Visit status as the core tracks it.
enum class VisitStatus : std::uint8_t {
  kRequested,
  kOffered,
  kAssigned,
  kEnRoute,
  kOnSite,
  kCompleted,
  kCancelled,
  kUnservable,
};

/// The dispatch state machine.
class Dispatcher {
 public:
  /// `travel` and `policy` must not be null.
  Dispatcher(DispatcherConfig config, std::shared_ptr<const TravelModel> travel,
             std::unique_ptr<Policy> policy);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  /// Applies `event` at `now` (an instant earlier than a previous one is treated as the previous
  /// one). First expires offers due at or before `now`, then applies the event, then re-plans.
  /// A rejected event leaves the state unchanged apart from the expiries; its Outcome still
  /// carries their decisions. Never throws except std::bad_alloc.
  [[nodiscard]] Outcome apply(const Event& event, TimePoint now);

  /// Sets the timeout of offers made from now on; pending offers keep the expiry they were made
  /// with. A log replayed under a new configuration sets, before each event, the timeout that
  /// was in effect when the event was applied live, so the replay makes the same decisions.
  void set_offer_timeout(Duration timeout) { config_.offer_timeout = timeout; }
  [[nodiscard]] Duration offer_timeout() const { return config_.offer_timeout; }

  /// The next instant at which a Tick must be applied: the earliest pending offer expiry, or,
  /// while visits wait, the next shift start, or the next periodic re-plan (while visits wait
  /// and a team is idle). Empty when no timer is needed.
  [[nodiscard]] std::optional<TimePoint> next_deadline() const;

  /// Status of a team at the last applied instant; empty for an unknown or removed team.
  [[nodiscard]] std::optional<TeamStatus> team_status(TeamId team) const;
  /// Status of a visit; empty for an unknown one.
  [[nodiscard]] std::optional<VisitStatus> visit_status(VisitId visit) const;
  /// The team holding (offered or assigned) a visit.
  [[nodiscard]] std::optional<TeamId> visit_team(VisitId visit) const;
  /// Number of visits in the pool (requested, not offered).
  [[nodiscard]] std::size_t open_visits() const { return open_.size(); }
  /// Number of pending offers.
  [[nodiscard]] std::size_t pending_offers() const { return expiries_.size(); }
  /// The policy in use.
  [[nodiscard]] const Policy& policy() const { return *policy_; }

 private:
  enum class Phase : std::uint8_t { kIdle, kOffered, kAssigned, kEnRoute, kOnSite };
  struct TeamState;
  struct VisitState;
  struct OfferState;

  EventStatus on(const TeamUpserted& e);
  EventStatus on(const TeamRemoved& e);
  EventStatus on(const TeamLocationUpdated& e);
  EventStatus on(const VisitRequested& e);
  EventStatus on(const VisitCancelled& e);
  EventStatus on(const OfferAccepted& e);
  EventStatus on(const OfferDeclined& e);
  EventStatus on(const VisitDeparted& e);
  EventStatus on(const VisitArrived& e);
  EventStatus on(const VisitCompleted& e);
  EventStatus on(const Tick& e);

  void expire_offers();
  void end_offer(OfferId offer, bool declined, std::optional<WithdrawReason> withdraw);
  void return_to_pool(std::uint32_t visit);
  void leave_pool(std::uint32_t visit);
  void set_team_place(std::uint32_t team, LatLon where);
  void refresh_travel_cache();
  void check_unservable();
  void plan();
  void make_offer(std::uint32_t visit, std::uint32_t team, Duration leg);
  [[nodiscard]] TimePoint team_available_at(const TeamState& t) const;
  [[nodiscard]] const Place& team_plan_place(const TeamState& t) const;
  [[nodiscard]] bool optimistic_can_serve(const VisitState& v, const TeamState& t) const;
  [[nodiscard]] std::optional<std::uint32_t> find_visit(VisitId id) const;
  [[nodiscard]] std::optional<std::uint32_t> find_team(TeamId id) const;

  DispatcherConfig config_;
  std::shared_ptr<const TravelModel> travel_;
  std::unique_ptr<Policy> policy_;
  GeoPoint center_;
  TimePoint now_{};
  std::uint64_t next_offer_{1};

  std::vector<TeamState> teams_;  // dense slots, never shrinks (removed teams stay inactive)
  std::map<TeamId, std::uint32_t> team_index_;
  std::vector<VisitState> visits_;  // every visit ever requested
  std::map<VisitId, std::uint32_t> visit_index_;
  std::vector<std::uint32_t> open_;  // pool, sorted by visit id
  std::map<OfferId, OfferState> offers_;
  std::set<std::pair<TimePoint, OfferId>> expiries_;  // pending offers by expiry
  std::vector<std::uint32_t> dirty_teams_;            // travel cache columns to recompute
  std::vector<Decision>* out_{nullptr};               // decisions of the apply() in progress
  bool waiting_with_idle_{false};  // after the last plan: visits wait while a team is idle

  // Scratch reused across decisions (no allocation on the steady-state path).
  std::vector<PlanTeam> plan_teams_;
  std::vector<PlanVisit> plan_visits_;
  std::vector<std::uint32_t> plan_visit_index_;  // plan_visits_[i] is visits_[plan_visit_index_[i]]
};

/// The API name of a team status.
[[nodiscard]] std::string_view team_status_name(TeamStatus s);
/// The API name of a visit status.
[[nodiscard]] std::string_view visit_status_name(VisitStatus s);

}  // namespace oshin::dispatcher
