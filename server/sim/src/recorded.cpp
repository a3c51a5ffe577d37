// Recorded nights: the core log → the simulator's input (see recorded.hpp).

#include "oshin/sim/recorded.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

#include "oshin/dispatcher/policy.hpp"
#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::sim {
namespace {

namespace v1 = oshin::v1;

d::TimePoint at_ms(std::int64_t ms) {
  return d::TimePoint(d::Duration(ms));
}

d::LatLon latlon(const v1::LatLon& p) {
  return d::LatLon{p.lat(), p.lon()};
}

d::SkillSet skills_of(const google::protobuf::RepeatedField<int>& skills) {
  d::SkillSet s;
  for (const int v : skills) {
    switch (static_cast<v1::Skill>(v)) {
      case v1::PEDIATRIC:
        s = s.with(d::Skill::kPediatric);
        break;
      case v1::PALLIATIVE:
        s = s.with(d::Skill::kPalliative);
        break;
      case v1::RESPIRATORY:
        s = s.with(d::Skill::kRespiratory);
        break;
      default:
        break;
    }
  }
  return s;
}

d::Reason reason_of(v1::VisitReason r) {
  switch (r) {
    case v1::END_OF_LIFE:
      return d::Reason::kEndOfLife;
    case v1::DEATH_CONFIRMATION:
      return d::Reason::kDeathConfirmation;
    case v1::OTHER:
      return d::Reason::kOther;
    default:
      return d::Reason::kAcuteChange;
  }
}

d::VisitRequest request_of(const v1::CoreVisit& v) {
  d::VisitRequest req;
  req.id = d::VisitId(v.core_id());
  req.requested_at = at_ms(v.requested_at_ms());
  req.location = latlon(v.location());
  req.urgency = v.urgency() == v1::SOON ? d::Urgency::kSoon : d::Urgency::kUrgent;
  req.reason = reason_of(v.reason());
  req.needed_skills = skills_of(v.needed_skills());
  return req;
}

d::TeamSpec spec_of(const v1::CoreTeam& t) {
  d::TeamSpec spec;
  spec.id = d::TeamId(t.core_id());
  spec.base = latlon(t.base());
  spec.shift_start = at_ms(t.shift_start_ms());
  spec.shift_end = at_ms(t.shift_end_ms());
  spec.allowed_overtime = d::Duration(t.allowed_overtime_ms());
  spec.skills = skills_of(t.skills());
  return spec;
}

// What the first pass learns about one visit (by core id).
struct VisitLife {
  d::VisitRequest request;
  std::string id;
  std::optional<d::TimePoint> offered_at;
  std::optional<d::TimePoint> accepted_at;
  std::optional<d::TimePoint> departed_at;
  std::optional<d::TimePoint> arrived_at;
  std::optional<d::TimePoint> completed_at;
  std::optional<std::uint64_t> team;  // core id of the accepting team
  std::optional<d::LatLon> from;
};

struct OfferLife {
  std::uint64_t visit{0};
  std::uint64_t team{0};
  d::TimePoint at;
  bool answered{false};
};

struct TeamLife {
  std::string id;
  d::TeamSpec spec;
  d::LatLon position;
  d::LatLon position_at_from;
  bool removed{false};
};

}  // namespace

ReplaySettings settings_from_config(const v1::ServerConfig& config) {
  ReplaySettings s;
  s.dispatcher.center = latlon(config.center().location());
  s.dispatcher.service_radius_km = config.service_radius_km();
  s.dispatcher.offer_timeout = std::chrono::seconds(config.offer_timeout_seconds());
  if (config.travel().has_circuity()) {
    s.travel.circuity = config.travel().circuity();
  }
  if (config.travel().has_speed_kmh()) {
    s.travel.speed_kmh = config.travel().speed_kmh();
  }
  if (config.travel().has_fixed_minutes()) {
    s.travel.fixed_minutes = config.travel().fixed_minutes();
  }
  if (config.has_dispatch_policy()) {
    s.server_policy = config.dispatch_policy();
  }
  return s;
}

