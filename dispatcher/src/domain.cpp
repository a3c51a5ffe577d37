#include "oshin/dispatcher/domain.hpp"

#include "oshin/dispatcher/decisions.hpp"
#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/dispatcher/policy.hpp"

namespace oshin::dispatcher {

std::optional<Skill> parse_skill(std::string_view name) {
  if (name == "PEDIATRIC") {
    return Skill::kPediatric;
  }
  if (name == "PALLIATIVE") {
    return Skill::kPalliative;
  }
  if (name == "RESPIRATORY") {
    return Skill::kRespiratory;
  }
  return std::nullopt;
}

std::string_view skill_name(Skill s) {
  switch (s) {
    case Skill::kPediatric:
      return "PEDIATRIC";
    case Skill::kPalliative:
      return "PALLIATIVE";
    case Skill::kRespiratory:
      return "RESPIRATORY";
  }
  return "UNKNOWN";
}

std::optional<Urgency> parse_urgency(std::string_view name) {
  if (name == "URGENT") {
    return Urgency::kUrgent;
  }
  if (name == "SOON") {
    return Urgency::kSoon;
  }
  return std::nullopt;
}

std::string_view urgency_name(Urgency u) {
  return u == Urgency::kUrgent ? "URGENT" : "SOON";
}

std::optional<Reason> parse_reason(std::string_view name) {
  if (name == "ACUTE_CHANGE") {
    return Reason::kAcuteChange;
  }
  if (name == "END_OF_LIFE") {
    return Reason::kEndOfLife;
  }
  if (name == "DEATH_CONFIRMATION") {
    return Reason::kDeathConfirmation;
  }
  if (name == "OTHER") {
    return Reason::kOther;
  }
  return std::nullopt;
}

std::string_view reason_name(Reason r) {
  switch (r) {
    case Reason::kAcuteChange:
      return "ACUTE_CHANGE";
    case Reason::kEndOfLife:
      return "END_OF_LIFE";
    case Reason::kDeathConfirmation:
      return "DEATH_CONFIRMATION";
    case Reason::kOther:
      return "OTHER";
  }
  return "OTHER";
}

std::string_view withdraw_reason_name(WithdrawReason r) {
  switch (r) {
    case WithdrawReason::kExpired:
      return "EXPIRED";
    case WithdrawReason::kCancelled:
      return "CANCELLED";
    case WithdrawReason::kTeamRemoved:
      return "TEAM_REMOVED";
  }
  return "UNKNOWN";
}

std::string_view unservable_reason_name(UnservableReason r) {
  switch (r) {
    case UnservableReason::kOutOfServiceArea:
      return "OUT_OF_SERVICE_AREA";
    case UnservableReason::kNoCapableTeam:
      return "NO_CAPABLE_TEAM";
    case UnservableReason::kNoTimeLeft:
      return "NO_TIME_LEFT";
  }
  return "UNKNOWN";
}

std::string_view event_status_name(EventStatus s) {
  switch (s) {
    case EventStatus::kOk:
      return "OK";
    case EventStatus::kUnknownTeam:
      return "UNKNOWN_TEAM";
    case EventStatus::kUnknownVisit:
      return "UNKNOWN_VISIT";
    case EventStatus::kUnknownOffer:
      return "UNKNOWN_OFFER";
    case EventStatus::kDuplicateId:
      return "DUPLICATE_ID";
    case EventStatus::kOfferNotPending:
      return "OFFER_NOT_PENDING";
    case EventStatus::kInvalidTransition:
      return "INVALID_TRANSITION";
    case EventStatus::kInvalidArgument:
      return "INVALID_ARGUMENT";
  }
  return "UNKNOWN";
}

std::string_view team_status_name(TeamStatus s) {
  switch (s) {
    case TeamStatus::kAvailable:
      return "AVAILABLE";
    case TeamStatus::kOffered:
      return "OFFERED";
    case TeamStatus::kBusy:
      return "BUSY";
    case TeamStatus::kOffShift:
      return "OFF_SHIFT";
  }
  return "UNKNOWN";
}

std::string_view visit_status_name(VisitStatus s) {
  switch (s) {
    case VisitStatus::kRequested:
      return "REQUESTED";
    case VisitStatus::kOffered:
      return "OFFERED";
    case VisitStatus::kAssigned:
      return "ASSIGNED";
    case VisitStatus::kEnRoute:
      return "EN_ROUTE";
    case VisitStatus::kOnSite:
      return "ON_SITE";
    case VisitStatus::kCompleted:
      return "COMPLETED";
    case VisitStatus::kCancelled:
      return "CANCELLED";
    case VisitStatus::kUnservable:
      return "UNSERVABLE";
  }
  return "UNKNOWN";
}

std::optional<PolicyKind> parse_policy_kind(std::string_view name) {
  if (name == "closest-idle") {
    return PolicyKind::kClosestIdle;
  }
  if (name == "optimal") {
    return PolicyKind::kOptimal;
  }
  if (name == "rolling") {
    return PolicyKind::kRolling;
  }
  return std::nullopt;
}

std::string_view policy_kind_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::kClosestIdle:
      return "closest-idle";
    case PolicyKind::kOptimal:
      return "optimal";
    case PolicyKind::kRolling:
      return "rolling";
  }
  return "unknown";
}

}  // namespace oshin::dispatcher
