// Replays a recorded night through a policy and team count (see recorded.hpp).

#include <algorithm>
#include <memory>
#include <queue>

#include "oshin/dispatcher/policy.hpp"
#include "oshin/dispatcher/travel_model.hpp"
#include "oshin/sim/recorded.hpp"

namespace oshin::sim {
namespace {

constexpr std::size_t kMaxSteps = 20'000'000;

enum class Kind : std::uint8_t { kExogenous, kAnswer, kDepart, kArrive, kComplete };

struct Pending {
  d::TimePoint at;
  std::uint64_t seq{0};
  Kind kind{Kind::kExogenous};
  std::size_t index{0};  // exogenous index or request index
  d::OfferId offer;
  bool decline{false};
  friend bool operator>(const Pending& a, const Pending& b) {
    return a.at != b.at ? a.at > b.at : a.seq > b.seq;
  }
};

class Replay {
 public:
  Replay(const RecordedNight& night, d::PolicyKind kind, std::size_t teams,
         const ReplaySettings& settings)
      : n_(night),
        travel_(std::make_shared<d::HaversineTravelModel>(night.scenario.travel)),
        core_(settings.dispatcher, travel_, d::make_policy(kind)),
        answers_(night.answers),
        trace_(night.scenario.requests.size()),
        assigned_(night.scenario.requests.size(), 0) {
    const std::size_t recorded = night.scenario.teams.size();
    std::uint64_t next_id = 1;
    for (const std::uint64_t id : night.team_core_ids) {
      next_id = std::max(next_id, id + 1);
    }
    for (std::size_t j = 0; j < teams && recorded > 0; ++j) {
      const d::TeamId id(j < recorded ? night.team_core_ids[j] : next_id++);
      team_id_.push_back(id);
      team_index_[id] = j;
      d::ScenarioTeam t = night.scenario.teams[j % recorded];
      if (j >= recorded) {
        t.id += "+" + std::to_string(j / recorded);
      }
      teams_.push_back(t);
      position_.push_back(night.team_position[j % recorded]);
    }
    for (std::size_t i = 0; i < trace_.size(); ++i) {
      trace_[i].request = night.scenario.requests[i].id;
      request_index_[d::VisitId(night.request_core_ids[i])] = i;
    }
  }

  std::vector<d::TraceLine> run() {
    const d::TimePoint t0 = n_.from;
    for (std::size_t j = 0; j < teams_.size(); ++j) {
      const d::ScenarioTeam& t = teams_[j];
      step(d::TeamUpserted{d::TeamSpec{team_id_[j], t.base, t.shift_start, t.shift_end,
                                       n_.scenario.allowed_overtime, t.skills}},
           t0);
      if (!(position_[j] == t.base)) {
        step(d::TeamLocationUpdated{team_id_[j], position_[j]}, t0);
      }
    }
    for (std::size_t k = 0; k < n_.exogenous.size(); ++k) {
      push(n_.exogenous[k].at, Kind::kExogenous, k);
    }
    for (std::size_t steps = 0; steps < kMaxSteps; ++steps) {
      const auto deadline = core_.next_deadline();
      if (deadline && (queue_.empty() || *deadline < queue_.top().at)) {
        step(d::Tick{}, *deadline);
        continue;
      }
      if (queue_.empty()) {
        break;
      }
      const Pending e = queue_.top();
      queue_.pop();
      handle(e);
    }
    return std::move(trace_);
  }

 private:
  void push(d::TimePoint at, Kind kind, std::size_t index, d::OfferId offer = {},
            bool decline = false) {
    queue_.push(Pending{at, next_seq_++, kind, index, offer, decline});
  }

  d::Outcome step(const d::Event& event, d::TimePoint now) {
    d::Outcome outcome = core_.apply(event, now);
    for (const d::Decision& dec : outcome.decisions) {
      const auto* offer = std::get_if<d::OfferVisit>(&dec);
      if (offer == nullptr) {
        continue;
      }
      const std::size_t i = request_index_.at(offer->visit);
      const std::size_t j = team_index_.at(offer->team);
      team_of_[offer->offer] = j;
      if (!trace_[i].offered_at) {
        trace_[i].offered_at = now;
      }
      // The same doctor answers the same visit as recorded; anyone else as the median doctor.
      const std::size_t recorded = n_.scenario.teams.size();
      auto it = j < recorded ? answers_.find({i, j}) : answers_.end();
      if (it != answers_.end() && !it->second.empty()) {
        const RecordedAnswer a = it->second.front();
        it->second.erase(it->second.begin());
        if (a.kind != RecordedAnswer::Kind::kLapse) {
          push(now + a.after, Kind::kAnswer, i, offer->offer,
               a.kind == RecordedAnswer::Kind::kDecline);
        }
      } else if (n_.scenario.behavior.accept_delay < n_.scenario.offer_timeout) {
        push(now + n_.scenario.behavior.accept_delay, Kind::kAnswer, i, offer->offer, false);
      }
    }
    return outcome;
  }

