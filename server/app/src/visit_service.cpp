#include "oshin/app/visit_service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cmath>
#include <future>
#include <set>

#include "oshin/app/records.hpp"
#include "oshin/app/token.hpp"
#include "oshin/billing/billing.hpp"
#include "oshin/billing/holidays.hpp"
#include "oshin/delivery/webhook_outbox.hpp"
#include "oshin/dispatcher/geo.hpp"
#include "oshin/dispatcher/travel_model.hpp"
#include "oshin/fhir/visit_bundle.hpp"
#include "oshin/http/codec.hpp"
#include "oshin/v1/error.pb.h"
#include "oshin/v1/stream.pb.h"

namespace oshin::app {
namespace {

// Set by load() around its one commit: the io_context is not running yet, so that commit's
// continuation must run on the store's completion thread instead of being posted to it.
thread_local bool t_answer_inline = false;

namespace dp = oshin::dispatcher;

constexpr std::string_view kTeam = "team";
constexpr std::string_view kVisit = "visit";
constexpr std::string_view kOffer = "offer";
constexpr std::string_view kOfferEnded = "offer_ended";
constexpr std::string_view kSummary = "summary";
constexpr std::string_view kInbox = "inbox";
constexpr const char* kCoreStream = "core";
constexpr std::size_t kLogPage = 2048;

Failure fail(Errc code, std::string message = {}, std::string field = {}) {
  if (message.empty()) {
    message = std::string(default_message(code));
  }
  return Failure{code, std::move(message), std::move(field), {}};
}

Failure commit_failure(const boost::system::error_code& ec) {
  Errc code = to_errc(ec);
  return fail(code == Errc::ok ? Errc::internal : code);
}

dp::TimePoint core_time(std::int64_t ms) {
  return dp::TimePoint(dp::Duration(ms));
}
SystemTime system_time(dp::TimePoint t) {
  return from_unix_ms(t.time_since_epoch().count());
}

dp::SkillSet skills_of(const google::protobuf::RepeatedField<int>& skills) {
  dp::SkillSet s;
  for (int v : skills) {
    switch (static_cast<v1::Skill>(v)) {
      case v1::PEDIATRIC:
        s = s.with(dp::Skill::kPediatric);
        break;
      case v1::PALLIATIVE:
        s = s.with(dp::Skill::kPalliative);
        break;
      case v1::RESPIRATORY:
        s = s.with(dp::Skill::kRespiratory);
        break;
      default:
        break;
    }
  }
  return s;
}

bool active_status(v1::Visit::Status s) {
  return s == v1::Visit::ASSIGNED || s == v1::Visit::EN_ROUTE || s == v1::Visit::ON_SITE;
}

Failure from_event_status(dp::EventStatus s) {
  switch (s) {
    case dp::EventStatus::kOk:
      return fail(Errc::internal);
    case dp::EventStatus::kUnknownTeam:
    case dp::EventStatus::kUnknownVisit:
    case dp::EventStatus::kUnknownOffer:
      return fail(Errc::not_found);
    case dp::EventStatus::kDuplicateId:
      return fail(Errc::already_exists);
    case dp::EventStatus::kOfferNotPending:
      return fail(Errc::offer_not_pending, "the offer is no longer pending");
    case dp::EventStatus::kInvalidTransition:
      return fail(Errc::invalid_transition);
    case dp::EventStatus::kInvalidArgument:
      return fail(Errc::invalid_argument);
  }
  return fail(Errc::internal);
}

v1::OfferWithdrawn::Reason withdraw_reason(dp::WithdrawReason r) {
  switch (r) {
    case dp::WithdrawReason::kExpired:
      return v1::OfferWithdrawn::EXPIRED;
    case dp::WithdrawReason::kCancelled:
      return v1::OfferWithdrawn::CANCELLED;
    case dp::WithdrawReason::kTeamRemoved:
      return v1::OfferWithdrawn::REASSIGNED;
  }
  return v1::OfferWithdrawn::REASON_UNSPECIFIED;
}

std::string offer_id_of(dp::OfferId id) {
  return "ofr_" + std::to_string(id.value());
}

std::optional<dp::OfferId> core_offer_id(const std::string& id) {
  if (id.size() < 5 || id.size() > 24 || id.rfind("ofr_", 0) != 0) {
    return std::nullopt;
  }
  std::uint64_t v = 0;
  for (char c : id.substr(4)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return dp::OfferId(v);
}

/// Minutes since local midnight of an "HH:MM" text; -1 when malformed.
int parse_hhmm(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') {
    return -1;
  }
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h < 0 || h > 23 || m < 0 || m > 59) {
    return -1;
  }
  return h * 60 + m;
}

}  // namespace

/// Everything the service knows. work_ (strand only) includes changes whose commit is in flight;
/// view_ holds committed state only.
struct VisitService::State {
  std::unique_ptr<dp::Dispatcher> core;  // work_ only
  std::map<std::string, v1::Team> teams;
  // Shared with the other state and with in-flight Changes (see VisitPtr): one copy per visit.
  std::map<std::string, VisitPtr> visits;
  std::map<std::string, v1::Offer> offers;            // pending
  std::map<std::string, v1::Offer> ended_offers;      // answered, expired or withdrawn
  std::map<std::string, v1::VisitSummary> summaries;  // by visit id
  std::map<std::string, v1::InboxItem> inbox;
  std::map<std::string, std::uint64_t> team_core;
  std::map<std::uint64_t, std::string> team_by_core;
  std::map<std::string, std::uint64_t> visit_core;
  std::map<std::uint64_t, std::string> visit_by_core;
  std::uint64_t next_team_core = 1;
  std::uint64_t next_visit_core = 1;

  void copy_records_from(const State& o) {
    teams = o.teams;
    visits = o.visits;
    offers = o.offers;
    ended_offers = o.ended_offers;
    summaries = o.summaries;
    inbox = o.inbox;
  }
};

/// The consequences of one operation, committed together.
struct VisitService::Change {
  SystemTime now;
  std::vector<v1::CoreEvent> core_events;
  std::vector<storage::Mutation> mutations;  // audit, idempotency, ...
  std::vector<stream::OutgoingEvent> events;
  std::map<std::string, v1::Team> teams;
  std::map<std::string, VisitPtr> visits;
  std::map<std::string, std::optional<v1::Offer>> offers;  // nullopt: no longer pending
  std::map<std::string, v1::Offer> ended_offers;
  std::map<std::string, v1::VisitSummary> summaries;
  std::map<std::string, v1::InboxItem> inbox;
  std::vector<v1::WebhookDelivery> webhooks;
};

VisitService::VisitService(boost::asio::io_context& ioc, storage::Store& store, const Clock& clock,
                           AccountService& accounts, PatientService& patients,
                           stream::StreamHub& hub, delivery::WebhookOutbox* webhooks,
                           ServerMetrics& metrics, v1::ServerConfig config)
    : ioc_(ioc),
      strand_(boost::asio::make_strand(ioc)),
      store_(store),
      clock_(clock),
      accounts_(accounts),
      patients_(patients),
      hub_(hub),
      webhooks_(webhooks),
      metrics_(metrics),
      config_(std::move(config)),
      work_(std::make_unique<State>()),
      view_(std::make_unique<State>()),
      core_timer_(strand_),
      ack_timer_(strand_) {}

VisitService::~VisitService() = default;

dispatcher::TravelParams travel_params(const v1::ServerConfig& config) {
  dispatcher::TravelParams tp;
  if (config.travel().has_circuity()) {
    tp.circuity = config.travel().circuity();
  }
  if (config.travel().has_speed_kmh()) {
    tp.speed_kmh = config.travel().speed_kmh();
  }
  if (config.travel().has_fixed_minutes()) {
    tp.fixed_minutes = config.travel().fixed_minutes();
  }
  return tp;
}

namespace {

std::unique_ptr<dp::Dispatcher> make_core(const v1::ServerConfig& config) {
  dp::DispatcherConfig dc;
  dc.center = dp::LatLon{config.center().location().lat(), config.center().location().lon()};
  dc.service_radius_km = config.service_radius_km();
  dc.offer_timeout = std::chrono::seconds(config.offer_timeout_seconds());
  dp::TravelParams tp = travel_params(config);
  auto kind = dp::parse_policy_kind(config.has_dispatch_policy() ? config.dispatch_policy()
                                                                 : std::string("rolling"));
  return std::make_unique<dp::Dispatcher>(dc, std::make_shared<dp::HaversineTravelModel>(tp),
                                          dp::make_policy(kind.value_or(dp::PolicyKind::kRolling)));
}

// Inbox items by a timestamp field, then by id.
void sort_items_by(v1::InboxList& list,
                   const google::protobuf::Timestamp& (v1::InboxItem::*field)() const) {
  std::sort(list.mutable_items()->begin(), list.mutable_items()->end(),
            [field](const v1::InboxItem& a, const v1::InboxItem& b) {
              auto ta = from_timestamp((a.*field)());
              auto tb = from_timestamp((b.*field)());
              return ta != tb ? ta < tb : a.id() < b.id();
            });
}

}  // namespace

Result<void> VisitService::load() {
  State& v = *view_;
  auto r = load_records<v1::Team>(store_, kTeam, [&](v1::Team t) {
    auto id = t.id();
    v.teams[id] = std::move(t);
  });
  if (r) {
    r = load_records<v1::Visit>(store_, kVisit, [&](v1::Visit x) {
      auto id = x.id();
      v.visits[id] = std::make_shared<const v1::Visit>(std::move(x));
    });
  }
  if (r) {
    r = load_records<v1::Offer>(store_, kOffer, [&](v1::Offer o) {
      auto id = o.id();
      v.offers[id] = std::move(o);
    });
  }
  if (r) {
    r = load_records<v1::Offer>(store_, kOfferEnded, [&](v1::Offer o) {
      auto id = o.id();
      v.ended_offers[id] = std::move(o);
    });
  }
  if (r) {
    r = load_records<v1::VisitSummary>(store_, kSummary, [&](v1::VisitSummary s) {
      auto id = s.visit_id();
      v.summaries[id] = std::move(s);
    });
  }
  if (r) {
    r = load_records<v1::InboxItem>(store_, kInbox, [&](v1::InboxItem i) {
      auto id = i.id();
      v.inbox[id] = std::move(i);
    });
  }
  if (!r) {
    return r;
  }
  work_->copy_records_from(v);
  if (auto replayed = replay_core_log(*work_); !replayed) {
    return replayed;
  }
  // Teams stored without a core event (seeded data) join the core now, durably.
  auto change = std::make_unique<Change>();
  change->now = clock_.now();
  for (auto& [id, team] : work_->teams) {
    if (work_->team_core.count(id) != 0) {
      continue;
    }
    v1::CoreEvent ev;
    ev.set_at_ms(to_unix_ms(change->now));
    auto* ct = ev.mutable_team_upserted();
    ct->set_team_id(id);
    ct->set_core_id(work_->next_team_core);
    *ct->mutable_base() = team.base();
    ct->set_shift_start_ms(to_unix_ms(from_timestamp(team.shift_start())));
    ct->set_shift_end_ms(to_unix_ms(from_timestamp(team.shift_end())));
    ct->set_allowed_overtime_ms(std::int64_t{config_.allowed_overtime_minutes()} * 60000);
    for (int s : team.skills()) {
      ct->add_skills(static_cast<v1::Skill>(s));
    }
    auto outcome = apply_core(*work_, ev, false);
    change->core_events.push_back(ev);
    absorb(outcome, change->now, *change);
  }
  if (change->core_events.empty()) {
    return {};
  }
  sync_team_statuses(change->now, *change);
  std::promise<Result<void>> done;
  auto fut = done.get_future();
  {
    // The io_context does not run yet: this commit must answer on the completion thread.
    t_answer_inline = true;
    commit(std::move(change), [&done](Result<void> res) { done.set_value(res); });
    t_answer_inline = false;
  }
  return fut.get();
}

