#include "oshin/dispatcher/generator.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>

#include "oshin/dispatcher/rfc3339.hpp"

namespace oshin::dispatcher {
namespace {

constexpr LatLon kHino{35.6716, 139.3950};
constexpr int kJst = 9 * 60;
constexpr double kKmPerDegreeLat = 111.195;

// Portable draws (std:: distributions differ between standard libraries).
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : rng_(seed) {}
  double uniform() { return static_cast<double>(rng_() >> 11U) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  std::int64_t integer(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }
  double normal() {
    const double u1 = std::max(uniform(), 1e-12);
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  std::mt19937_64 rng_;
};

LatLon offset_km(LatLon from, double north_km, double east_km) {
  const double lat = from.lat + north_km / kKmPerDegreeLat;
  const double lon =
      from.lon + east_km / (kKmPerDegreeLat * std::cos(from.lat * std::numbers::pi / 180.0));
  return LatLon{lat, lon};
}

// Patients cluster in neighbourhoods of the city (Hino: 27.6 km2, a ~3 km radius) with a tail
// into neighbouring towns; all within `max_km` of the center.
class PatientMap {
 public:
  PatientMap(Draw& draw, double city_km, double max_km, int neighbourhoods)
      : draw_(draw), city_km_(city_km), max_km_(max_km) {
    for (int i = 0; i < neighbourhoods; ++i) {
      const double r = city_km * std::sqrt(draw.uniform());
      const double a = draw.uniform(0.0, 2.0 * std::numbers::pi);
      hubs_.push_back(offset_km(kHino, r * std::cos(a), r * std::sin(a)));
    }
  }
  LatLon sample() {
    for (int attempt = 0; attempt < 100; ++attempt) {
      LatLon p;
      if (draw_.uniform() < 0.8) {
        const auto hub = hubs_[static_cast<std::size_t>(
            draw_.integer(0, static_cast<std::int64_t>(hubs_.size()) - 1))];
        p = offset_km(hub, 0.7 * draw_.normal(), 0.7 * draw_.normal());
      } else {
        const double r = max_km_ * 0.75 * std::sqrt(draw_.uniform());
        const double a = draw_.uniform(0.0, 2.0 * std::numbers::pi);
        p = offset_km(kHino, r * std::cos(a), r * std::sin(a));
      }
      if (haversine_km(p, kHino) <= max_km_) {
        return LatLon{std::round(p.lat * 1e6) / 1e6, std::round(p.lon * 1e6) / 1e6};
      }
    }
    return kHino;
  }
  [[nodiscard]] double city_km() const { return city_km_; }

 private:
  Draw& draw_;
  double city_km_;
  double max_km_;
  std::vector<LatLon> hubs_;
};

TimePoint night_start() {
  // 2026-01-10T18:00:00+09:00, a Saturday evening.
  return parse_rfc3339("2026-01-10T18:00:00+09:00")->at;
}

// Request time: a mixture of an evening peak and a flat night, within [18:00, 07:30].
TimePoint sample_time(Draw& draw, double evening_share) {
  double hours = 0.0;
  if (draw.uniform() < evening_share) {
    hours = std::clamp(2.5 + 1.6 * draw.normal(), 0.0, 13.5);  // peak around 20:30
  } else {
    hours = draw.uniform(0.0, 13.5);
  }
  return night_start() + Duration(static_cast<std::int64_t>(hours * 3600.0) * 1000);
}

Duration sample_service(Draw& draw) {
  // 20-40 minutes, mean 30 (a triangular distribution), whole minutes.
  const double m = 20.0 + 10.0 * (draw.uniform() + draw.uniform());
  return minutes(static_cast<std::int64_t>(std::lround(m)));
}

SkillSet sample_skills(Draw& draw) {
  const double u = draw.uniform();
  if (u < 0.04) {
    return SkillSet{}.with(Skill::kPediatric);
  }
  if (u < 0.10) {
    return SkillSet{}.with(Skill::kPalliative);
  }
  return SkillSet{};
}

// "t1", "r42", ... (built by appending: GCC 12 -O3 warns falsely on "t" + std::to_string()).
std::string numbered(char prefix, std::size_t n) {
  std::string id(1, prefix);
  id += std::to_string(n);
  return id;
}

Scenario base_scenario() {
  Scenario s;
  s.center = kHino;
  s.utc_offset_minutes = kJst;
  return s;
}

void add_teams(Scenario& s, Draw& draw, int count, double spread_km) {
  const TimePoint start = night_start();
  const TimePoint end = start + std::chrono::hours(14);
  for (int i = 0; i < count; ++i) {
    ScenarioTeam t;
    t.id = numbered('t', static_cast<std::size_t>(i) + 1);
    // The center's own car park, or a partner clinic nearby.
    const double r = spread_km * std::sqrt(draw.uniform());
    const double a = draw.uniform(0.0, 2.0 * std::numbers::pi);
    const LatLon base = i == 0 ? kHino : offset_km(kHino, r * std::cos(a), r * std::sin(a));
    t.base = LatLon{std::round(base.lat * 1e6) / 1e6, std::round(base.lon * 1e6) / 1e6};
    t.shift_start = start;
    t.shift_end = end;
    if (i % 4 == 0) {
      t.skills = t.skills.with(Skill::kPediatric);
    }
    if (i % 2 == 0) {
      t.skills = t.skills.with(Skill::kPalliative);
    }
    if (i % 3 == 1) {
      t.skills = t.skills.with(Skill::kRespiratory);
    }
    s.teams.push_back(t);
  }
}

void add_request(Scenario& s, Draw& draw, PatientMap& map, TimePoint at, double urgent_share) {
  ScenarioRequest r;
  r.at = at;
  r.location = map.sample();
  r.urgency = draw.uniform() < urgent_share ? Urgency::kUrgent : Urgency::kSoon;
  r.service = sample_service(draw);
  r.skills = sample_skills(draw);
  s.requests.push_back(r);
}

void finish(Scenario& s) {
  std::stable_sort(s.requests.begin(), s.requests.end(),
                   [](const ScenarioRequest& a, const ScenarioRequest& b) { return a.at < b.at; });
  for (std::size_t i = 0; i < s.requests.size(); ++i) {
    s.requests[i].id = numbered('r', i + 1);
  }
}

}  // namespace

std::vector<std::string_view> scenario_kinds() {
  return {"quiet", "surge", "burst", "metro"};
}

std::optional<Scenario> generate_scenario(std::string_view kind, std::uint64_t seed) {
  Draw draw(seed);
  Scenario s = base_scenario();
  if (kind == "quiet") {
    // An ordinary night: 1-3 visits, two teams.
    PatientMap map(draw, 3.0, 8.0, 6);
    add_teams(s, draw, 2, 1.0);
    const auto n = draw.integer(1, 3);
    for (std::int64_t i = 0; i < n; ++i) {
      add_request(s, draw, map, sample_time(draw, 0.5), 0.6);
    }
  } else if (kind == "surge") {
    // An epidemic wave: 40-55 visits (DESIGN.md: 20-60), most in the evening, four teams.
    PatientMap map(draw, 3.0, 10.0, 8);
    add_teams(s, draw, 4, 2.0);
    const auto n = draw.integer(40, 55);
    for (std::int64_t i = 0; i < n; ++i) {
      add_request(s, draw, map, sample_time(draw, 0.65), 0.55);
    }
  } else if (kind == "burst") {
    // A cluster of calls in 90 minutes (a facility outbreak, a heat wave evening) on top of an
    // ordinary night, three teams.
    PatientMap map(draw, 3.0, 10.0, 6);
    add_teams(s, draw, 3, 2.0);
    const TimePoint burst = night_start() + std::chrono::hours(3);  // 21:00
    const auto n = draw.integer(18, 24);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto at = burst + Duration(static_cast<std::int64_t>(draw.uniform(0.0, 5400.0)) * 1000);
      add_request(s, draw, map, at, 0.6);
    }
    const auto background = draw.integer(3, 6);
    for (std::int64_t i = 0; i < background; ++i) {
      add_request(s, draw, map, sample_time(draw, 0.3), 0.5);
    }
  } else if (kind == "metro") {
    // A metropolitan night (a Fast Doctor-sized operator): ~400 visits, 40 teams, 12 km area.
    PatientMap map(draw, 9.0, 14.0, 40);
    add_teams(s, draw, 40, 9.0);
    const auto n = draw.integer(380, 420);
    for (std::int64_t i = 0; i < n; ++i) {
      add_request(s, draw, map, sample_time(draw, 0.6), 0.55);
    }
  } else {
    return std::nullopt;
  }
  finish(s);
  return s;
}

}  // namespace oshin::dispatcher
