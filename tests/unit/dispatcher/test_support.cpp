#include "test_support.hpp"

#include <cmath>
#include <numbers>

namespace oshin::dispatcher::testing {

TimePoint at(double minutes_after) {
  static const TimePoint kStart = parse_rfc3339("2026-01-10T18:00:00+09:00")->at;
  return kStart + Duration(std::llround(minutes_after * 60000.0));
}

LatLon near_center(double north_km, double east_km) {
  const LatLon c{35.6716, 139.3950};
  return LatLon{c.lat + north_km / 111.195,
                c.lon + east_km / (111.195 * std::cos(c.lat * std::numbers::pi / 180.0))};
}

TeamSpec team(std::uint64_t id, LatLon base, SkillSet skills) {
  TeamSpec t;
  t.id = TeamId(id);
  t.base = base;
  t.shift_start = at(0);
  t.shift_end = at(14 * 60);
  t.skills = skills;
  return t;
}

VisitRequest request(std::uint64_t id, double when, LatLon where, Urgency urgency,
                     SkillSet skills) {
  VisitRequest r;
  r.id = VisitId(id);
  r.requested_at = at(when);
  r.location = where;
  r.urgency = urgency;
  r.needed_skills = skills;
  return r;
}

std::unique_ptr<Dispatcher> make_dispatcher(PolicyKind kind, DispatcherConfig config) {
  return std::make_unique<Dispatcher>(config, std::make_shared<HaversineTravelModel>(),
                                      make_policy(kind));
}

std::string describe(const std::vector<Decision>& decisions) {
  std::string out;
  for (const Decision& d : decisions) {
    if (const auto* o = std::get_if<OfferVisit>(&d)) {
      out += "offer#" + std::to_string(o->offer.value()) + " v" + std::to_string(o->visit.value()) +
             "->t" + std::to_string(o->team.value()) + " eta" +
             std::to_string(o->eta.time_since_epoch().count()) + " exp" +
             std::to_string(o->expires_at.time_since_epoch().count()) + "; ";
    } else if (const auto* w = std::get_if<WithdrawOffer>(&d)) {
      out += "withdraw#" + std::to_string(w->offer.value()) + " " +
             std::string(withdraw_reason_name(w->reason)) + "; ";
    } else if (const auto* u = std::get_if<MarkUnservable>(&d)) {
      out += "unservable v" + std::to_string(u->visit.value()) + " " +
             std::string(unservable_reason_name(u->reason)) + "; ";
    }
  }
  return out;
}

}  // namespace oshin::dispatcher::testing