Result<void> VisitService::replay_core_log(State& state) {
  state.core = make_core(config_);
  state.team_core.clear();
  state.team_by_core.clear();
  state.visit_core.clear();
  state.visit_by_core.clear();
  state.next_team_core = 1;
  state.next_visit_core = 1;
  std::int64_t after = 0;
  for (;;) {
    auto page = store_.events_after(after, kCoreStream, kLogPage);
    if (!page) {
      return page.error();
    }
    for (const auto& e : *page) {
      v1::CoreEvent ev;
      if (!ev.ParseFromString(e.payload)) {
        return Errc::internal;
      }
      (void)apply_core(state, ev, true);
      after = e.seq;
    }
    if (page->size() < kLogPage) {
      break;
    }
  }
  // Offers made from now on use the configured timeout (the log may have ended under another).
  state.core->set_offer_timeout(std::chrono::seconds(config_.offer_timeout_seconds()));
  return {};
}

dp::Outcome VisitService::apply_core(State& s, const v1::CoreEvent& ev, bool replaying) {
  auto now = core_time(ev.at_ms());
  if (replaying) {
    // The timeout the event was applied under live; events logged before it was recorded: the
    // configured one.
    s.core->set_offer_timeout(ev.offer_timeout_ms() > 0 ? dp::Duration(ev.offer_timeout_ms())
                                                        : dp::Duration(std::chrono::seconds(
                                                              config_.offer_timeout_seconds())));
  }
  auto team_of = [&](const std::string& id) {
    auto it = s.team_core.find(id);
    return dp::TeamId(it == s.team_core.end() ? 0 : it->second);
  };
  auto visit_of = [&](const std::string& id) {
    auto it = s.visit_core.find(id);
    return dp::VisitId(it == s.visit_core.end() ? 0 : it->second);
  };
  switch (ev.event_case()) {
    case v1::CoreEvent::kTeamUpserted: {
      const auto& t = ev.team_upserted();
      if (s.team_core.count(t.team_id()) == 0) {
        s.team_core[t.team_id()] = t.core_id();
        s.team_by_core[t.core_id()] = t.team_id();
        s.next_team_core = std::max(s.next_team_core, t.core_id() + 1);
      }
      dp::TeamSpec spec;
      spec.id = dp::TeamId(t.core_id());
      spec.base = dp::LatLon{t.base().lat(), t.base().lon()};
      spec.shift_start = core_time(t.shift_start_ms());
      spec.shift_end = core_time(t.shift_end_ms());
      spec.allowed_overtime = dp::Duration(t.allowed_overtime_ms());
      spec.skills = skills_of(t.skills());
      return s.core->apply(dp::TeamUpserted{spec}, now);
    }
    case v1::CoreEvent::kTeamRemoved:
      return s.core->apply(dp::TeamRemoved{team_of(ev.team_removed())}, now);
    case v1::CoreEvent::kTeamLocation:
      return s.core->apply(dp::TeamLocationUpdated{team_of(ev.team_location().team_id()),
                                                   dp::LatLon{ev.team_location().location().lat(),
                                                              ev.team_location().location().lon()}},
                           now);
    case v1::CoreEvent::kVisitRequested: {
      const auto& v = ev.visit_requested();
      if (s.visit_core.count(v.visit_id()) == 0) {
        s.visit_core[v.visit_id()] = v.core_id();
        s.visit_by_core[v.core_id()] = v.visit_id();
        s.next_visit_core = std::max(s.next_visit_core, v.core_id() + 1);
      }
      dp::VisitRequest req;
      req.id = dp::VisitId(v.core_id());
      req.requested_at = core_time(v.requested_at_ms());
      req.location = dp::LatLon{v.location().lat(), v.location().lon()};
      req.urgency = v.urgency() == v1::SOON ? dp::Urgency::kSoon : dp::Urgency::kUrgent;
      switch (v.reason()) {
        case v1::END_OF_LIFE:
          req.reason = dp::Reason::kEndOfLife;
          break;
        case v1::DEATH_CONFIRMATION:
          req.reason = dp::Reason::kDeathConfirmation;
          break;
        case v1::OTHER:
          req.reason = dp::Reason::kOther;
          break;
        default:
          req.reason = dp::Reason::kAcuteChange;
          break;
      }
      req.needed_skills = skills_of(v.needed_skills());
      return s.core->apply(dp::VisitRequested{req}, now);
    }
    case v1::CoreEvent::kVisitCancelled:
      return s.core->apply(dp::VisitCancelled{visit_of(ev.visit_cancelled())}, now);
    case v1::CoreEvent::kOfferAccepted:
      return s.core->apply(dp::OfferAccepted{dp::OfferId(ev.offer_accepted())}, now);
    case v1::CoreEvent::kOfferDeclined:
      return s.core->apply(dp::OfferDeclined{dp::OfferId(ev.offer_declined())}, now);
    case v1::CoreEvent::kVisitDeparted:
      return s.core->apply(dp::VisitDeparted{visit_of(ev.visit_departed())}, now);
    case v1::CoreEvent::kVisitArrived:
      return s.core->apply(dp::VisitArrived{visit_of(ev.visit_arrived())}, now);
    case v1::CoreEvent::kVisitCompleted:
      return s.core->apply(dp::VisitCompleted{visit_of(ev.visit_completed())}, now);
    case v1::CoreEvent::kTick:
    case v1::CoreEvent::EVENT_NOT_SET:
      break;
  }
  return s.core->apply(dp::Tick{}, now);
}

std::vector<std::string> VisitService::team_members(const std::string& team_id) const {
  auto it = work_->teams.find(team_id);
  if (it == work_->teams.end()) {
    return {};
  }
  std::vector<std::string> out{it->second.doctor_id(), it->second.driver_id()};
  return out;
}

std::vector<std::string> VisitService::teams_of(const std::string& user_id) const {
  std::vector<std::string> out;
  for (const auto& [id, t] : work_->teams) {
    if (t.doctor_id() == user_id || t.driver_id() == user_id) {
      out.push_back(id);
    }
  }
  return out;
}

void VisitService::visit_updated_event(const v1::Visit& visit, SystemTime now, Change& change) {
  // The requester's organization and STAFF as one stream each (read by every member), the team's
  // doctor and driver by account: four rows, however many accounts read them.
  std::vector<std::string> to;
  to.reserve(4);
  if (!visit.requesting_organization_id().empty()) {
    to.push_back(stream::organization_stream(visit.requesting_organization_id()));
  }
  to.emplace_back(stream::kStaffStream);
  if (visit.has_team_id()) {
    for (auto& id : team_members(visit.team_id())) {
      if (!id.empty() && std::find(to.begin(), to.end(), id) == to.end()) {
        to.push_back(std::move(id));
      }
    }
  }
  auto ev = std::make_shared<v1::ServerEvent>();
  ev->set_type("visitUpdated");
  *ev->mutable_at() = to_timestamp(now);
  *ev->mutable_visit_updated() = visit;
  const std::shared_ptr<const v1::ServerEvent> shared = std::move(ev);
  for (auto& key : to) {
    change.events.emplace_back(std::move(key), shared);
  }
}

VisitService::VisitPtr VisitService::touch_visit(v1::Visit visit, v1::Visit::Status status,
                                                 SystemTime now, Change& change) {
  if (visit.status() != status) {
    visit.set_status(status);
    auto* h = visit.add_history();
    h->set_status(status);
    *h->mutable_at() = to_timestamp(now);
    metrics_.visits_total.inc({v1::Visit::Status_Name(status)});
  }
  auto stored = std::make_shared<const v1::Visit>(std::move(visit));
  work_->visits[stored->id()] = stored;
  change.visits[stored->id()] = stored;
  visit_updated_event(*stored, now, change);
  return stored;
}

