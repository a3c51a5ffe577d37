#include "oshin/dispatcher/dispatcher.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace oshin::dispatcher {

struct Dispatcher::TeamState {
  TeamSpec spec;
  bool active{true};
  LatLon location;  // last known position
  Place place;
  Phase phase{Phase::kIdle};
  std::uint32_t visit{0};  // valid unless idle
  OfferId offer;           // valid when offered
  Duration leg{};          // driving time of the current leg from `place` (or from leg_start)
  TimePoint leg_start;     // en route: when the leg (or its last re-estimate) began
  TimePoint arrived_at;    // on site: arrival instant
  Place plan_place;        // where the team is when next free
};

struct Dispatcher::VisitState {
  VisitRequest request;
  Place place;
  Duration expected_service{};
  VisitStatus status{VisitStatus::kRequested};
  std::uint32_t team{0};  // valid when offered..completed
  OfferId offer;
  std::vector<TeamId> declined;         // sorted
  std::vector<std::int32_t> travel_ms;  // per team slot, only while in the pool
};

struct Dispatcher::OfferState {
  std::uint32_t visit{0};
  std::uint32_t team{0};
  TimePoint expires_at;
  bool pending{true};
};

namespace {

constexpr std::int32_t clamp_ms(Duration d) {
  return static_cast<std::int32_t>(
      std::clamp<std::int64_t>(d.count(), 0, std::numeric_limits<std::int32_t>::max() / 4));
}

}  // namespace

bool PlanningContext::allowed(const PlanVisit& v, const PlanTeam& t) const {
  if (!t.skills.covers(v.needed_skills)) {
    return false;
  }
  if (v.declines_bind && std::binary_search(v.declined.begin(), v.declined.end(), t.id)) {
    return false;
  }
  return true;
}

Dispatcher::Dispatcher(DispatcherConfig config, std::shared_ptr<const TravelModel> travel,
                       std::unique_ptr<Policy> policy)
    : config_(config),
      travel_(std::move(travel)),
      policy_(std::move(policy)),
      center_(config.center) {}

Dispatcher::~Dispatcher() = default;

Outcome Dispatcher::apply(const Event& event, TimePoint now) {
  Outcome outcome;
  out_ = &outcome.decisions;
  now_ = std::max(now_, now);
  expire_offers();
  outcome.status = std::visit([this](const auto& e) { return on(e); }, event);
  plan();
  out_ = nullptr;
  return outcome;
}

std::optional<TimePoint> Dispatcher::next_deadline() const {
  std::optional<TimePoint> next;
  if (!expiries_.empty()) {
    next = expiries_.begin()->first;
  }
  if (waiting_with_idle_) {
    const TimePoint replan = now_ + config_.replan_interval;
    if (!next || replan < *next) {
      next = replan;
    }
  }
  if (!open_.empty()) {
    for (const TeamState& t : teams_) {
      if (t.active && t.spec.shift_start > now_ && (!next || t.spec.shift_start < *next)) {
        next = t.spec.shift_start;
      }
    }
  }
  return next;
}

std::optional<TeamStatus> Dispatcher::team_status(TeamId team) const {
  const auto index = find_team(team);
  if (!index) {
    return std::nullopt;
  }
  const TeamState& t = teams_[*index];
  switch (t.phase) {
    case Phase::kOffered:
      return TeamStatus::kOffered;
    case Phase::kAssigned:
    case Phase::kEnRoute:
    case Phase::kOnSite:
      return TeamStatus::kBusy;
    case Phase::kIdle:
      break;
  }
  if (now_ < t.spec.shift_start || now_ >= t.spec.shift_end) {
    return TeamStatus::kOffShift;
  }
  return TeamStatus::kAvailable;
}

std::optional<VisitStatus> Dispatcher::visit_status(VisitId visit) const {
  const auto index = find_visit(visit);
  if (!index) {
    return std::nullopt;
  }
  return visits_[*index].status;
}

std::optional<TeamId> Dispatcher::visit_team(VisitId visit) const {
  const auto index = find_visit(visit);
  if (!index) {
    return std::nullopt;
  }
  const VisitState& v = visits_[*index];
  switch (v.status) {
    case VisitStatus::kOffered:
    case VisitStatus::kAssigned:
    case VisitStatus::kEnRoute:
    case VisitStatus::kOnSite:
    case VisitStatus::kCompleted:
      return teams_[v.team].spec.id;
    default:
      return std::nullopt;
  }
}