std::optional<RecordedNight> night_from_core_log(const std::vector<v1::CoreEvent>& log,
                                                 d::TimePoint from, d::TimePoint to,
                                                 const ReplaySettings& settings,
                                                 std::string& error) {
  if (!(from < to)) {
    error = "--from must be before --to";
    return std::nullopt;
  }
  const auto kind = d::parse_policy_kind(settings.server_policy);
  if (!kind) {
    error = "unknown server policy " + settings.server_policy;
    return std::nullopt;
  }
  // First pass: the server's own dispatcher, fed the log exactly as on a restart.
  d::Dispatcher core(settings.dispatcher,
                     std::make_shared<d::HaversineTravelModel>(settings.travel),
                     d::make_policy(*kind));
  std::map<std::uint64_t, TeamLife> teams;
  std::map<std::string, std::uint64_t> team_core;
  std::map<std::uint64_t, VisitLife> visits;
  std::map<std::string, std::uint64_t> visit_core;
  std::map<std::uint64_t, OfferLife> offers;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<RecordedAnswer>> answers;
  std::vector<const v1::CoreEvent*> in_window;
  bool positions_taken = false;
  auto take_positions = [&] {
    for (auto& [id, t] : teams) {
      t.position_at_from = t.position;
    }
    positions_taken = true;
  };
  auto team_of = [&](const std::string& id) -> std::uint64_t {
    const auto it = team_core.find(id);
    return it == team_core.end() ? 0 : it->second;
  };
  auto visit_of = [&](const std::string& id) -> std::uint64_t {
    const auto it = visit_core.find(id);
    return it == visit_core.end() ? 0 : it->second;
  };
  auto answer = [&](std::uint64_t offer, RecordedAnswer::Kind k, d::TimePoint now) {
    auto it = offers.find(offer);
    if (it == offers.end() || it->second.answered) {
      return;
    }
    it->second.answered = true;
    answers[{it->second.visit, it->second.team}].push_back(RecordedAnswer{k, now - it->second.at});
  };
  for (const v1::CoreEvent& ev : log) {
    const d::TimePoint now = at_ms(ev.at_ms());
    if (!positions_taken && now >= from) {
      take_positions();
    }
    if (now >= from && now < to) {
      in_window.push_back(&ev);
    }
    d::Outcome outcome;
    switch (ev.event_case()) {
      case v1::CoreEvent::kTeamUpserted: {
        const auto& t = ev.team_upserted();
        team_core.emplace(t.team_id(), t.core_id());
        auto [it, fresh] = teams.try_emplace(t.core_id());
        it->second.id = t.team_id();
        it->second.spec = spec_of(t);
        it->second.removed = false;
        if (fresh) {
          it->second.position = it->second.spec.base;
          // A team that joins after the window opened starts it at its base.
          it->second.position_at_from = it->second.spec.base;
        }
        outcome = core.apply(d::TeamUpserted{it->second.spec}, now);
        break;
      }
      case v1::CoreEvent::kTeamRemoved: {
        const std::uint64_t t = team_of(ev.team_removed());
        if (auto it = teams.find(t); it != teams.end() && now < from) {
          it->second.removed = true;
        }
        outcome = core.apply(d::TeamRemoved{d::TeamId(t)}, now);
        break;
      }
      case v1::CoreEvent::kTeamLocation: {
        const std::uint64_t t = team_of(ev.team_location().team_id());
        const d::LatLon p = latlon(ev.team_location().location());
        if (auto it = teams.find(t); it != teams.end()) {
          it->second.position = p;
        }
        outcome = core.apply(d::TeamLocationUpdated{d::TeamId(t), p}, now);
        break;
      }
      case v1::CoreEvent::kVisitRequested: {
        const auto& v = ev.visit_requested();
        visit_core.emplace(v.visit_id(), v.core_id());
        VisitLife& life = visits[v.core_id()];
        life.request = request_of(v);
        life.id = v.visit_id();
        outcome = core.apply(d::VisitRequested{life.request}, now);
        break;
      }
      case v1::CoreEvent::kVisitCancelled:
        outcome = core.apply(d::VisitCancelled{d::VisitId(visit_of(ev.visit_cancelled()))}, now);
        break;
      case v1::CoreEvent::kOfferAccepted: {
        const std::uint64_t o = ev.offer_accepted();
        outcome = core.apply(d::OfferAccepted{d::OfferId(o)}, now);
        if (outcome.status == d::EventStatus::kOk) {
          answer(o, RecordedAnswer::Kind::kAccept, now);
          const OfferLife& offer = offers[o];
          VisitLife& life = visits[offer.visit];
          life.accepted_at = now;
          life.team = offer.team;
        }
        break;
      }
      case v1::CoreEvent::kOfferDeclined: {
        const std::uint64_t o = ev.offer_declined();
        outcome = core.apply(d::OfferDeclined{d::OfferId(o)}, now);
        if (outcome.status == d::EventStatus::kOk) {
          answer(o, RecordedAnswer::Kind::kDecline, now);
        }
        break;
      }
      case v1::CoreEvent::kVisitDeparted: {
        const std::uint64_t v = visit_of(ev.visit_departed());
        outcome = core.apply(d::VisitDeparted{d::VisitId(v)}, now);
        if (outcome.status == d::EventStatus::kOk) {
          VisitLife& life = visits[v];
          life.departed_at = now;
          if (life.team) {
            life.from = teams[*life.team].position;
          }
        }
        break;
      }
      case v1::CoreEvent::kVisitArrived: {
        const std::uint64_t v = visit_of(ev.visit_arrived());
        outcome = core.apply(d::VisitArrived{d::VisitId(v)}, now);
        if (outcome.status == d::EventStatus::kOk) {
          VisitLife& life = visits[v];
          life.arrived_at = now;
          if (life.team) {
            teams[*life.team].position = life.request.location;
          }
        }
        break;
      }
      case v1::CoreEvent::kVisitCompleted: {
        const std::uint64_t v = visit_of(ev.visit_completed());
        outcome = core.apply(d::VisitCompleted{d::VisitId(v)}, now);
        if (outcome.status == d::EventStatus::kOk) {
          visits[v].completed_at = now;
        }
        break;
      }
      case v1::CoreEvent::kTick:
      case v1::CoreEvent::EVENT_NOT_SET:
        outcome = core.apply(d::Tick{}, now);
        break;
    }
    for (const d::Decision& dec : outcome.decisions) {
      if (const auto* offer = std::get_if<d::OfferVisit>(&dec)) {
        offers[offer->offer.value()] = OfferLife{offer->visit.value(), offer->team.value(), now};
        VisitLife& life = visits[offer->visit.value()];
        if (!life.offered_at) {
          life.offered_at = now;
        }
      }
    }
  }
  if (!positions_taken) {
    take_positions();
  }
  // Offers never answered lapsed (or were withdrawn).
  for (const auto& [id, offer] : offers) {
    if (!offer.answered) {
      answers[{offer.visit, offer.team}].push_back(
          RecordedAnswer{RecordedAnswer::Kind::kLapse, {}});
    }
  }

  RecordedNight night;
  night.from = from;
  night.to = to;
  d::Scenario& s = night.scenario;
  s.center = settings.dispatcher.center;
  s.service_radius_km = settings.dispatcher.service_radius_km;
  s.travel = settings.travel;
  s.offer_timeout = settings.dispatcher.offer_timeout;
  s.expected_service = settings.dispatcher.default_expected_service;
  // Teams on shift during the window, in core id order.
  std::map<std::uint64_t, std::size_t> team_index;
  for (const auto& [core_id, t] : teams) {
    if (t.removed || t.spec.shift_end <= from || t.spec.shift_start >= to) {
      continue;
    }
    team_index[core_id] = s.teams.size();
    s.teams.push_back(
        d::ScenarioTeam{t.id, t.spec.base, t.spec.shift_start, t.spec.shift_end, t.spec.skills});
    s.allowed_overtime = std::max(s.allowed_overtime, t.spec.allowed_overtime);
    night.team_position.push_back(t.position_at_from);
    night.team_core_ids.push_back(core_id);
  }
  // Requests of the window, in log order, and the other window events.
  std::map<std::uint64_t, std::size_t> request_index;
  std::vector<d::Duration> accept_delays;
  std::size_t answered = 0;
  std::size_t declined = 0;
  for (const v1::CoreEvent* ev : in_window) {
    const d::TimePoint now = at_ms(ev->at_ms());
    Exogenous x;
    x.at = now;
    switch (ev->event_case()) {
      case v1::CoreEvent::kVisitRequested: {
        const std::uint64_t v = ev->visit_requested().core_id();
        if (request_index.count(v) != 0) {
          continue;
        }
        const VisitLife& life = visits[v];
        const std::size_t i = s.requests.size();
        request_index[v] = i;
        d::ScenarioRequest r;
        r.id = life.id;
        r.at = life.request.requested_at;
        r.location = life.request.location;
        r.urgency = life.request.urgency;
        r.reason = life.request.reason;
        r.skills = life.request.needed_skills;
        r.service = life.arrived_at && life.completed_at ? *life.completed_at - *life.arrived_at
                                                         : s.expected_service;
        s.requests.push_back(r);
        night.visit_ids.push_back(life.id);
        night.request_core_ids.push_back(v);
        d::TraceLine line;
        line.request = life.id;
        line.offered_at = life.offered_at;
        line.accepted_at = life.accepted_at;
        line.departed_at = life.departed_at;
        line.arrived_at = life.arrived_at;
        line.completed_at = life.completed_at;
        line.from = life.from;
        if (life.team && teams.count(*life.team) != 0) {
          line.team = teams[*life.team].id;
        }
        night.recorded.push_back(line);
        night.depart_delay.push_back(life.accepted_at && life.departed_at
                                         ? std::optional(*life.departed_at - *life.accepted_at)
                                         : std::nullopt);
        for (const auto& [team, idx] : team_index) {
          if (auto it = answers.find({v, team}); it != answers.end()) {
            night.answers[{i, idx}] = it->second;
            for (const RecordedAnswer& a : it->second) {
              if (a.kind == RecordedAnswer::Kind::kAccept) {
                accept_delays.push_back(a.after);
              }
              answered += a.kind == RecordedAnswer::Kind::kLapse ? 0U : 1U;
              declined += a.kind == RecordedAnswer::Kind::kDecline ? 1U : 0U;
            }
          }
        }
        x.kind = Exogenous::Kind::kRequest;
        x.index = i;
        break;
      }
      case v1::CoreEvent::kVisitCancelled: {
        const auto it = request_index.find(visit_of(ev->visit_cancelled()));
        if (it == request_index.end()) {
          continue;
        }
        x.kind = Exogenous::Kind::kCancel;
        x.index = it->second;
        break;
      }
      case v1::CoreEvent::kTeamLocation:
      case v1::CoreEvent::kTeamRemoved: {
        const bool location = ev->event_case() == v1::CoreEvent::kTeamLocation;
        const auto it =
            team_index.find(team_of(location ? ev->team_location().team_id() : ev->team_removed()));
        if (it == team_index.end()) {
          continue;
        }
        x.kind = location ? Exogenous::Kind::kLocation : Exogenous::Kind::kTeamRemoved;
        x.index = it->second;
        if (location) {
          x.location = latlon(ev->team_location().location());
        }
        break;
      }
      case v1::CoreEvent::kTick:
        x.kind = Exogenous::Kind::kTick;
        break;
      default:
        continue;  // answers and progress are behaviour, not input
    }
    night.exogenous.push_back(x);
  }
  if (s.requests.empty()) {
    error = "no recorded requests in the window";
    return std::nullopt;
  }
  if (!accept_delays.empty()) {
    std::sort(accept_delays.begin(), accept_delays.end());
    s.behavior.accept_delay = accept_delays[(accept_delays.size() - 1) / 2];
  }
  s.behavior.decline_probability =
      answered == 0 ? 0.0 : static_cast<double>(declined) / static_cast<double>(answered);
  return night;
}