void VisitService::absorb(const dp::Outcome& outcome, SystemTime now, Change& change) {
  State& w = *work_;
  for (const auto& decision : outcome.decisions) {
    if (const auto* o = std::get_if<dp::OfferVisit>(&decision)) {
      auto vis = w.visit_by_core.find(o->visit.value());
      auto team = w.team_by_core.find(o->team.value());
      if (vis == w.visit_by_core.end() || team == w.team_by_core.end()) {
        continue;
      }
      auto current = w.visits.find(vis->second);
      if (current == w.visits.end()) {
        continue;
      }
      v1::Visit visit = *current->second;
      auto patient = patients_.find(visit.patient_id());
      v1::Offer offer;
      offer.set_id(offer_id_of(o->offer));
      offer.set_visit_id(visit.id());
      offer.set_team_id(team->second);
      offer.set_urgency(visit.urgency());
      offer.set_reason(visit.reason());
      offer.set_chief_complaint(visit.chief_complaint());
      *offer.mutable_eta() = to_timestamp(system_time(o->eta));
      *offer.mutable_expires_at() = to_timestamp(system_time(o->expires_at));
      *offer.mutable_created_at() = to_timestamp(now);
      if (patient) {
        auto* op = offer.mutable_patient();
        op->set_name(patient->name());
        op->set_address(patient->address());
        *op->mutable_location() = patient->location();
        op->set_allergies(patient->allergies());
        op->set_advance_care_plan(patient->advance_care_plan());
      }
      w.offers[offer.id()] = offer;
      change.offers[offer.id()] = offer;
      visit.set_offer_id(offer.id());
      *visit.mutable_eta() = offer.eta();
      touch_visit(std::move(visit), v1::Visit::OFFERED, now, change);
      v1::ServerEvent ev;
      ev.set_type("offer");
      *ev.mutable_at() = to_timestamp(now);
      *ev.mutable_offer() = offer;
      const auto shared = std::make_shared<const v1::ServerEvent>(std::move(ev));
      for (const auto& member : team_members(team->second)) {
        change.events.emplace_back(member, shared);
      }
    } else if (const auto* wd = std::get_if<dp::WithdrawOffer>(&decision)) {
      std::string oid = offer_id_of(wd->offer);
      auto it = w.offers.find(oid);
      if (it == w.offers.end()) {
        continue;
      }
      v1::Offer offer = it->second;
      w.offers.erase(it);
      w.ended_offers[oid] = offer;
      change.offers[oid] = std::nullopt;
      change.ended_offers[oid] = offer;
      auto vit = w.visits.find(offer.visit_id());
      if (vit != w.visits.end() && vit->second->status() == v1::Visit::OFFERED) {
        v1::Visit visit = *vit->second;
        visit.clear_offer_id();
        visit.clear_eta();
        touch_visit(std::move(visit), v1::Visit::REQUESTED, now, change);
      }
      v1::ServerEvent ev;
      ev.set_type("offerWithdrawn");
      *ev.mutable_at() = to_timestamp(now);
      auto* ow = ev.mutable_offer_withdrawn();
      ow->set_offer_id(oid);
      ow->set_visit_id(offer.visit_id());
      ow->set_reason(withdraw_reason(wd->reason));
      const auto shared = std::make_shared<const v1::ServerEvent>(std::move(ev));
      for (const auto& member : team_members(offer.team_id())) {
        change.events.emplace_back(member, shared);
      }
    } else if (const auto* u = std::get_if<dp::MarkUnservable>(&decision)) {
      auto vis = w.visit_by_core.find(u->visit.value());
      if (vis == w.visit_by_core.end()) {
        continue;
      }
      auto current = w.visits.find(vis->second);
      if (current == w.visits.end()) {
        continue;
      }
      v1::Visit visit = *current->second;
      std::string code(dp::unservable_reason_name(u->reason));
      visit.set_rejection_code(code.empty() ? "NO_TEAM_AVAILABLE" : code);
      visit.clear_eta();
      touch_visit(std::move(visit), v1::Visit::REJECTED, now, change);
    }
  }
}

void VisitService::sync_team_statuses(SystemTime now, Change& change) {
  State& w = *work_;
  for (auto& [id, team] : w.teams) {
    auto core_id = w.team_core.find(id);
    if (core_id == w.team_core.end()) {
      continue;
    }
    auto st = w.core->team_status(dp::TeamId(core_id->second));
    v1::Team::Status status = v1::Team::OFF_SHIFT;
    if (st) {
      switch (*st) {
        case dp::TeamStatus::kAvailable:
          status = v1::Team::AVAILABLE;
          break;
        case dp::TeamStatus::kOffered:
          status = v1::Team::OFFERED;
          break;
        case dp::TeamStatus::kBusy:
          status = v1::Team::BUSY;
          break;
        case dp::TeamStatus::kOffShift:
          status = v1::Team::OFF_SHIFT;
          break;
      }
    }
    if (team.status() != status) {
      team.set_status(status);
      change.teams[id] = team;
    }
  }
  (void)now;
}

void VisitService::commit(std::unique_ptr<Change> change_ptr,
                          std::function<void(Result<void>)> then) {
  std::shared_ptr<Change> change(std::move(change_ptr));
  std::int64_t now_ms = to_unix_ms(change->now);
  storage::Transaction tx;
  // Sized once: a mutation moved while the vector grows is a string-heavy variant.
  tx.mutations.reserve(change->core_events.size() + change->teams.size() + change->visits.size() +
                       change->offers.size() + change->ended_offers.size() +
                       change->summaries.size() + change->inbox.size() + change->mutations.size() +
                       change->webhooks.size() + change->events.size());
  for (auto& ev : change->core_events) {
    // Live, the core always runs with the configured timeout: record it for the replay.
    ev.set_offer_timeout_ms(std::int64_t{config_.offer_timeout_seconds()} * 1000);
    tx.mutations.emplace_back(
        storage::AppendEvent{"core", kCoreStream, ev.SerializeAsString(), ev.at_ms()});
  }
  std::size_t first_stream_event = change->core_events.size();
  for (const auto& [id, t] : change->teams) {
    tx.mutations.emplace_back(put_record(kTeam, id, t, change->now));
  }
  for (const auto& [id, v] : change->visits) {
    tx.mutations.emplace_back(put_record(kVisit, id, *v, change->now));
  }
  for (const auto& [id, o] : change->offers) {
    if (o) {
      tx.mutations.emplace_back(put_record(kOffer, id, *o, change->now));
    } else {
      tx.mutations.emplace_back(storage::EraseRecord{std::string(kOffer), id});
    }
  }
  for (const auto& [id, o] : change->ended_offers) {
    tx.mutations.emplace_back(put_record(kOfferEnded, id, o, change->now));
  }
  for (const auto& [id, s] : change->summaries) {
    tx.mutations.emplace_back(put_record(kSummary, id, s, change->now));
  }
  for (const auto& [id, i] : change->inbox) {
    tx.mutations.emplace_back(put_record(kInbox, id, i, change->now));
  }
  for (auto& m : change->mutations) {
    tx.mutations.push_back(std::move(m));
  }
  change->mutations.clear();
  add_webhooks(tx, *change);
  stream::add_events(tx, change->events, now_ms);
  store_.commit(std::move(tx), [this, change, first_stream_event, answer_inline = t_answer_inline,
                                then = std::move(then)](Result<storage::CommitResult> r) {
    // On the store's completion thread, in commit order: the view and the stream are updated
    // here, in that order; the answer (encoding a response) runs on an I/O thread so that it
    // does not hold up the next transaction's completion.
    if (!r) {
      // The core already moved on: rebuild it from what is durable.
      boost::asio::post(strand_, [this] { rebuild_after_failure(); });
      if (answer_inline) {
        then(r.error());
      } else {
        boost::asio::post(ioc_, [then, error = r.error()] { then(error); });
      }
      return;
    }
    apply_committed(*change);
    stream::publish_committed(hub_, std::move(change->events), *r, first_stream_event);
    start_webhooks(*change);
    if (answer_inline) {
      then(Result<void>{});
    } else {
      boost::asio::post(ioc_, [then] { then(Result<void>{}); });
    }
  });
}

void VisitService::apply_committed(const Change& c) {
  std::unique_lock lock(view_mutex_);
  State& v = *view_;
  for (const auto& [id, t] : c.teams) {
    v.teams[id] = t;
  }
  for (const auto& [id, x] : c.visits) {
    v.visits[id] = x;
  }
  for (const auto& [id, o] : c.offers) {
    if (o) {
      v.offers[id] = *o;
    } else {
      v.offers.erase(id);
    }
  }
  for (const auto& [id, o] : c.ended_offers) {
    v.ended_offers[id] = o;
  }
  for (const auto& [id, s] : c.summaries) {
    v.summaries[id] = s;
  }
  for (const auto& [id, i] : c.inbox) {
    v.inbox[id] = i;
  }
}

void VisitService::rebuild_after_failure() {
  {
    std::shared_lock lock(view_mutex_);
    work_->copy_records_from(*view_);
  }
  if (auto r = replay_core_log(*work_); !r) {
    // Nothing more can be done safely here; the store is failing. Readiness reports it.
    return;
  }
  arm_core_timer();
}

void VisitService::run_core_event(v1::CoreEvent event, std::unique_ptr<Change> change,
                                  std::function<void(Result<void>)> then) {
  // Strand only.
  auto started = std::chrono::steady_clock::now();
  auto outcome = apply_core(*work_, event, false);
  metrics_.dispatch_decision_seconds.observe(
      {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (outcome.status == dp::EventStatus::kOk || !outcome.decisions.empty()) {
    change->core_events.push_back(event);
  }
  absorb(outcome, change->now, *change);
  sync_team_statuses(change->now, *change);
  arm_core_timer();
  if (outcome.status != dp::EventStatus::kOk) {
    Failure f = from_event_status(outcome.status);
    if (change->core_events.empty()) {
      then(f.code);
      return;
    }
    commit(std::move(change),
           [then = std::move(then), f](Result<void> r) { then(r ? Result<void>(f.code) : r); });
    return;
  }
  commit(std::move(change), std::move(then));
}

void VisitService::arm_core_timer() {
  if (stopped_ || !work_->core) {
    return;
  }
  auto next = work_->core->next_deadline();
  if (!next) {
    core_timer_.cancel();
    return;
  }
  auto wait = system_time(*next) - clock_.now();
  if (wait < std::chrono::milliseconds(0)) {
    wait = std::chrono::milliseconds(0);
  }
  core_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  core_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    on_core_timer();
  });
}

void VisitService::on_core_timer() {
  auto next = work_->core->next_deadline();
  SystemTime now = clock_.now();
  if (!next || system_time(*next) > now) {
    arm_core_timer();
    return;
  }
  auto change = std::make_unique<Change>();
  change->now = now;
  v1::CoreEvent ev;
  ev.set_at_ms(to_unix_ms(now));
  ev.set_tick(true);
  run_core_event(std::move(ev), std::move(change), [](Result<void>) {});
}

void VisitService::start() {
  boost::asio::post(strand_, [this] {
    arm_core_timer();
    arm_ack_timer();
  });
}

void VisitService::stop() {
  boost::asio::post(strand_, [this] {
    stopped_ = true;
    core_timer_.cancel();
    ack_timer_.cancel();
  });
}

// ---------------------------------------------------------------------------------------------
// Teams