  void handle(const Pending& e) {
    if (e.kind == Kind::kExogenous) {
      exogenous(n_.exogenous[e.index]);
      return;
    }
    const std::size_t i = e.index;
    const d::ScenarioRequest& r = n_.scenario.requests[i];
    const d::VisitId visit(n_.request_core_ids[i]);
    d::TraceLine& line = trace_[i];
    switch (e.kind) {
      case Kind::kAnswer: {
        if (e.decline) {
          step(d::OfferDeclined{e.offer}, e.at);
          break;
        }
        if (step(d::OfferAccepted{e.offer}, e.at).status == d::EventStatus::kOk) {
          line.accepted_at = e.at;
          assigned_[i] = team_of_[e.offer];
          line.team = teams_[assigned_[i]].id;
          push(e.at + n_.depart_delay[i].value_or(d::Duration{}), Kind::kDepart, i);
        }
        break;
      }
      case Kind::kDepart: {
        if (step(d::VisitDeparted{visit}, e.at).status == d::EventStatus::kOk) {
          const std::size_t j = assigned_[i];
          line.departed_at = e.at;
          line.from = position_[j];
          const d::TraceLine& was = n_.recorded[i];
          d::Duration leg{};
          if (was.team == teams_[j].id && was.from && *was.from == position_[j] &&
              was.departed_at && was.arrived_at) {
            leg = *was.arrived_at - *was.departed_at;
          } else {
            leg =
                travel_->travel(travel_->make_place(position_[j]), travel_->make_place(r.location));
          }
          push(e.at + leg, Kind::kArrive, i);
        }
        break;
      }
      case Kind::kArrive: {
        if (step(d::VisitArrived{visit}, e.at).status == d::EventStatus::kOk) {
          line.arrived_at = e.at;
          position_[assigned_[i]] = r.location;
          push(e.at + r.service, Kind::kComplete, i);
        }
        break;
      }
      case Kind::kComplete: {
        if (step(d::VisitCompleted{visit}, e.at).status == d::EventStatus::kOk) {
          line.completed_at = e.at;
        }
        break;
      }
      case Kind::kExogenous:
        break;
    }
  }

  void exogenous(const Exogenous& x) {
    switch (x.kind) {
      case Exogenous::Kind::kRequest: {
        const d::ScenarioRequest& r = n_.scenario.requests[x.index];
        d::VisitRequest req;
        req.id = d::VisitId(n_.request_core_ids[x.index]);
        req.requested_at = r.at;
        req.location = r.location;
        req.urgency = r.urgency;
        req.needed_skills = r.skills;
        if (r.reason) {
          req.reason = *r.reason;
        }
        step(d::VisitRequested{req}, x.at);
        break;
      }
      case Exogenous::Kind::kCancel:
        step(d::VisitCancelled{d::VisitId(n_.request_core_ids[x.index])}, x.at);
        break;
      case Exogenous::Kind::kLocation:
        if (x.index < teams_.size()) {
          position_[x.index] = x.location;
          step(d::TeamLocationUpdated{team_id_[x.index], x.location}, x.at);
        }
        break;
      case Exogenous::Kind::kTeamRemoved:
        if (x.index < teams_.size()) {
          step(d::TeamRemoved{team_id_[x.index]}, x.at);
        }
        break;
      case Exogenous::Kind::kTick:
        step(d::Tick{}, x.at);
        break;
    }
  }

  const RecordedNight& n_;
  std::shared_ptr<d::HaversineTravelModel> travel_;
  d::Dispatcher core_;
  std::map<std::pair<std::size_t, std::size_t>, std::vector<RecordedAnswer>> answers_;
  std::vector<d::ScenarioTeam> teams_;
  std::vector<d::TeamId> team_id_;
  std::map<d::TeamId, std::size_t> team_index_;
  std::map<d::VisitId, std::size_t> request_index_;
  std::vector<d::LatLon> position_;
  std::vector<d::TraceLine> trace_;
  std::vector<std::size_t> assigned_;
  std::map<d::OfferId, std::size_t> team_of_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> queue_;
  std::uint64_t next_seq_{0};
};

}  // namespace

d::SimulationResult replay_night(const RecordedNight& night, std::string_view policy,
                                 std::size_t teams, const ReplaySettings& settings) {
  d::SimulationResult result;
  const auto kind = d::parse_policy_kind(policy);
  if (!kind) {
    return result;
  }
  result.trace = Replay(night, *kind, teams, settings).run();
  result.kpis = d::compute_kpis(night.scenario, policy, result.trace);
  return result;
}

}  // namespace oshin::sim