std::vector<UrgencyFigures> urgency_figures(const d::Scenario& scenario,
                                            const std::vector<d::TraceLine>& trace) {
  std::vector<UrgencyFigures> out;
  for (const d::Urgency u : {d::Urgency::kUrgent, d::Urgency::kSoon}) {
    UrgencyFigures f;
    f.urgency = u;
    std::vector<double> minutes;
    std::size_t within = 0;
    for (std::size_t i = 0; i < scenario.requests.size() && i < trace.size(); ++i) {
      const d::ScenarioRequest& r = scenario.requests[i];
      if (r.urgency != u) {
        continue;
      }
      ++f.requests;
      if (!trace[i].arrived_at) {
        continue;
      }
      const d::Duration response = *trace[i].arrived_at - r.at;
      minutes.push_back(d::to_minutes(response));
      within += response <= d::target_response(u) ? 1U : 0U;
    }
    f.served = minutes.size();
    if (!minutes.empty()) {
      double sum = 0.0;
      for (const double m : minutes) {
        sum += m;
      }
      f.mean_min = sum / static_cast<double>(minutes.size());
      f.p50_min = d::nearest_rank(minutes, 50.0);
      f.p90_min = d::nearest_rank(minutes, 90.0);
      f.max_min = *std::max_element(minutes.begin(), minutes.end());
    }
    f.within_target =
        f.requests == 0 ? 0.0 : static_cast<double>(within) / static_cast<double>(f.requests);
    out.push_back(f);
  }
  return out;
}

}  // namespace oshin::sim
