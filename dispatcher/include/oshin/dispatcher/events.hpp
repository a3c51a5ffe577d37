#pragma once
/// Events the scheduling core consumes. Each is applied with the instant it happened.

#include <optional>
#include <variant>

#include "oshin/dispatcher/domain.hpp"

namespace oshin::dispatcher {

/// Adds a team, or replaces the shift, base and skills of a known idle team.
struct TeamUpserted {
  TeamSpec team;
};
/// Removes an idle (or offered) team from dispatch; a pending offer is withdrawn.
struct TeamRemoved {
  TeamId team;
};
/// A team reports its position.
struct TeamLocationUpdated {
  TeamId team;
  LatLon location;
};
/// A new visit request enters the pool.
struct VisitRequested {
  VisitRequest request;
};
/// A visit is cancelled before the team reached the patient; a pending offer is withdrawn.
struct VisitCancelled {
  VisitId visit;
};
/// The offered team accepts (only while the offer is pending).
struct OfferAccepted {
  OfferId offer;
};
/// The offered team declines; the visit returns to the pool.
struct OfferDeclined {
  OfferId offer;
};
/// The assigned team leaves for the patient.
struct VisitDeparted {
  VisitId visit;
};
/// The assigned team reaches the patient.
struct VisitArrived {
  VisitId visit;
};
/// The visit is over; the team is available again at the patient's home.
struct VisitCompleted {
  VisitId visit;
};
/// Nothing happened except that time passed (a timer set from next_deadline()).
struct Tick {};

/// Any event.
using Event =
    std::variant<TeamUpserted, TeamRemoved, TeamLocationUpdated, VisitRequested, VisitCancelled,
                 OfferAccepted, OfferDeclined, VisitDeparted, VisitArrived, VisitCompleted, Tick>;

}  // namespace oshin::dispatcher