void VisitService::create_team(const Principal& who, v1::CreateTeamRequest req,
                               std::string request_id, Decorate decorate, Done<v1::Team> done) {
  auto doctor = accounts_.find_user(req.doctor_id());
  if (!doctor || doctor->role() != v1::DOCTOR || !doctor->active()) {
    done(fail(Errc::invalid_argument, "doctorId must name an active DOCTOR account", "doctorId"));
    return;
  }
  auto driver = accounts_.find_user(req.driver_id());
  if (!driver || driver->role() != v1::DRIVER || !driver->active()) {
    done(fail(Errc::invalid_argument, "driverId must name an active DRIVER account", "driverId"));
    return;
  }
  if (req.vehicle().size() > 200) {
    done(fail(Errc::invalid_argument, "vehicle is too long", "vehicle"));
    return;
  }
  if (!req.has_shift_start() || !req.has_shift_end()) {
    done(fail(Errc::invalid_argument, "shiftStart and shiftEnd are required",
              req.has_shift_start() ? "shiftEnd" : "shiftStart"));
    return;
  }
  auto start = from_timestamp(req.shift_start());
  auto end = from_timestamp(req.shift_end());
  if (end <= start || end - start > std::chrono::hours(48)) {
    done(fail(Errc::invalid_argument, "shiftEnd must be after shiftStart, within 48 hours",
              "shiftEnd"));
    return;
  }
  if (!req.has_base() || !valid_location(req.base().lat(), req.base().lon())) {
    done(
        fail(Errc::invalid_argument, "base needs lat in [-90, 90] and lon in [-180, 180]", "base"));
    return;
  }
  for (int s : req.skills()) {
    if (s == v1::SKILL_UNSPECIFIED || !v1::Skill_IsValid(s)) {
      done(fail(Errc::invalid_argument, "unknown skill", "skills"));
      return;
    }
  }
  boost::asio::post(strand_, [this, who, req = std::move(req), request_id = std::move(request_id),
                              decorate = std::move(decorate), done = std::move(done)]() mutable {
    State& w = *work_;
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    v1::Team team;
    team.set_id(generate_id("team_"));
    team.set_doctor_id(req.doctor_id());
    team.set_driver_id(req.driver_id());
    team.set_vehicle(req.vehicle());
    *team.mutable_shift_start() = req.shift_start();
    *team.mutable_shift_end() = req.shift_end();
    *team.mutable_base() = req.base();
    *team.mutable_skills() = req.skills();
    *team.mutable_location() = req.base();
    *team.mutable_created_at() = to_timestamp(change->now);
    team.set_status(v1::Team::OFF_SHIFT);
    w.teams[team.id()] = team;
    v1::CoreEvent ev;
    ev.set_at_ms(to_unix_ms(change->now));
    auto* ct = ev.mutable_team_upserted();
    ct->set_team_id(team.id());
    ct->set_core_id(w.next_team_core);
    *ct->mutable_base() = team.base();
    ct->set_shift_start_ms(to_unix_ms(from_timestamp(team.shift_start())));
    ct->set_shift_end_ms(to_unix_ms(from_timestamp(team.shift_end())));
    ct->set_allowed_overtime_ms(std::int64_t{config_.allowed_overtime_minutes()} * 60000);
    for (int s : team.skills()) {
      ct->add_skills(static_cast<v1::Skill>(s));
    }
    change->teams[team.id()] = team;
    change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                               "team.create", "ok", "team=" + team.id()));
    std::string team_id = team.id();
    // The Decorate must see the answer; it is computed after the core placed the team.
    auto outcome = apply_core(w, ev, false);
    if (outcome.status != dp::EventStatus::kOk) {
      w.teams.erase(team_id);
      done(fail(Errc::invalid_argument, std::string(dp::event_status_name(outcome.status))));
      return;
    }
    change->core_events.push_back(ev);
    absorb(outcome, change->now, *change);
    sync_team_statuses(change->now, *change);
    change->teams[team_id] = w.teams[team_id];
    v1::Team answer = w.teams[team_id];
    if (decorate) {
      storage::Transaction extra;
      decorate(answer, extra);
      for (auto& m : extra.mutations) {
        change->mutations.push_back(std::move(m));
      }
    }
    arm_core_timer();
    commit(std::move(change), [answer, done = std::move(done)](Result<void> r) {
      if (!r) {
        done(commit_failure(r.error()));
        return;
      }
      done(answer);
    });
  });
}

v1::TeamList VisitService::list_teams(const Principal& who) const {
  v1::TeamList out;
  std::shared_lock lock(view_mutex_);
  for (const auto& [id, t] : view_->teams) {
    if (who.role == Role::staff || t.doctor_id() == who.user_id || t.driver_id() == who.user_id) {
      *out.add_teams() = t;
    }
  }
  return out;
}

void VisitService::update_location(const Principal& who, std::string team_id,
                                   v1::LocationUpdate req, std::string request_id,
                                   Done<void> done) {
  if (!valid_location(req.lat(), req.lon())) {
    done(fail(Errc::invalid_argument, "lat must be in [-90, 90] and lon in [-180, 180]", "lat"));
    return;
  }
  boost::asio::post(
      strand_, [this, who, team_id = std::move(team_id), req, request_id = std::move(request_id),
                done = std::move(done)]() mutable {
        State& w = *work_;
        auto it = w.teams.find(team_id);
        if (it == w.teams.end() ||
            (it->second.doctor_id() != who.user_id && it->second.driver_id() != who.user_id)) {
          done(fail(Errc::not_found, "no such team"));
          return;
        }
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        it->second.mutable_location()->set_lat(req.lat());
        it->second.mutable_location()->set_lon(req.lon());
        *it->second.mutable_location_updated_at() = to_timestamp(change->now);
        change->teams[team_id] = it->second;
        v1::CoreEvent ev;
        ev.set_at_ms(to_unix_ms(change->now));
        ev.mutable_team_location()->set_team_id(team_id);
        ev.mutable_team_location()->mutable_location()->set_lat(req.lat());
        ev.mutable_team_location()->mutable_location()->set_lon(req.lon());
        change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                                   "team.location", "ok", "team=" + team_id));
        run_core_event(std::move(ev), std::move(change), [done = std::move(done)](Result<void> r) {
          if (!r) {
            done(fail(to_errc(r.error())));
            return;
          }
          done(Outcome<void>{});
        });
      });
}

// ---------------------------------------------------------------------------------------------
// Visits

Result<bool> VisitService::within_service_hours(SystemTime t) const {
  const auto& h = config_.service_hours();
  if (h.always()) {
    return true;
  }
  // Asia/Tokyo has had no daylight saving time since 1951: a fixed +09:00 offset.
  const auto local = t + std::chrono::hours(9);
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const int minute =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  int start = parse_hhmm(h.has_weeknight_start() ? h.weeknight_start() : "18:00");
  int end = parse_hhmm(h.has_weeknight_end() ? h.weeknight_end() : "08:00");
  if (start < 0 || end < 0) {
    return Errc::internal;
  }
  bool in_window =
      start > end ? (minute >= start || minute < end) : (minute >= start && minute < end);
  if (in_window) {
    return true;
  }
  if (!h.has_holidays_all_day() || h.holidays_all_day()) {
    return billing::is_kyujitsu(billing::civil_from_days(day.time_since_epoch().count()));
  }
  return false;
}

Failure VisitService::refusal(Errc code, const std::string& visit_id) const {
  Failure f = fail(code);
  switch (code) {
    case Errc::call_emergency_services:
      f.message = "life-threatening: call 119 (emergency services) now";
      break;
    case Errc::out_of_service_area:
      f.message = "the patient lives beyond the center's service radius";
      break;
    case Errc::outside_service_hours:
      f.message = "the center does not take requests at this hour";
      break;
    default:
      break;
  }
  f.visit_id = visit_id;
  return f;
}

