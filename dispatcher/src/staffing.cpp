#include "oshin/dispatcher/staffing.hpp"

#include <chrono>
#include <cstdio>

namespace oshin::dispatcher {
namespace {

bool in_band(TimePoint at, int utc_offset_minutes, const StaffingBand& band) {
  const auto local = at + std::chrono::minutes(utc_offset_minutes);
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const auto minute =
      static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(local - day).count());
  if (band.start_minute < band.end_minute) {
    return minute >= band.start_minute && minute < band.end_minute;
  }
  return minute >= band.start_minute || minute < band.end_minute;
}

/// Share of URGENT requests of `scenario` that arrive within target in `result`.
double urgent_share(const Scenario& scenario, const SimulationResult& result) {
  std::size_t urgent = 0;
  std::size_t within = 0;
  for (std::size_t i = 0; i < scenario.requests.size(); ++i) {
    const ScenarioRequest& r = scenario.requests[i];
    if (r.urgency != Urgency::kUrgent) {
      continue;
    }
    ++urgent;
    for (const TraceLine& line : result.trace) {
      if (line.request == r.id && line.arrived_at &&
          *line.arrived_at - r.at <= target_response(Urgency::kUrgent)) {
        ++within;
        break;
      }
    }
  }
  return urgent == 0 ? 1.0 : static_cast<double>(within) / static_cast<double>(urgent);
}

}  // namespace

std::vector<StaffingBand> default_staffing_bands() {
  return {{"evening 18:00-22:00", 18 * 60, 22 * 60},
          {"late night 22:00-06:00", 22 * 60, 6 * 60},
          {"morning 06:00-08:00", 6 * 60, 8 * 60},
          {"day 08:00-18:00", 8 * 60, 18 * 60}};
}

std::vector<StaffingRow> staffing(const Scenario& scenario, std::string_view policy,
                                  const SimulationOptions& options,
                                  const std::vector<StaffingBand>& bands, double target_share) {
  std::vector<StaffingRow> rows;
  for (const StaffingBand& band : bands) {
    StaffingRow row;
    row.band = band.name;
    Scenario part = scenario;
    part.requests.clear();
    for (const ScenarioRequest& r : scenario.requests) {
      if (in_band(r.at, scenario.utc_offset_minutes, band)) {
        part.requests.push_back(r);
        row.urgent += r.urgency == Urgency::kUrgent ? 1U : 0U;
      }
    }
    row.requests = part.requests.size();
    if (row.requests == 0) {
      row.teams = 0;
      rows.push_back(row);
      continue;
    }
    for (std::size_t n = 1; n <= scenario.teams.size(); ++n) {
      part.teams.assign(scenario.teams.begin(),
                        scenario.teams.begin() + static_cast<std::ptrdiff_t>(n));
      const double share = urgent_share(part, simulate(part, policy, options));
      row.urgent_within_target = share;
      if (share >= target_share) {
        row.teams = n;
        break;
      }
    }
    rows.push_back(row);
  }
  return rows;
}

std::string staffing_table(const std::vector<StaffingRow>& rows) {
  std::string out = "band                     requests  urgent  teams  urgent within 60 min\n";
  for (const StaffingRow& r : rows) {
    char line[160];
    const std::string teams = r.teams ? std::to_string(*r.teams) : std::string("none");
    std::snprintf(line, sizeof line, "%-24s %8zu %7zu %6s  %5.1f%%\n", r.band.c_str(), r.requests,
                  r.urgent, teams.c_str(), r.urgent_within_target * 100.0);
    out += line;
  }
  return out;
}

std::string staffing_to_json(const std::vector<StaffingRow>& rows) {
  std::string out = "[";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const StaffingRow& r = rows[i];
    char share[32];
    std::snprintf(share, sizeof share, "%.6g", r.urgent_within_target);
    out += (i == 0 ? "" : ",\n ");
    out += "{\"band\":\"" + r.band + "\",\"requests\":" + std::to_string(r.requests) +
           ",\"urgent\":" + std::to_string(r.urgent) +
           ",\"teams\":" + (r.teams ? std::to_string(*r.teams) : std::string("null")) +
           ",\"urgentWithinTarget\":" + share + "}";
  }
  out += "]\n";
  return out;
}

}  // namespace oshin::dispatcher