std::optional<std::uint32_t> Dispatcher::find_visit(VisitId id) const {
  const auto it = visit_index_.find(id);
  if (it == visit_index_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::uint32_t> Dispatcher::find_team(TeamId id) const {
  const auto it = team_index_.find(id);
  if (it == team_index_.end() || !teams_[it->second].active) {
    return std::nullopt;
  }
  return it->second;
}

// ---- events ---------------------------------------------------------------------------------

EventStatus Dispatcher::on(const TeamUpserted& e) {
  const TeamSpec& spec = e.team;
  if (!is_valid(spec.base) || spec.shift_end <= spec.shift_start ||
      spec.allowed_overtime < Duration::zero()) {
    return EventStatus::kInvalidArgument;
  }
  const auto it = team_index_.find(spec.id);
  if (it == team_index_.end()) {
    const auto slot = static_cast<std::uint32_t>(teams_.size());
    TeamState t;
    t.spec = spec;
    teams_.push_back(std::move(t));
    team_index_.emplace(spec.id, slot);
    set_team_place(slot, spec.base);
    return EventStatus::kOk;
  }
  TeamState& t = teams_[it->second];
  if (t.active && t.phase != Phase::kIdle) {
    return EventStatus::kInvalidTransition;
  }
  const bool was_active = t.active;
  t.spec = spec;
  t.active = true;
  if (!was_active) {
    set_team_place(it->second, spec.base);
  } else {
    dirty_teams_.push_back(it->second);
  }
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const TeamRemoved& e) {
  const auto index = find_team(e.team);
  if (!index) {
    return EventStatus::kUnknownTeam;
  }
  TeamState& t = teams_[*index];
  if (t.phase == Phase::kOffered) {
    const std::uint32_t visit = t.visit;
    end_offer(t.offer, false, WithdrawReason::kTeamRemoved);
    return_to_pool(visit);
  } else if (t.phase != Phase::kIdle) {
    return EventStatus::kInvalidTransition;
  }
  t.active = false;
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const TeamLocationUpdated& e) {
  const auto index = find_team(e.team);
  if (!index) {
    return EventStatus::kUnknownTeam;
  }
  if (!is_valid(e.location)) {
    return EventStatus::kInvalidArgument;
  }
  TeamState& t = teams_[*index];
  switch (t.phase) {
    case Phase::kIdle:
      set_team_place(*index, e.location);
      break;
    case Phase::kOffered:
    case Phase::kAssigned:
      t.location = e.location;
      t.place = travel_->make_place(e.location);
      t.leg = travel_->travel(t.place, visits_[t.visit].place);
      break;
    case Phase::kEnRoute:
      t.location = e.location;
      t.place = travel_->make_place(e.location);
      t.leg = travel_->travel(t.place, visits_[t.visit].place);
      t.leg_start = now_;
      break;
    case Phase::kOnSite:
      break;  // the team is at the patient's home whatever its devices say
  }
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const VisitRequested& e) {
  const VisitRequest& r = e.request;
  if (visit_index_.contains(r.id)) {
    return EventStatus::kDuplicateId;
  }
  if (!is_valid(r.location) || r.requested_at > now_ ||
      (r.expected_service && *r.expected_service < Duration::zero())) {
    return EventStatus::kInvalidArgument;
  }
  const auto index = static_cast<std::uint32_t>(visits_.size());
  VisitState v;
  v.request = r;
  v.place = travel_->make_place(r.location);
  v.expected_service = r.expected_service.value_or(config_.default_expected_service);
  const double km = v.place.geo.distance_km(center_);
  visits_.push_back(std::move(v));
  visit_index_.emplace(r.id, index);
  if (km > config_.service_radius_km) {
    visits_[index].status = VisitStatus::kUnservable;
    out_->push_back(MarkUnservable{r.id, UnservableReason::kOutOfServiceArea});
    return EventStatus::kOk;
  }
  return_to_pool(index);
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const VisitCancelled& e) {
  const auto index = find_visit(e.visit);
  if (!index) {
    return EventStatus::kUnknownVisit;
  }
  VisitState& v = visits_[*index];
  switch (v.status) {
    case VisitStatus::kRequested:
      leave_pool(*index);
      break;
    case VisitStatus::kOffered:
      end_offer(v.offer, false, WithdrawReason::kCancelled);
      break;
    case VisitStatus::kAssigned:
    case VisitStatus::kEnRoute: {
      TeamState& t = teams_[v.team];
      t.phase = Phase::kIdle;
      t.plan_place = t.place;
      dirty_teams_.push_back(v.team);
      break;
    }
    default:
      return EventStatus::kInvalidTransition;
  }
  v.status = VisitStatus::kCancelled;
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const OfferAccepted& e) {
  const auto it = offers_.find(e.offer);
  if (it == offers_.end()) {
    return EventStatus::kUnknownOffer;
  }
  OfferState& o = it->second;
  if (!o.pending) {
    return EventStatus::kOfferNotPending;
  }
  o.pending = false;
  expiries_.erase({o.expires_at, e.offer});
  teams_[o.team].phase = Phase::kAssigned;
  visits_[o.visit].status = VisitStatus::kAssigned;
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const OfferDeclined& e) {
  const auto it = offers_.find(e.offer);
  if (it == offers_.end()) {
    return EventStatus::kUnknownOffer;
  }
  if (!it->second.pending) {
    return EventStatus::kOfferNotPending;
  }
  const std::uint32_t visit = it->second.visit;
  end_offer(e.offer, true, std::nullopt);
  return_to_pool(visit);
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const VisitDeparted& e) {
  const auto index = find_visit(e.visit);
  if (!index) {
    return EventStatus::kUnknownVisit;
  }
  VisitState& v = visits_[*index];
  if (v.status != VisitStatus::kAssigned) {
    return EventStatus::kInvalidTransition;
  }
  v.status = VisitStatus::kEnRoute;
  TeamState& t = teams_[v.team];
  t.phase = Phase::kEnRoute;
  t.leg_start = now_;
  t.leg = travel_->travel(t.place, v.place);
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const VisitArrived& e) {
  const auto index = find_visit(e.visit);
  if (!index) {
    return EventStatus::kUnknownVisit;
  }
  VisitState& v = visits_[*index];
  if (v.status != VisitStatus::kEnRoute) {
    return EventStatus::kInvalidTransition;
  }
  v.status = VisitStatus::kOnSite;
  TeamState& t = teams_[v.team];
  t.phase = Phase::kOnSite;
  t.arrived_at = now_;
  t.location = v.request.location;
  t.place = v.place;
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const VisitCompleted& e) {
  const auto index = find_visit(e.visit);
  if (!index) {
    return EventStatus::kUnknownVisit;
  }
  VisitState& v = visits_[*index];
  if (v.status != VisitStatus::kOnSite) {
    return EventStatus::kInvalidTransition;
  }
  v.status = VisitStatus::kCompleted;
  TeamState& t = teams_[v.team];
  t.phase = Phase::kIdle;
  t.plan_place = t.place;
  dirty_teams_.push_back(v.team);
  return EventStatus::kOk;
}

EventStatus Dispatcher::on(const Tick&) {
  return EventStatus::kOk;
}

// ---- state helpers --------------------------------------------------------------------------

void Dispatcher::expire_offers() {
  while (!expiries_.empty() && expiries_.begin()->first <= now_) {
    const OfferId offer = expiries_.begin()->second;
    const std::uint32_t visit = offers_[offer].visit;
    end_offer(offer, true, WithdrawReason::kExpired);
    return_to_pool(visit);
  }
}

void Dispatcher::end_offer(OfferId offer, bool declined, std::optional<WithdrawReason> withdraw) {
  OfferState& o = offers_[offer];
  o.pending = false;
  expiries_.erase({o.expires_at, offer});
  TeamState& t = teams_[o.team];
  t.phase = Phase::kIdle;
  t.plan_place = t.place;
  dirty_teams_.push_back(o.team);
  VisitState& v = visits_[o.visit];
  if (declined) {
    const auto pos = std::lower_bound(v.declined.begin(), v.declined.end(), t.spec.id);
    if (pos == v.declined.end() || *pos != t.spec.id) {
      v.declined.insert(pos, t.spec.id);
    }
  }
  if (withdraw) {
    out_->push_back(WithdrawOffer{offer, v.request.id, t.spec.id, *withdraw});
  }
}

void Dispatcher::return_to_pool(std::uint32_t visit) {
  VisitState& v = visits_[visit];
  v.status = VisitStatus::kRequested;
  const auto pos =
      std::lower_bound(open_.begin(), open_.end(), visit, [this](std::uint32_t a, std::uint32_t b) {
        return visits_[a].request.id < visits_[b].request.id;
      });
  open_.insert(pos, visit);
  v.travel_ms.assign(teams_.size(), 0);
  for (std::size_t slot = 0; slot < teams_.size(); ++slot) {
    if (teams_[slot].active) {
      v.travel_ms[slot] = clamp_ms(travel_->travel(teams_[slot].plan_place, v.place));
    }
  }
}

void Dispatcher::leave_pool(std::uint32_t visit) {
  const auto pos = std::find(open_.begin(), open_.end(), visit);
  if (pos != open_.end()) {
    open_.erase(pos);
  }
  std::vector<std::int32_t>().swap(visits_[visit].travel_ms);
}

void Dispatcher::set_team_place(std::uint32_t team, LatLon where) {
  TeamState& t = teams_[team];
  t.location = where;
  t.place = travel_->make_place(where);
  t.plan_place = t.place;
  dirty_teams_.push_back(team);
}

void Dispatcher::refresh_travel_cache() {
  if (dirty_teams_.empty()) {
    return;
  }
  std::sort(dirty_teams_.begin(), dirty_teams_.end());
  dirty_teams_.erase(std::unique(dirty_teams_.begin(), dirty_teams_.end()), dirty_teams_.end());
  for (const std::uint32_t index : open_) {
    VisitState& v = visits_[index];
    if (v.travel_ms.size() < teams_.size()) {
      v.travel_ms.resize(teams_.size(), 0);
    }
    for (const std::uint32_t slot : dirty_teams_) {
      v.travel_ms[slot] = clamp_ms(travel_->travel(teams_[slot].plan_place, v.place));
    }
  }
  dirty_teams_.clear();
}

TimePoint Dispatcher::team_available_at(const TeamState& t) const {
  TimePoint at = now_;
  switch (t.phase) {
    case Phase::kIdle:
      break;
    case Phase::kOffered:
    case Phase::kAssigned:
      at = now_ + t.leg + visits_[t.visit].expected_service;
      break;
    case Phase::kEnRoute:
      at = std::max(now_, t.leg_start + t.leg) + visits_[t.visit].expected_service;
      break;
    case Phase::kOnSite:
      at = std::max(now_, t.arrived_at + visits_[t.visit].expected_service);
      break;
  }
  return std::max(at, t.spec.shift_start);
}

bool Dispatcher::optimistic_can_serve(const VisitState& v, const TeamState& t) const {
  if (!t.active || !t.spec.skills.covers(v.request.needed_skills)) {
    return false;
  }
  const std::size_t slot = static_cast<std::size_t>(&t - teams_.data());
  const TimePoint arrival =
      std::max(now_, t.spec.shift_start) + config_.offer_timeout + Duration(v.travel_ms[slot]);
  return arrival <= t.spec.shift_end &&
         arrival + v.expected_service <= t.spec.shift_end + t.spec.allowed_overtime;
}

void Dispatcher::check_unservable() {
  for (std::size_t i = 0; i < open_.size();) {
    const std::uint32_t index = open_[i];
    VisitState& v = visits_[index];
    bool capable = false;
    bool in_time = false;
    for (const TeamState& t : teams_) {
      if (t.active && t.spec.skills.covers(v.request.needed_skills)) {
        capable = true;
        if (optimistic_can_serve(v, t)) {
          in_time = true;
          break;
        }
      }
    }
    if (in_time) {
      ++i;
      continue;
    }
    v.status = VisitStatus::kUnservable;
    out_->push_back(MarkUnservable{
        v.request.id, capable ? UnservableReason::kNoTimeLeft : UnservableReason::kNoCapableTeam});
    leave_pool(index);
  }
}

void Dispatcher::plan() {
  refresh_travel_cache();
  check_unservable();
  waiting_with_idle_ = false;
  if (open_.empty()) {
    return;
  }
  plan_teams_.clear();
  for (const auto& [id, slot] : team_index_) {
    const TeamState& t = teams_[slot];
    if (!t.active) {
      continue;
    }
    PlanTeam p;
    p.id = id;
    p.slot = slot;
    p.available_at = team_available_at(t);
    if (p.available_at >= t.spec.shift_end) {
      continue;
    }
    p.place = &t.plan_place;
    p.shift_start = t.spec.shift_start;
    p.shift_end = t.spec.shift_end;
    p.allowed_overtime = t.spec.allowed_overtime;
    p.skills = t.spec.skills;
    p.idle = t.phase == Phase::kIdle && t.spec.shift_start <= now_;
    plan_teams_.push_back(p);
  }
  plan_visits_.clear();
  plan_visit_index_.clear();
  for (const std::uint32_t index : open_) {
    const VisitState& v = visits_[index];
    PlanVisit p;
    p.id = v.request.id;
    p.requested_at = v.request.requested_at;
    p.urgency = v.request.urgency;
    p.needed_skills = v.request.needed_skills;
    p.expected_service = v.expected_service;
    p.place = &v.place;
    p.travel_ms = v.travel_ms.data();
    p.declined = v.declined;
    if (!v.declined.empty()) {
      for (const TeamState& t : teams_) {
        if (!std::binary_search(v.declined.begin(), v.declined.end(), t.spec.id) &&
            optimistic_can_serve(v, t)) {
          p.declines_bind = true;
          break;
        }
      }
    }
    plan_visits_.push_back(p);
    plan_visit_index_.push_back(index);
  }
  PlanningContext ctx;
  ctx.now = now_;
  ctx.teams = plan_teams_;
  ctx.visits = plan_visits_;
  ctx.travel = travel_.get();
  ctx.weights = config_.weights;
  ctx.offer_allowance = config_.offer_timeout;
  const std::vector<Assignment> chosen = policy_->decide(ctx);

  // Validate every pair: a policy bug must not break an invariant.
  std::vector<std::uint32_t> offered_visits;
  std::vector<std::uint32_t> offered_teams;
  for (const Assignment& a : chosen) {
    if (a.visit >= plan_visits_.size() || a.team >= plan_teams_.size()) {
      continue;
    }
    const PlanVisit& v = plan_visits_[a.visit];
    const PlanTeam& t = plan_teams_[a.team];
    if (!t.idle ||
        std::find(offered_visits.begin(), offered_visits.end(), a.visit) != offered_visits.end() ||
        std::find(offered_teams.begin(), offered_teams.end(), a.team) != offered_teams.end()) {
      continue;
    }
    if (!ctx.allowed(v, t)) {
      continue;
    }
    const Duration leg = ctx.first_leg(v, t);
    if (!ctx.fits_shift(t, now_ + leg, v.expected_service)) {
      continue;
    }
    offered_visits.push_back(a.visit);
    offered_teams.push_back(a.team);
  }
  for (std::size_t i = 0; i < offered_visits.size(); ++i) {
    const std::uint32_t visit = plan_visit_index_[offered_visits[i]];
    const std::uint32_t team = plan_teams_[offered_teams[i]].slot;
    make_offer(visit, team, travel_->travel(teams_[team].place, visits_[visit].place));
  }
  if (!open_.empty()) {
    for (const PlanTeam& t : plan_teams_) {
      if (t.idle &&
          std::find(offered_teams.begin(), offered_teams.end(),
                    static_cast<std::uint32_t>(&t - plan_teams_.data())) == offered_teams.end()) {
        waiting_with_idle_ = true;
        break;
      }
    }
  }
}

void Dispatcher::make_offer(std::uint32_t visit, std::uint32_t team, Duration leg) {
  const OfferId id(next_offer_++);
  const TimePoint expires_at = now_ + config_.offer_timeout;
  offers_.emplace(id, OfferState{visit, team, expires_at, true});
  expiries_.emplace(expires_at, id);
  TeamState& t = teams_[team];
  VisitState& v = visits_[visit];
  t.phase = Phase::kOffered;
  t.visit = visit;
  t.offer = id;
  t.leg = leg;
  t.plan_place = v.place;
  dirty_teams_.push_back(team);
  v.status = VisitStatus::kOffered;
  v.team = team;
  v.offer = id;
  leave_pool(visit);
  out_->push_back(OfferVisit{id, v.request.id, t.spec.id, now_ + leg, expires_at});
}

}  // namespace oshin::dispatcher