void VisitService::create_visit(const Principal& who, v1::CreateVisitRequest req,
                                std::string request_id, Decorate decorate, Done<v1::Visit> done) {
  // Who is asking: a NURSE or CARE_MANAGER, or STAFF on behalf of one.
  std::string requester_id = who.user_id;
  std::string requester_org = who.organization_id;
  if (who.role == Role::staff) {
    if (req.on_behalf_of().empty()) {
      done(fail(Errc::invalid_argument, "STAFF must name the requester in onBehalfOf",
                "onBehalfOf"));
      return;
    }
    auto u = accounts_.find_user(req.on_behalf_of());
    if (!u || !u->active() || (u->role() != v1::NURSE && u->role() != v1::CARE_MANAGER)) {
      done(fail(Errc::invalid_argument,
                "onBehalfOf must name an active NURSE or CARE_MANAGER account", "onBehalfOf"));
      return;
    }
    requester_id = u->id();
    requester_org = u->organization_id();
  } else if (!req.on_behalf_of().empty()) {
    done(fail(Errc::invalid_argument, "only STAFF may request on behalf of someone", "onBehalfOf"));
    return;
  }
  if (req.urgency() == v1::URGENCY_UNSPECIFIED || !v1::Urgency_IsValid(req.urgency())) {
    done(fail(Errc::invalid_argument, "urgency must be URGENT or SOON", "urgency"));
    return;
  }
  if (req.reason() == v1::VISIT_REASON_UNSPECIFIED || !v1::VisitReason_IsValid(req.reason())) {
    done(fail(Errc::invalid_argument,
              "reason must be ACUTE_CHANGE, END_OF_LIFE, DEATH_CONFIRMATION or OTHER", "reason"));
    return;
  }
  if (req.chief_complaint().empty() || req.chief_complaint().size() > 2000) {
    done(fail(Errc::invalid_argument, "chiefComplaint is required (up to 2000 bytes)",
              "chiefComplaint"));
    return;
  }
  if (req.notes().size() > 4000) {
    done(fail(Errc::invalid_argument, "notes is too long", "notes"));
    return;
  }
  const auto& vt = req.vitals();
  auto out_of = [](bool has, double v, double lo, double hi) {
    return has && (!std::isfinite(v) || v < lo || v > hi);
  };
  if (out_of(vt.has_temperature_c(), vt.temperature_c(), 25.0, 45.0)) {
    done(fail(Errc::invalid_argument, "temperatureC must be within 25-45", "vitals.temperatureC"));
    return;
  }
  if (out_of(vt.has_systolic_bp(), vt.systolic_bp(), 0, 300) ||
      out_of(vt.has_diastolic_bp(), vt.diastolic_bp(), 0, 250)) {
    done(fail(Errc::invalid_argument, "blood pressure out of range", "vitals.systolicBp"));
    return;
  }
  if (out_of(vt.has_pulse(), vt.pulse(), 0, 300)) {
    done(fail(Errc::invalid_argument, "pulse out of range", "vitals.pulse"));
    return;
  }
  if (out_of(vt.has_spo2(), vt.spo2(), 0, 100)) {
    done(fail(Errc::invalid_argument, "spo2 must be within 0-100", "vitals.spo2"));
    return;
  }
  if (out_of(vt.has_respiratory_rate(), vt.respiratory_rate(), 0, 120)) {
    done(fail(Errc::invalid_argument, "respiratoryRate out of range", "vitals.respiratoryRate"));
    return;
  }
  auto patient = patients_.find(req.patient_id());
  const auto& team_orgs = patient ? patient->care_team_organization_ids()
                                  : google::protobuf::RepeatedPtrField<std::string>();
  if (!patient || std::find(team_orgs.begin(), team_orgs.end(), requester_org) == team_orgs.end()) {
    done(fail(Errc::not_found, "no such patient"));
    return;
  }
  boost::asio::post(strand_, [this, who, req = std::move(req), patient = std::move(*patient),
                              requester_id, requester_org, request_id = std::move(request_id),
                              decorate = std::move(decorate), done = std::move(done)]() mutable {
    State& w = *work_;
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    v1::Visit visit;
    visit.set_id(generate_id("vis_"));
    visit.set_patient_id(patient.id());
    visit.set_requested_by(requester_id);
    visit.set_requesting_organization_id(requester_org);
    if (who.role == Role::staff) {
      visit.set_on_behalf_of(requester_id);
      visit.set_requested_by(requester_id);
    }
    visit.set_urgency(req.urgency());
    visit.set_reason(req.reason());
    visit.set_chief_complaint(req.chief_complaint());
    *visit.mutable_vitals() = req.vitals();
    visit.set_life_threatening(req.life_threatening());
    visit.set_notes(req.notes());
    *visit.mutable_created_at() = to_timestamp(change->now);
    change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                               "visit.create", "ok", {}, patient.id(), visit.id()));
    // Refusals are still recorded (REJECTED) for the demand statistics.
    std::optional<Errc> refused;
    if (req.life_threatening()) {
      refused = Errc::call_emergency_services;
    } else if (dp::haversine_km(
                   dp::LatLon{config_.center().location().lat(), config_.center().location().lon()},
                   dp::LatLon{patient.location().lat(), patient.location().lon()}) >
               config_.service_radius_km()) {
      refused = Errc::out_of_service_area;
    } else {
      auto hours = within_service_hours(change->now);
      if (!hours || !*hours) {
        refused = Errc::outside_service_hours;
      }
    }
    if (refused) {
      visit.set_rejection_code(std::string(api_error_code(*refused)));
      auto rejected = touch_visit(std::move(visit), v1::Visit::REJECTED, change->now, *change);
      change->events.clear();  // a refusal is answered at once; nobody else needs a push
      Failure f = refusal(*refused, rejected->id());
      if (decorate) {
        v1::ErrorResponse er;
        er.mutable_error()->set_code(std::string(api_error_code(f.code)));
        er.mutable_error()->set_message(f.message);
        er.mutable_error()->set_visit_id(f.visit_id);
        storage::Transaction extra;
        decorate(er, extra);
        for (auto& m : extra.mutations) {
          change->mutations.push_back(std::move(m));
        }
      }
      commit(std::move(change), [f, done = std::move(done)](Result<void> r) {
        if (!r) {
          done(commit_failure(r.error()));
          return;
        }
        done(f);
      });
      return;
    }
    auto requested = touch_visit(std::move(visit), v1::Visit::REQUESTED, change->now, *change);
    v1::CoreEvent ev;
    ev.set_at_ms(to_unix_ms(change->now));
    auto* cv = ev.mutable_visit_requested();
    cv->set_visit_id(requested->id());
    cv->set_core_id(w.next_visit_core);
    cv->set_requested_at_ms(to_unix_ms(change->now));
    *cv->mutable_location() = patient.location();
    cv->set_urgency(requested->urgency());
    cv->set_reason(requested->reason());
    if (requested->reason() == v1::END_OF_LIFE) {
      cv->add_needed_skills(v1::PALLIATIVE);
    }
    std::string visit_id = requested->id();
    auto started = std::chrono::steady_clock::now();
    auto outcome = apply_core(w, ev, false);
    metrics_.dispatch_decision_seconds.observe(
        {}, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    change->core_events.push_back(ev);
    absorb(outcome, change->now, *change);
    sync_team_statuses(change->now, *change);
    arm_core_timer();
    v1::Visit answer = *w.visits.at(visit_id);
    if (decorate) {
      storage::Transaction extra;
      decorate(answer, extra);
      for (auto& m : extra.mutations) {
        change->mutations.push_back(std::move(m));
      }
    }
    commit(std::move(change), [answer, done = std::move(done)](Result<void> r) {
      if (!r) {
        done(commit_failure(r.error()));
        return;
      }
      done(answer);
    });
  });
}

bool VisitService::can_see_visit(const Principal& who, const v1::Visit& visit) const {
  switch (who.role) {
    case Role::staff:
      return true;
    case Role::nurse:
    case Role::care_manager:
    case Role::primary_doctor: {
      if (who.role != Role::primary_doctor &&
          visit.requesting_organization_id() == who.organization_id) {
        return true;
      }
      auto p = patients_.find(visit.patient_id());
      return p && patients_.can_see(who, *p);
    }
    case Role::doctor:
    case Role::driver: {
      if (!visit.has_team_id()) {
        return false;
      }
      auto t = view_->teams.find(visit.team_id());
      return t != view_->teams.end() &&
             (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id);
    }
    case Role::admin:
    case Role::unspecified:
      break;
  }
  return false;
}

bool VisitService::team_reach(const Principal& who, const std::string& patient_id) const {
  std::shared_lock lock(view_mutex_);
  for (const auto& [id, v] : view_->visits) {
    if (v->patient_id() != patient_id || !active_status(v->status()) || !v->has_team_id()) {
      continue;
    }
    auto t = view_->teams.find(v->team_id());
    if (t != view_->teams.end() &&
        (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id)) {
      return true;
    }
  }
  return false;
}

void VisitService::get_visit(const Principal& who, std::string id, std::string request_id,
                             Done<v1::Visit> done) {
  VisitPtr visit;  // the committed version; copied into the answer only once it is sent
  bool visible = false;
  {
    std::shared_lock lock(view_mutex_);
    auto it = view_->visits.find(id);
    if (it != view_->visits.end()) {
      visit = it->second;
    }
  }
  if (visit) {
    // can_see_visit reads teams under the lock for DOCTOR/DRIVER.
    std::shared_lock lock(view_mutex_);
    visible = can_see_visit(who, *visit);
  }
  SystemTime now = clock_.now();
  storage::Transaction tx;
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "visit.read", visible ? "ok" : "not_found", {},
                                        visible ? visit->patient_id() : std::string{}, id));
  // The read is answered once its audit entry is synced; the answer is encoded on an I/O thread,
  // not on the store's completion thread.
  store_.commit(std::move(tx), [this, visible, visit = std::move(visit),
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    boost::asio::post(ioc_, [visible, visit = std::move(visit), done = std::move(done),
                             r = std::move(r)]() mutable {
      if (!r) {
        done(commit_failure(r.error()));
        return;
      }
      if (!visible) {
        done(fail(Errc::not_found, "no such visit"));
        return;
      }
      done(v1::Visit(*visit));
    });
  });
}

void VisitService::list_visits(const Principal& who, VisitFilter filter, std::string request_id,
                               Done<v1::VisitList> done) {
  v1::VisitList out;
  {
    std::shared_lock lock(view_mutex_);
    for (const auto& [id, v] : view_->visits) {
      if (filter.status && v->status() != *filter.status) {
        continue;
      }
      if (filter.patient_id && v->patient_id() != *filter.patient_id) {
        continue;
      }
      auto created = from_timestamp(v->created_at());
      if ((filter.from && created < *filter.from) || (filter.to && created >= *filter.to)) {
        continue;
      }
      if (can_see_visit(who, *v)) {
        *out.add_visits() = *v;
      }
    }
  }
  std::sort(out.mutable_visits()->begin(), out.mutable_visits()->end(),
            [](const v1::Visit& a, const v1::Visit& b) {
              auto ta = from_timestamp(a.created_at());
              auto tb = from_timestamp(b.created_at());
              return ta != tb ? ta < tb : a.id() < b.id();
            });
  SystemTime now = clock_.now();
  AuditContext ctx = audit_context(who, std::move(request_id), now);
  storage::Transaction tx;
  for (const auto& v : out.visits()) {
    tx.mutations.emplace_back(audit_entry(ctx, "visit.list", "ok", {}, v.patient_id(), v.id()));
  }
  if (tx.mutations.empty()) {
    done(std::move(out));
    return;
  }
  store_.commit(std::move(tx), [out = std::move(out),
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    if (!r) {
      done(commit_failure(r.error()));
      return;
    }
    done(std::move(out));
  });
}

