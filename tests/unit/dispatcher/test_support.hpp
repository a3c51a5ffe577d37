#pragma once
// Helpers shared by the dispatcher tests.

#include <memory>
#include <string>
#include <vector>

#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/dispatcher/rfc3339.hpp"

namespace oshin::dispatcher::testing {

/// 2026-01-10T18:00:00+09:00 plus `minutes_after`.
TimePoint at(double minutes_after);

/// A point `north_km` / `east_km` from the Hino center.
LatLon near_center(double north_km, double east_km);

/// A team on shift 18:00-08:00 at `base`.
TeamSpec team(std::uint64_t id, LatLon base, SkillSet skills = {});

/// A request at `when` (minutes after 18:00) at `where`.
VisitRequest request(std::uint64_t id, double when, LatLon where,
                     Urgency urgency = Urgency::kUrgent, SkillSet skills = {});

/// A dispatcher with the default config and haversine model.
std::unique_ptr<Dispatcher> make_dispatcher(PolicyKind kind, DispatcherConfig config = {});

/// The decisions of one kind in an outcome.
template <typename T>
std::vector<T> decisions_of(const Outcome& outcome) {
  std::vector<T> out;
  for (const Decision& d : outcome.decisions) {
    if (const T* x = std::get_if<T>(&d)) {
      out.push_back(*x);
    }
  }
  return out;
}

/// A printable form of a decision list (for determinism comparisons and failure messages).
std::string describe(const std::vector<Decision>& decisions);

}  // namespace oshin::dispatcher::testing
