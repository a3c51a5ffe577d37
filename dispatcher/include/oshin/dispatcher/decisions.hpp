#pragma once
/// Decisions the scheduling core emits, and the status of an applied event.

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "oshin/dispatcher/ids.hpp"
#include "oshin/dispatcher/time.hpp"

namespace oshin::dispatcher {

/// Offer `visit` to `team`; the offer is pending until `expires_at` (exclusive).
struct OfferVisit {
  OfferId offer;
  VisitId visit;
  TeamId team;
  TimePoint eta;         ///< expected arrival if accepted and departed at once
  TimePoint expires_at;  ///< the offer lapses at this instant
  friend bool operator==(const OfferVisit&, const OfferVisit&) = default;
};

/// Why an offer was withdrawn.
enum class WithdrawReason : std::uint8_t { kExpired, kCancelled, kTeamRemoved };
/// The API name of a withdraw reason (EXPIRED, CANCELLED, TEAM_REMOVED).
[[nodiscard]] std::string_view withdraw_reason_name(WithdrawReason r);

/// A pending offer is no longer valid.
struct WithdrawOffer {
  OfferId offer;
  VisitId visit;
  TeamId team;
  WithdrawReason reason{WithdrawReason::kExpired};
  friend bool operator==(const WithdrawOffer&, const WithdrawOffer&) = default;
};

/// Why a visit cannot be served.
enum class UnservableReason : std::uint8_t {
  kOutOfServiceArea,  ///< beyond the service radius of the center
  kNoCapableTeam,     ///< no known team has the needed skills
  kNoTimeLeft,        ///< no capable team can arrive before its shift ends
};
/// The API-style name of an unservable reason.
[[nodiscard]] std::string_view unservable_reason_name(UnservableReason r);

/// The visit leaves the pool: no team will be offered it.
struct MarkUnservable {
  VisitId visit;
  UnservableReason reason{UnservableReason::kNoCapableTeam};
  friend bool operator==(const MarkUnservable&, const MarkUnservable&) = default;
};

/// Any decision.
using Decision = std::variant<OfferVisit, WithdrawOffer, MarkUnservable>;

/// Whether an event was applied. Rejected events change nothing (timers may still have fired,
/// see Outcome::decisions).
enum class EventStatus : std::uint8_t {
  kOk,
  kUnknownTeam,
  kUnknownVisit,
  kUnknownOffer,
  kDuplicateId,
  kOfferNotPending,    ///< accept/decline of an expired, withdrawn or answered offer
  kInvalidTransition,  ///< e.g. arrive before depart, remove a busy team
  kInvalidArgument,    ///< bad coordinates, shift end before start, ...
};
/// A stable name of a status (for logs and tests).
[[nodiscard]] std::string_view event_status_name(EventStatus s);

/// The result of apply(): the status of the event itself and every decision taken, in order.
struct Outcome {
  EventStatus status{EventStatus::kOk};
  std::vector<Decision> decisions;
};

}  // namespace oshin::dispatcher