void VisitService::cancel_visit(const Principal& who, std::string id, v1::CancelVisitRequest req,
                                std::string request_id, Done<v1::Visit> done) {
  if (req.reason().size() > 2000) {
    done(fail(Errc::invalid_argument, "reason is too long", "reason"));
    return;
  }
  boost::asio::post(strand_, [this, who, id = std::move(id), req = std::move(req),
                              request_id = std::move(request_id),
                              done = std::move(done)]() mutable {
    State& w = *work_;
    auto it = w.visits.find(id);
    bool allowed =
        it != w.visits.end() && (who.role == Role::staff ||
                                 ((who.role == Role::nurse || who.role == Role::care_manager) &&
                                  it->second->requesting_organization_id() == who.organization_id));
    if (!allowed) {
      done(fail(Errc::not_found, "no such visit"));
      return;
    }
    auto status = it->second->status();
    if (status != v1::Visit::REQUESTED && status != v1::Visit::OFFERED &&
        status != v1::Visit::ASSIGNED && status != v1::Visit::EN_ROUTE) {
      done(fail(Errc::invalid_transition, "only a visit not yet on site can be cancelled"));
      return;
    }
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    v1::CoreEvent ev;
    ev.set_at_ms(to_unix_ms(change->now));
    ev.set_visit_cancelled(id);
    auto outcome = apply_core(w, ev, false);
    if (outcome.status != dp::EventStatus::kOk && outcome.decisions.empty()) {
      done(from_event_status(outcome.status));
      return;
    }
    change->core_events.push_back(ev);
    absorb(outcome, change->now, *change);
    if (outcome.status != dp::EventStatus::kOk) {
      sync_team_statuses(change->now, *change);
      Failure f = from_event_status(outcome.status);
      commit(std::move(change), [f, done = std::move(done)](Result<void>) { done(f); });
      return;
    }
    // The core's decisions above may have replaced the visit: edit its latest version.
    v1::Visit visit = *w.visits.at(id);
    visit.set_cancel_reason(req.reason());
    visit.clear_offer_id();
    visit.clear_eta();
    auto answer = touch_visit(std::move(visit), v1::Visit::CANCELLED, change->now, *change);
    change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                               "visit.cancel", "ok", {}, answer->patient_id(), id));
    sync_team_statuses(change->now, *change);
    arm_core_timer();
    commit(std::move(change), [answer, done = std::move(done)](Result<void> r) {
      if (!r) {
        done(commit_failure(r.error()));
        return;
      }
      done(v1::Visit(*answer));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Offers and progress

v1::OfferList VisitService::list_offers(const Principal& who) const {
  v1::OfferList out;
  std::shared_lock lock(view_mutex_);
  for (const auto& [id, o] : view_->offers) {
    auto t = view_->teams.find(o.team_id());
    if (t != view_->teams.end() &&
        (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id)) {
      *out.add_offers() = o;
    }
  }
  return out;
}

void VisitService::accept_offer(const Principal& who, std::string offer_id, std::string request_id,
                                Done<v1::Visit> done) {
  boost::asio::post(
      strand_, [this, who, offer_id = std::move(offer_id), request_id = std::move(request_id),
                done = std::move(done)]() mutable {
        State& w = *work_;
        auto mine = [&](const v1::Offer& o) {
          auto t = w.teams.find(o.team_id());
          return t != w.teams.end() &&
                 (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id);
        };
        auto pending = w.offers.find(offer_id);
        if (pending == w.offers.end() || !mine(pending->second)) {
          auto ended = w.ended_offers.find(offer_id);
          if (ended != w.ended_offers.end() && mine(ended->second)) {
            done(fail(Errc::offer_not_pending, "the offer expired or was withdrawn"));
          } else {
            done(fail(Errc::not_found, "no such offer"));
          }
          return;
        }
        auto core_id = core_offer_id(offer_id);
        v1::Offer offer = pending->second;
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        v1::CoreEvent ev;
        ev.set_at_ms(to_unix_ms(change->now));
        ev.set_offer_accepted(core_id ? core_id->value() : 0);
        auto outcome = apply_core(w, ev, false);
        if (outcome.status == dp::EventStatus::kOk || !outcome.decisions.empty()) {
          change->core_events.push_back(ev);
        }
        absorb(outcome, change->now, *change);
        if (outcome.status != dp::EventStatus::kOk) {
          sync_team_statuses(change->now, *change);
          arm_core_timer();
          Failure f = from_event_status(outcome.status);
          if (change->core_events.empty()) {
            done(f);
            return;
          }
          commit(std::move(change), [f, done = std::move(done)](Result<void>) { done(f); });
          return;
        }
        w.offers.erase(offer_id);
        w.ended_offers[offer_id] = offer;
        change->offers[offer_id] = std::nullopt;
        change->ended_offers[offer_id] = offer;
        v1::Visit visit = *w.visits.at(offer.visit_id());
        visit.set_team_id(offer.team_id());
        visit.clear_offer_id();
        auto answer = touch_visit(std::move(visit), v1::Visit::ASSIGNED, change->now, *change);
        change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                                   "offer.accept", "ok", "offer=" + offer_id,
                                                   answer->patient_id(), answer->id()));
        sync_team_statuses(change->now, *change);
        arm_core_timer();
        commit(std::move(change), [answer, done = std::move(done)](Result<void> r) {
          if (!r) {
            done(commit_failure(r.error()));
            return;
          }
          done(v1::Visit(*answer));
        });
      });
}

void VisitService::decline_offer(const Principal& who, std::string offer_id,
                                 v1::DeclineOfferRequest req, std::string request_id,
                                 Done<void> done) {
  if (req.reason().size() > 2000) {
    done(fail(Errc::invalid_argument, "reason is too long", "reason"));
    return;
  }
  boost::asio::post(
      strand_, [this, who, offer_id = std::move(offer_id), req = std::move(req),
                request_id = std::move(request_id), done = std::move(done)]() mutable {
        State& w = *work_;
        auto mine = [&](const v1::Offer& o) {
          auto t = w.teams.find(o.team_id());
          return t != w.teams.end() &&
                 (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id);
        };
        auto pending = w.offers.find(offer_id);
        if (pending == w.offers.end() || !mine(pending->second)) {
          auto ended = w.ended_offers.find(offer_id);
          if (ended != w.ended_offers.end() && mine(ended->second)) {
            done(fail(Errc::offer_not_pending, "the offer expired or was withdrawn"));
          } else {
            done(fail(Errc::not_found, "no such offer"));
          }
          return;
        }
        v1::Offer offer = pending->second;
        auto core_id = core_offer_id(offer_id);
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        v1::CoreEvent ev;
        ev.set_at_ms(to_unix_ms(change->now));
        ev.set_offer_declined(core_id ? core_id->value() : 0);
        // The core re-offers the visit in the same step; the declined offer ends first.
        w.offers.erase(offer_id);
        w.ended_offers[offer_id] = offer;
        change->offers[offer_id] = std::nullopt;
        change->ended_offers[offer_id] = offer;
        auto vit = w.visits.find(offer.visit_id());
        if (vit != w.visits.end() && vit->second->status() == v1::Visit::OFFERED) {
          v1::Visit visit = *vit->second;
          visit.clear_offer_id();
          visit.clear_eta();
          touch_visit(std::move(visit), v1::Visit::REQUESTED, change->now, *change);
        }
        v1::ServerEvent we;
        we.set_type("offerWithdrawn");
        *we.mutable_at() = to_timestamp(change->now);
        we.mutable_offer_withdrawn()->set_offer_id(offer_id);
        we.mutable_offer_withdrawn()->set_visit_id(offer.visit_id());
        we.mutable_offer_withdrawn()->set_reason(v1::OfferWithdrawn::DECLINED);
        const auto shared = std::make_shared<const v1::ServerEvent>(std::move(we));
        for (const auto& member : team_members(offer.team_id())) {
          change->events.emplace_back(member, shared);
        }
        change->mutations.emplace_back(audit_entry(
            audit_context(who, request_id, change->now), "offer.decline", "ok", "offer=" + offer_id,
            vit != w.visits.end() ? vit->second->patient_id() : "", offer.visit_id()));
        run_core_event(std::move(ev), std::move(change), [done = std::move(done)](Result<void> r) {
          if (!r) {
            done(fail(to_errc(r.error())));
            return;
          }
          done(Outcome<void>{});
        });
      });
}

void VisitService::progress(const Principal& who, std::string visit_id, Step step,
                            std::string request_id, Done<v1::Visit> done) {
  boost::asio::post(
      strand_, [this, who, visit_id = std::move(visit_id), step, request_id = std::move(request_id),
                done = std::move(done)]() mutable {
        State& w = *work_;
        auto it = w.visits.find(visit_id);
        bool mine = false;
        if (it != w.visits.end() && it->second->has_team_id()) {
          auto t = w.teams.find(it->second->team_id());
          mine = t != w.teams.end() &&
                 (t->second.doctor_id() == who.user_id || t->second.driver_id() == who.user_id);
        }
        if (!mine) {
          done(fail(Errc::not_found, "no such visit"));
          return;
        }
        v1::Visit::Status from = step == Step::depart   ? v1::Visit::ASSIGNED
                                 : step == Step::arrive ? v1::Visit::EN_ROUTE
                                                        : v1::Visit::ON_SITE;
        v1::Visit::Status to = step == Step::depart   ? v1::Visit::EN_ROUTE
                               : step == Step::arrive ? v1::Visit::ON_SITE
                                                      : v1::Visit::COMPLETED;
        if (it->second->status() != from) {
          done(fail(Errc::invalid_transition,
                    "the visit is " + v1::Visit::Status_Name(it->second->status()) +
                        "; this step needs " + v1::Visit::Status_Name(from)));
          return;
        }
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        v1::CoreEvent ev;
        ev.set_at_ms(to_unix_ms(change->now));
        const char* action = "visit.depart";
        if (step == Step::depart) {
          ev.set_visit_departed(visit_id);
        } else if (step == Step::arrive) {
          ev.set_visit_arrived(visit_id);
          action = "visit.arrive";
        } else {
          ev.set_visit_completed(visit_id);
          action = "visit.complete";
        }
        auto outcome = apply_core(w, ev, false);
        if (outcome.status != dp::EventStatus::kOk) {
          if (!outcome.decisions.empty()) {
            change->core_events.push_back(ev);
            absorb(outcome, change->now, *change);
            sync_team_statuses(change->now, *change);
            Failure f = from_event_status(outcome.status);
            commit(std::move(change), [f, done = std::move(done)](Result<void>) { done(f); });
            return;
          }
          done(from_event_status(outcome.status));
          return;
        }
        change->core_events.push_back(ev);
        absorb(outcome, change->now, *change);
        v1::Visit edited = *w.visits.at(visit_id);
        if (step == Step::arrive) {
          edited.clear_eta();
        }
        auto answer = touch_visit(std::move(edited), to, change->now, *change);
        const v1::Visit& visit = *answer;
        if (step == Step::complete) {
          // The team is available again at the patient's home.
          auto patient = patients_.find(visit.patient_id());
          auto t = w.teams.find(visit.team_id());
          if (patient && t != w.teams.end()) {
            *t->second.mutable_location() = patient->location();
            *t->second.mutable_location_updated_at() = to_timestamp(change->now);
            change->teams[t->first] = t->second;
          }
          auto s = w.summaries.find(visit_id);
          if (s != w.summaries.end()) {
            recompute_billing(s->second, visit);
            change->summaries[visit_id] = s->second;
            for (auto& [iid, item] : w.inbox) {
              if (item.visit_id() == visit_id) {
                *item.mutable_summary() = s->second;
                change->inbox[iid] = item;
              }
            }
          }
        }
        change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                                   action, "ok", {}, visit.patient_id(), visit_id));
        sync_team_statuses(change->now, *change);
        arm_core_timer();
        commit(std::move(change), [answer, done = std::move(done)](Result<void> r) {
          if (!r) {
            done(commit_failure(r.error()));
            return;
          }
          done(v1::Visit(*answer));
        });
      });
}

// ---------------------------------------------------------------------------------------------
// Summaries, inbox, acknowledgements, FHIR

