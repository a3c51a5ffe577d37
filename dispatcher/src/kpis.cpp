#include "oshin/dispatcher/kpis.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "oshin/dispatcher/rfc3339.hpp"

namespace oshin::dispatcher {
namespace {

namespace json = boost::json;

double rounded(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

// The shortest decimal that reads back as the same double, never in exponent notation.
std::string json_number(double v) {
  if (!std::isfinite(v)) {
    return "null";
  }
  char buffer[400];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed);
  if (result.ec != std::errc()) {
    return "null";
  }
  return std::string(buffer, result.ptr);
}

std::string quoted(std::string_view text) {
  return json::serialize(json::string(text));
}

}  // namespace

double nearest_rank(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0.0;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
  const auto index =
      static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size())));
  return values[index - 1];
}

Kpis compute_kpis(const Scenario& scenario, std::string_view policy,
                  const std::vector<TraceLine>& trace) {
  Kpis k;
  k.policy = std::string(policy);
  k.requests = scenario.requests.size();
  std::map<std::string_view, const TraceLine*> by_request;
  for (const TraceLine& line : trace) {
    by_request.emplace(line.request, &line);
  }
  std::map<std::string_view, const ScenarioTeam*> teams;
  for (const ScenarioTeam& t : scenario.teams) {
    teams.emplace(t.id, &t);
  }
  std::map<std::string_view, TimePoint> last_completion;
  std::vector<double> responses;
  std::size_t late = 0;
  std::size_t urgent = 0;
  std::size_t urgent_late = 0;
  Duration busy{};
  for (const ScenarioRequest& r : scenario.requests) {
    const auto it = by_request.find(r.id);
    const TraceLine* line = it == by_request.end() ? nullptr : it->second;
    const bool served = line != nullptr && line->team && line->arrived_at;
    bool is_late = true;
    if (served) {
      const Duration response = *line->arrived_at - r.at;
      responses.push_back(to_minutes(response));
      is_late = response > target_response(r.urgency);
      if (line->departed_at && line->completed_at) {
        busy += *line->completed_at - *line->departed_at;
        auto& last = last_completion[*line->team];
        last = std::max(last, *line->completed_at);
      }
    }
    late += is_late ? 1U : 0U;
    if (r.urgency == Urgency::kUrgent) {
      ++urgent;
      urgent_late += is_late ? 1U : 0U;
    }
  }
  k.served = responses.size();
  k.unserved = k.requests - k.served;
  if (!responses.empty()) {
    double sum = 0.0;
    for (const double x : responses) {
      sum += x;
    }
    k.mean_response_min = sum / static_cast<double>(responses.size());
    k.p90_response_min = nearest_rank(responses, 90.0);
    k.max_response_min = *std::max_element(responses.begin(), responses.end());
  }
  if (k.requests > 0) {
    k.late_fraction = static_cast<double>(late) / static_cast<double>(k.requests);
  }
  if (urgent > 0) {
    k.late_fraction_urgent = static_cast<double>(urgent_late) / static_cast<double>(urgent);
  }
  Duration shift_time{};
  for (const ScenarioTeam& t : scenario.teams) {
    shift_time += t.shift_end - t.shift_start;
  }
  if (shift_time > Duration::zero()) {
    k.utilization = static_cast<double>(busy.count()) / static_cast<double>(shift_time.count());
  }
  k.worked_hours = to_minutes(busy) / 60.0;
  for (const auto& [team, last] : last_completion) {
    const auto t = teams.find(team);
    if (t != teams.end() && last > t->second->shift_end) {
      k.overtime_minutes += to_minutes(last - t->second->shift_end);
    }
  }
  return k;
}

std::string kpis_to_json(const Kpis& k) {
  std::string out = "{\"policy\":" + quoted(k.policy);
  const auto field = [&out](std::string_view key, double value) {
    out += ",\"";
    out += key;
    out += "\":";
    out += json_number(value);
  };
  field("requests", static_cast<double>(k.requests));
  field("served", static_cast<double>(k.served));
  field("unserved", static_cast<double>(k.unserved));
  field("meanResponseMin", rounded(k.mean_response_min));
  field("p90ResponseMin", rounded(k.p90_response_min));
  field("maxResponseMin", rounded(k.max_response_min));
  field("lateFraction", rounded(k.late_fraction));
  field("lateFractionUrgent", rounded(k.late_fraction_urgent));
  field("utilization", rounded(k.utilization));
  field("workedHours", rounded(k.worked_hours));
  field("overtimeMinutes", rounded(k.overtime_minutes));
  field("decisionP99Us", rounded(k.decision_p99_us));
  return out + "}";
}

std::string trace_line_to_json(const TraceLine& line, int offset_minutes) {
  std::string out = "{\"request\":" + quoted(line.request) + ",\"team\":";
  const bool served = line.team && line.arrived_at;
  if (!served) {
    return out + "null}";
  }
  out += quoted(*line.team);
  const auto put = [&](std::string_view key, const std::optional<TimePoint>& at) {
    if (at) {
      out += ",\"";
      out += key;
      out += "\":\"" + format_rfc3339(*at, offset_minutes) + "\"";
    }
  };
  put("offeredAt", line.offered_at);
  put("acceptedAt", line.accepted_at);
  put("departedAt", line.departed_at);
  put("arrivedAt", line.arrived_at);
  put("completedAt", line.completed_at);
  if (line.from) {
    out += ",\"from\":{\"lat\":" + json_number(line.from->lat) +
           ",\"lon\":" + json_number(line.from->lon) + "}";
  }
  return out + "}";
}

std::string kpis_table(const std::vector<Kpis>& columns) {
  struct Row {
    const char* name;
    double (*get)(const Kpis&);
    int precision;
  };
  static const Row kRows[] = {
      {"requests", [](const Kpis& k) { return static_cast<double>(k.requests); }, 0},
      {"served", [](const Kpis& k) { return static_cast<double>(k.served); }, 0},
      {"unserved", [](const Kpis& k) { return static_cast<double>(k.unserved); }, 0},
      {"meanResponseMin", [](const Kpis& k) { return k.mean_response_min; }, 1},
      {"p90ResponseMin", [](const Kpis& k) { return k.p90_response_min; }, 1},
      {"maxResponseMin", [](const Kpis& k) { return k.max_response_min; }, 1},
      {"lateFraction", [](const Kpis& k) { return k.late_fraction; }, 3},
      {"lateFractionUrgent", [](const Kpis& k) { return k.late_fraction_urgent; }, 3},
      {"utilization", [](const Kpis& k) { return k.utilization; }, 3},
      {"workedHours", [](const Kpis& k) { return k.worked_hours; }, 2},
      {"overtimeMinutes", [](const Kpis& k) { return k.overtime_minutes; }, 1},
      {"decisionP99Us", [](const Kpis& k) { return k.decision_p99_us; }, 1},
  };
  char cell[64];
  std::string out;
  std::snprintf(cell, sizeof cell, "%-20s", "policy");
  out += cell;
  for (const Kpis& k : columns) {
    std::snprintf(cell, sizeof cell, "%14s", k.policy.c_str());
    out += cell;
  }
  out += "\n";
  for (const Row& row : kRows) {
    std::snprintf(cell, sizeof cell, "%-20s", row.name);
    out += cell;
    for (const Kpis& k : columns) {
      std::snprintf(cell, sizeof cell, "%14.*f", row.precision, row.get(k));
      out += cell;
    }
    out += "\n";
  }
  return out;
}

}  // namespace oshin::dispatcher