namespace {

std::optional<SystemTime> history_time(const v1::Visit& visit, v1::Visit::Status status) {
  for (const auto& h : visit.history()) {
    if (h.status() == status) {
      return from_timestamp(h.at());
    }
  }
  return std::nullopt;
}

billing::InstitutionTier tier_of(const v1::ServerConfig& config) {
  switch (config.institution_tier()) {
    case v1::ServerConfig::KYOKA_BEDS:
      return billing::InstitutionTier::kKyokaBeds;
    case v1::ServerConfig::KYOKA_NO_BEDS:
      return billing::InstitutionTier::kKyokaNoBeds;
    case v1::ServerConfig::OTHER:
      return billing::InstitutionTier::kOther;
    default:
      return billing::InstitutionTier::kZaishin;
  }
}

v1::TimeBand band_of(billing::TimeBand b) {
  switch (b) {
    case billing::TimeBand::kNight:
      return v1::NIGHT;
    case billing::TimeBand::kLateNight:
      return v1::LATE_NIGHT;
    case billing::TimeBand::kHoliday:
      return v1::HOLIDAY;
    case billing::TimeBand::kDay:
      break;
  }
  return v1::DAY;
}

std::optional<std::string> summary_problem(const v1::CreateSummaryRequest& req) {
  auto too_long = [](const std::string& s, std::size_t n) { return s.size() > n; };
  if (req.findings().empty() || too_long(req.findings(), 8000)) {
    return "findings";
  }
  if (req.diagnoses_size() > 20) {
    return "diagnoses";
  }
  for (const auto& d : req.diagnoses()) {
    if (d.empty() || too_long(d, 500)) {
      return "diagnoses";
    }
  }
  if (too_long(req.treatment(), 8000)) {
    return "treatment";
  }
  if (req.prescriptions_size() > 30) {
    return "prescriptions";
  }
  for (const auto& p : req.prescriptions()) {
    if (p.drug().empty() || too_long(p.drug(), 300) || too_long(p.dose(), 300) || p.days() < 0 ||
        p.days() > 365) {
      return "prescriptions";
    }
  }
  if (req.disposition() == v1::DISPOSITION_UNSPECIFIED ||
      !v1::Disposition_IsValid(req.disposition())) {
    return "disposition";
  }
  if (too_long(req.destination(), 500)) {
    return "destination";
  }
  if (req.disposition() == v1::TRANSFERRED_TO_HOSPITAL && req.destination().empty()) {
    return "destination";
  }
  if (too_long(req.instructions_for_care_team(), 8000)) {
    return "instructionsForCareTeam";
  }
  if (too_long(req.follow_up_for_primary_doctor(), 8000)) {
    return "followUpForPrimaryDoctor";
  }
  return std::nullopt;
}

}  // namespace

void VisitService::recompute_billing(v1::VisitSummary& summary, const v1::Visit& visit) const {
  auto started = history_time(visit, v1::Visit::ON_SITE);
  if (!started) {
    return;
  }
  auto ended = history_time(visit, v1::Visit::COMPLETED).value_or(clock_.now());
  if (ended < *started) {
    ended = *started;
  }
  billing::BillableVisit bv;
  bv.started_at = *started;
  bv.ended_at = ended;
  bv.urgency = visit.urgency() == v1::SOON ? billing::Urgency::kSoon : billing::Urgency::kUrgent;
  bv.tier = tier_of(config_);
  bv.deceased = summary.disposition() == v1::DECEASED;
  if (auto patient = patients_.find(visit.patient_id()); patient && patient->has_eligibility()) {
    const auto& e = patient->eligibility();
    if (auto d = billing::parse_civil_date(e.last_scheduled_visit_date()); d) {
      bv.eligibility.last_scheduled_visit = *d;
    }
    bv.eligibility.partner_agreement_id = e.partner_agreement_id();
    bv.eligibility.regular_outpatient = e.regular_outpatient();
    bv.eligibility.facility_agreement = e.facility_agreement();
  }
  const auto& tables = billing::FeeTables::builtin();
  if (!tables) {
    return;
  }
  auto bill = billing::compute_billing(bv, *tables);
  v1::Billing& out = *summary.mutable_billing();
  out.Clear();
  if (!bill) {
    out.set_time_band_reason(bill.error().message);
    return;
  }
  for (const auto& item : bill->items) {
    auto* i = out.add_items();
    i->set_code(item.code);
    i->set_name(item.name);
    i->set_points(item.points);
  }
  out.set_total_points(bill->total_points);
  out.set_fee_table(bill->fee_table);
  out.set_time_band(band_of(bill->time_band));
  out.set_time_band_reason(bill->time_band_reason);
}

SystemTime VisitService::ack_due(SystemTime posted) const {
  int deadline = parse_hhmm(config_.has_summary_ack_deadline() ? config_.summary_ack_deadline()
                                                               : std::string("09:00"));
  if (deadline < 0) {
    deadline = 9 * 60;
  }
  // The next occurrence of the deadline (center time, fixed +09:00) after the summary.
  const auto offset = std::chrono::hours(9);
  auto local = posted + offset;
  auto day = std::chrono::floor<std::chrono::days>(local);
  auto due = day + std::chrono::minutes(deadline);
  if (due <= local) {
    due += std::chrono::days(1);
  }
  return SystemTime(due - offset);
}

void VisitService::post_summary(const Principal& who, std::string visit_id,
                                v1::CreateSummaryRequest req, std::string request_id,
                                Decorate decorate, Done<v1::VisitSummary> done) {
  if (auto field = summary_problem(req)) {
    done(
        fail(Errc::invalid_argument, "summary field " + *field + " is missing or invalid", *field));
    return;
  }
  boost::asio::post(strand_, [this, who, visit_id = std::move(visit_id), req = std::move(req),
                              request_id = std::move(request_id), decorate = std::move(decorate),
                              done = std::move(done)]() mutable {
    State& w = *work_;
    auto it = w.visits.find(visit_id);
    bool mine = false;
    if (it != w.visits.end() && it->second->has_team_id()) {
      auto t = w.teams.find(it->second->team_id());
      mine = t != w.teams.end() && t->second.doctor_id() == who.user_id;
    }
    if (!mine) {
      done(fail(Errc::not_found, "no such visit"));
      return;
    }
    VisitPtr current = it->second;  // kept alive while this handler reads it
    const v1::Visit& visit = *current;
    if (visit.status() != v1::Visit::ON_SITE && visit.status() != v1::Visit::COMPLETED) {
      done(fail(Errc::invalid_transition, "a summary needs the visit ON_SITE or COMPLETED"));
      return;
    }
    if (w.summaries.count(visit_id) != 0) {
      done(fail(Errc::already_exists, "this visit already has a summary"));
      return;
    }
    auto patient = patients_.find(visit.patient_id());
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    v1::VisitSummary s;
    s.set_id(generate_id("sum_"));
    s.set_visit_id(visit_id);
    s.set_author_id(who.user_id);
    *s.mutable_created_at() = to_timestamp(change->now);
    s.set_findings(req.findings());
    *s.mutable_diagnoses() = req.diagnoses();
    s.set_treatment(req.treatment());
    *s.mutable_prescriptions() = req.prescriptions();
    s.set_disposition(req.disposition());
    if (!req.destination().empty()) {
      s.set_destination(req.destination());
    }
    s.set_instructions_for_care_team(req.instructions_for_care_team());
    s.set_follow_up_for_primary_doctor(req.follow_up_for_primary_doctor());
    recompute_billing(s, visit);
    w.summaries[visit_id] = s;
    change->summaries[visit_id] = s;
    {
      // A new version of the visit (no status change, no visitUpdated event, as before).
      auto edited = std::make_shared<v1::Visit>(visit);
      edited->set_summary_id(s.id());
      it->second = edited;
      change->visits[visit_id] = std::move(edited);
    }
    change->mutations.emplace_back(audit_entry(audit_context(who, request_id, change->now),
                                               "summary.create", "ok", {}, visit.patient_id(),
                                               visit_id));
    // Delivery: the primary doctor and the requesting organization, each one inbox item.
    SystemTime due = ack_due(change->now);
    auto make_item = [&](std::optional<std::string> user, std::optional<std::string> org) {
      v1::InboxItem item;
      item.set_id(generate_id("inb_"));
      item.set_visit_id(visit_id);
      *item.mutable_summary() = s;
      if (user) {
        item.set_recipient_id(*user);
      }
      if (org) {
        item.set_recipient_organization_id(*org);
      }
      *item.mutable_created_at() = to_timestamp(change->now);
      *item.mutable_ack_due_at() = to_timestamp(due);
      w.inbox[item.id()] = item;
      change->inbox[item.id()] = item;
      v1::ServerEvent ev;
      ev.set_type("visitSummary");
      *ev.mutable_at() = to_timestamp(change->now);
      auto* vs = ev.mutable_visit_summary();
      vs->set_id(item.id());
      vs->set_visit_id(visit_id);
      *vs->mutable_summary() = s;
      std::vector<std::string> to;
      std::optional<v1::Organization> webhook_org;
      if (user) {
        to.push_back(*user);
        if (auto u = accounts_.find_user(*user)) {
          webhook_org = accounts_.find_organization(u->organization_id());
        }
      }
      if (org) {
        to = {stream::organization_stream(*org)};
        webhook_org = accounts_.find_organization(*org);
      }
      const auto shared = std::make_shared<const v1::ServerEvent>(std::move(ev));
      for (const auto& account : to) {
        change->events.emplace_back(account, shared);
      }
      if (webhook_org && webhook_org->has_webhook_url() && !webhook_org->webhook_url().empty()) {
        v1::WebhookDelivery d;
        d.set_inbox_item_id(item.id());  // the record id too: on_delivered names the item
        d.set_event_type("visitSummary");
        d.set_organization_id(webhook_org->id());
        d.set_url(webhook_org->webhook_url());
        d.set_secret(webhook_org->webhook_secret());
        v1::ServerEvent body = *shared;
        body.set_seq(0);
        d.set_body(http::to_json(body));
        *d.mutable_created_at() = to_timestamp(change->now);
        change->webhooks.push_back(std::move(d));
      }
    };
    if (patient && !patient->primary_doctor_id().empty()) {
      make_item(patient->primary_doctor_id(), std::nullopt);
    }
    make_item(std::nullopt, visit.requesting_organization_id());
    if (decorate) {
      storage::Transaction extra;
      decorate(s, extra);
      for (auto& m : extra.mutations) {
        change->mutations.push_back(std::move(m));
      }
    }
    arm_ack_timer();
    commit(std::move(change), [s, done = std::move(done)](Result<void> r) {
      if (!r) {
        done(commit_failure(r.error()));
        return;
      }
      done(s);
    });
  });
}

bool VisitService::is_recipient(const Principal& who, const v1::InboxItem& item) const {
  if (item.has_recipient_id() && item.recipient_id() == who.user_id) {
    return true;
  }
  return item.has_recipient_organization_id() &&
         item.recipient_organization_id() == who.organization_id &&
         (who.role == Role::nurse || who.role == Role::care_manager ||
          who.role == Role::primary_doctor || who.role == Role::staff);
}

void VisitService::inbox(const Principal& who, bool unacknowledged_only, std::string request_id,
                         Done<v1::InboxList> done) {
  boost::asio::post(strand_, [this, who, unacknowledged_only, request_id = std::move(request_id),
                              done = std::move(done)]() mutable {
    // Reads the committed view; first reads mark items delivered.
    v1::InboxList out;
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    AuditContext ctx = audit_context(who, request_id, change->now);
    {
      std::shared_lock lock(view_mutex_);
      for (const auto& [id, item] : view_->inbox) {
        if (!is_recipient(who, item)) {
          continue;
        }
        if (unacknowledged_only && item.has_acknowledged_at()) {
          continue;
        }
        v1::InboxItem copy = item;
        if (!copy.has_delivered_at()) {
          *copy.mutable_delivered_at() = to_timestamp(change->now);
          auto wi = work_->inbox.find(id);
          if (wi != work_->inbox.end() && !wi->second.has_delivered_at()) {
            *wi->second.mutable_delivered_at() = copy.delivered_at();
            change->inbox[id] = wi->second;
          }
        }
        change->mutations.emplace_back(item_read_entry(ctx, "inbox.read", id, item));
        *out.add_items() = std::move(copy);
      }
    }
    sort_items_by(out, &v1::InboxItem::created_at);
    answer_when_durable(std::move(change), std::move(out), std::move(done));
  });
}

void VisitService::overdue_inbox(const Principal& who, std::string request_id,
                                 Done<v1::InboxList> done) {
  boost::asio::post(
      strand_, [this, who, request_id = std::move(request_id), done = std::move(done)]() mutable {
        v1::InboxList out;
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        AuditContext ctx = audit_context(who, request_id, change->now);
        {
          std::shared_lock lock(view_mutex_);
          for (const auto& [id, item] : view_->inbox) {
            if (item.has_acknowledged_at() || !item.has_ack_due_at() ||
                from_timestamp(item.ack_due_at()) > change->now) {
              continue;
            }
            change->mutations.emplace_back(item_read_entry(ctx, "inbox.overdue.read", id, item));
            v1::InboxItem& listed = *out.add_items();
            listed = item;
            // Whom to call: STAFF cannot read accounts, so the name comes with the item.
            if (item.has_recipient_id()) {
              if (auto user = accounts_.find_user(item.recipient_id())) {
                listed.set_recipient_name(user->display_name());
              }
            } else if (item.has_recipient_organization_id()) {
              if (auto org = accounts_.find_organization(item.recipient_organization_id())) {
                listed.set_recipient_name(org->name());
              }
            }
          }
        }
        sort_items_by(out, &v1::InboxItem::ack_due_at);
        answer_when_durable(std::move(change), std::move(out), std::move(done));
      });
}

storage::AppendAudit VisitService::item_read_entry(const AuditContext& ctx, std::string action,
                                                   const std::string& id,
                                                   const v1::InboxItem& item) const {
  auto v = view_->visits.find(item.visit_id());
  return audit_entry(ctx, std::move(action), "ok", "item=" + id,
                     v != view_->visits.end() ? v->second->patient_id() : std::string{},
                     item.visit_id());
}

void VisitService::answer_when_durable(std::unique_ptr<Change> change, v1::InboxList out,
                                       Done<v1::InboxList> done) {
  if (change->mutations.empty() && change->inbox.empty()) {
    done(std::move(out));
    return;
  }
  // Answered once the audit entries (and delivery marks) are durable, like every read of
  // patient data.
  commit(std::move(change), [out = std::move(out), done = std::move(done)](Result<void> r) mutable {
    if (!r) {
      done(commit_failure(r.error()));
      return;
    }
    done(std::move(out));
  });
}

void VisitService::ack(const Principal& who, std::string item_id, std::string request_id,
                       Done<void> done) {
  boost::asio::post(
      strand_, [this, who, item_id = std::move(item_id), request_id = std::move(request_id),
                done = std::move(done)]() mutable {
        State& w = *work_;
        auto it = w.inbox.find(item_id);
        if (it == w.inbox.end() || !is_recipient(who, it->second)) {
          done(fail(Errc::not_found, "no such inbox item"));
          return;
        }
        if (it->second.has_acknowledged_at()) {
          done(Outcome<void>{});  // acknowledging twice changes nothing
          return;
        }
        auto change = std::make_unique<Change>();
        change->now = clock_.now();
        *it->second.mutable_acknowledged_at() = to_timestamp(change->now);
        it->second.set_acknowledged_by(who.user_id);
        if (!it->second.has_delivered_at()) {
          *it->second.mutable_delivered_at() = to_timestamp(change->now);
        }
        change->inbox[item_id] = it->second;
        auto v = w.visits.find(it->second.visit_id());
        change->mutations.emplace_back(audit_entry(
            audit_context(who, request_id, change->now), "inbox.ack", "ok", "item=" + item_id,
            v != w.visits.end() ? v->second->patient_id() : std::string{}, it->second.visit_id()));
        commit(std::move(change), [done = std::move(done)](Result<void> r) {
          if (!r) {
            done(commit_failure(r.error()));
            return;
          }
          done(Outcome<void>{});
        });
      });
}

void VisitService::arm_ack_timer() {
  if (stopped_) {
    return;
  }
  std::optional<SystemTime> next;
  for (const auto& [id, item] : work_->inbox) {
    if (item.has_acknowledged_at() || item.has_escalated_at() || !item.has_ack_due_at()) {
      continue;
    }
    auto due = from_timestamp(item.ack_due_at());
    if (!next || due < *next) {
      next = due;
    }
  }
  if (!next) {
    ack_timer_.cancel();
    return;
  }
  auto wait = *next - clock_.now();
  if (wait < std::chrono::milliseconds(0)) {
    wait = std::chrono::milliseconds(0);
  }
  ack_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait));
  ack_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    on_ack_timer();
  });
}

void VisitService::on_ack_timer() {
  auto change = std::make_unique<Change>();
  change->now = clock_.now();
  for (auto& [id, item] : work_->inbox) {
    if (item.has_acknowledged_at() || item.has_escalated_at() || !item.has_ack_due_at() ||
        from_timestamp(item.ack_due_at()) > change->now) {
      continue;
    }
    *item.mutable_escalated_at() = to_timestamp(change->now);
    change->inbox[id] = item;
    v1::ServerEvent ev;
    ev.set_type("ackOverdue");
    *ev.mutable_at() = to_timestamp(change->now);
    auto* ao = ev.mutable_ack_overdue();
    ao->set_inbox_item_id(id);
    ao->set_visit_id(item.visit_id());
    ao->set_recipient_id(item.has_recipient_id() ? item.recipient_id()
                                                 : item.recipient_organization_id());
    change->events.emplace_back(std::string(stream::kStaffStream),
                                std::make_shared<const v1::ServerEvent>(std::move(ev)));
  }
  if (!change->inbox.empty()) {
    commit(std::move(change), [](Result<void>) {});
  }
  arm_ack_timer();
}

void VisitService::fhir(const Principal& who, std::string visit_id, std::string request_id,
                        Done<std::string> done) {
  fhir::FhirInput in;
  bool visible = false;
  {
    std::shared_lock lock(view_mutex_);
    auto v = view_->visits.find(visit_id);
    auto s = view_->summaries.find(visit_id);
    if (v != view_->visits.end() && s != view_->summaries.end() && can_see_visit(who, *v->second)) {
      visible = true;
      in.visit = *v->second;
      in.summary = s->second;
    }
  }
  if (visible) {
    auto patient = patients_.find(in.visit.patient_id());
    auto doctor = accounts_.find_user(in.summary.author_id());
    if (!patient || !doctor) {
      visible = false;
    } else {
      in.patient = *patient;
      in.on_call_doctor = *doctor;
      if (auto p = accounts_.find_user(patient->primary_doctor_id())) {
        in.primary_doctor = *p;
      }
      if (auto c = accounts_.find_organization(doctor->organization_id())) {
        in.center = *c;
      }
      in.timestamp = clock_.now();
    }
  }
  SystemTime now = clock_.now();
  storage::Transaction tx;
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "visit.fhir", visible ? "ok" : "not_found", {},
                                        visible ? in.visit.patient_id() : std::string{}, visit_id));
  store_.commit(std::move(tx), [visible, in = std::move(in),
                                done = std::move(done)](Result<storage::CommitResult> r) {
    if (!r) {
      done(commit_failure(r.error()));
      return;
    }
    if (!visible) {
      done(fail(Errc::not_found, "no such visit, or it has no summary yet"));
      return;
    }
    done(fhir::build_visit_bundle(in));
  });
}

void VisitService::on_webhook_delivered(const std::string& inbox_item_id) {
  boost::asio::post(strand_, [this, inbox_item_id] {
    auto it = work_->inbox.find(inbox_item_id);
    if (it == work_->inbox.end() || it->second.has_delivered_at()) {
      return;
    }
    auto change = std::make_unique<Change>();
    change->now = clock_.now();
    *it->second.mutable_delivered_at() = to_timestamp(change->now);
    change->inbox[inbox_item_id] = it->second;
    commit(std::move(change), [](Result<void>) {});
  });
}

void VisitService::add_webhooks(storage::Transaction& tx, Change& change) {
  if (webhooks_ == nullptr) {
    change.webhooks.clear();
    return;
  }
  std::vector<v1::WebhookDelivery> stored;
  for (auto& d : change.webhooks) {
    if (auto r = webhooks_->add(tx, std::move(d))) {
      stored.push_back(std::move(*r));
    }
  }
  change.webhooks = std::move(stored);
}

void VisitService::start_webhooks(Change& change) {
  if (webhooks_ == nullptr) {
    return;
  }
  for (auto& d : change.webhooks) {
    webhooks_->start(std::move(d));
  }
}

VisitService::ReportView VisitService::report_view(SystemTime from, SystemTime to) const {
  ReportView out;
  std::vector<v1::Visit> unbilled;
  {
    std::shared_lock lock(view_mutex_);
    for (const auto& [id, team] : view_->teams) {
      out.teams.push_back(team);
    }
    for (const auto& [id, visit] : view_->visits) {
      const auto created = from_timestamp(visit->created_at());
      if (created < from || created >= to) {
        continue;
      }
      out.visits.push_back(*visit);
      if (visit->status() != v1::Visit::COMPLETED) {
        continue;
      }
      if (auto s = view_->summaries.find(id); s != view_->summaries.end()) {
        out.billing[id] = s->second.billing();
      } else {
        unbilled.push_back(*visit);
      }
    }
  }
  // Outside the view lock: billing reads the patient's evidence under PatientService's lock.
  for (const auto& visit : unbilled) {
    v1::VisitSummary draft;
    recompute_billing(draft, visit);
    out.billing[visit.id()] = draft.billing();
  }
  return out;
}

}  // namespace oshin::app
