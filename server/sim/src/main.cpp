// oshin-sim: the simulator's command line. Only wiring lives here (arguments, files, stdout, the
// wall clock); every rule is in dispatcher/.
//
//   oshin-sim run --scenario FILE --policy P [--seed N] [--json] [--trace FILE]
//   oshin-sim compare --scenario FILE [--seed N] [--json]
//   oshin-sim generate --kind quiet|surge|burst|metro [--seed N] [--out FILE]
//   oshin-sim staffing --scenario FILE|--data-dir DIR --from T --to T [--config FILE]
//                      [--policy P] [--seed N] [--json]
//   oshin-sim replay --data-dir DIR --from T --to T [--policy P|all] [--teams N[,N...]]
//                    [--config FILE] [--json]
// replay and staffing --data-dir read the server's store read-only (server/sim/src/recorded.cpp).

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "oshin/dispatcher/generator.hpp"
#include "oshin/dispatcher/kpis.hpp"
#include "oshin/dispatcher/rfc3339.hpp"
#include "oshin/dispatcher/scenario.hpp"
#include "oshin/dispatcher/simulator.hpp"
#include "oshin/dispatcher/staffing.hpp"
#include "oshin/http/config.hpp"
#include "oshin/sim/recorded.hpp"

namespace {

namespace d = oshin::dispatcher;

constexpr std::size_t kMaxScenarioBytes = 64U << 20U;

// Parsed "--name value" and "--flag" arguments.
struct Args {
  std::map<std::string, std::string, std::less<>> values;
  std::vector<std::string> flags;
  std::string error;

  [[nodiscard]] std::optional<std::string> get(std::string_view name) const {
    const auto it = values.find(name);
    if (it == values.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  [[nodiscard]] bool has(std::string_view flag) const {
    for (const std::string& f : flags) {
      if (f == flag) {
        return true;
      }
    }
    return false;
  }
};

Args parse_args(int argc, char** argv, int first, const std::vector<std::string_view>& with_value,
                const std::vector<std::string_view>& bare) {
  Args args;
  for (int i = first; i < argc; ++i) {
    const std::string_view a = argv[i];
    bool known = false;
    for (const std::string_view name : with_value) {
      if (a == name) {
        known = true;
        if (i + 1 >= argc) {
          args.error = std::string(a) + " needs a value";
          return args;
        }
        args.values[std::string(a)] = argv[++i];
      }
    }
    for (const std::string_view name : bare) {
      if (a == name) {
        known = true;
        args.flags.emplace_back(a);
      }
    }
    if (!known) {
      args.error = "unknown argument " + std::string(a);
      return args;
    }
  }
  return args;
}

std::optional<std::uint64_t> parse_seed(const Args& args, std::string& error) {
  const auto text = args.get("--seed");
  if (!text) {
    return 1;
  }
  std::uint64_t value = 0;
  for (const char c : *text) {
    if (c < '0' || c > '9' || value > (UINT64_MAX - 9) / 10) {
      error = "--seed must be a non-negative integer";
      return std::nullopt;
    }
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (text->empty()) {
    error = "--seed must be a non-negative integer";
    return std::nullopt;
  }
  return value;
}

std::optional<d::Scenario> load_scenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "oshin-sim: cannot open " << path << "\n";
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  const std::string body = text.str();
  if (body.size() > kMaxScenarioBytes) {
    std::cerr << "oshin-sim: " << path << " is larger than 64 MiB\n";
    return std::nullopt;
  }
  d::ScenarioResult result = d::parse_scenario(body);
  if (!result.scenario) {
    std::cerr << "oshin-sim: " << path << ": " << result.error << "\n";
    return std::nullopt;
  }
  return std::move(result.scenario);
}

d::SimulationOptions options_with_clock(std::uint64_t seed) {
  d::SimulationOptions options;
  options.seed = seed;
  options.now_ns = [] {
    return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::steady_clock::now().time_since_epoch())
                                         .count());
  };
  return options;
}

int usage_error(const std::string& message, std::string_view usage) {
  std::cerr << "oshin-sim: " << message << "\nusage: " << usage << "\n";
  return 2;
}

constexpr std::string_view kRunUsage =
    "oshin-sim run --scenario FILE --policy closest-idle|optimal|rolling|hindsight [--seed N] "
    "[--json] [--trace FILE]";
constexpr std::string_view kCompareUsage = "oshin-sim compare --scenario FILE [--seed N] [--json]";
constexpr std::string_view kGenerateUsage =
    "oshin-sim generate --kind quiet|surge|burst|metro [--seed N] [--out FILE]";
constexpr std::string_view kStaffingUsage =
    "oshin-sim staffing --scenario FILE | --data-dir DIR --from TIME --to TIME [--config FILE] "
    "[--policy closest-idle|optimal|rolling (default rolling)] [--seed N] [--json]";
constexpr std::string_view kReplayUsage =
    "oshin-sim replay --data-dir DIR --from TIME --to TIME "
    "[--policy closest-idle|optimal|rolling|hindsight|all (default all: the online ones)] "
    "[--teams N[,N...]] "
    "[--config FILE] [--json]";

// A recorded night read from a data dir, and the server settings it was dispatched with.
struct Recorded {
  oshin::sim::RecordedNight night;
  oshin::sim::ReplaySettings settings;
  int offset_minutes{0};
};

// Reads --data-dir, --from, --to and --config. Returns the exit code on failure.
std::variant<Recorded, int> load_recorded(const Args& args, std::string_view usage) {
  const auto dir = args.get("--data-dir");
  const auto from_text = args.get("--from");
  const auto to_text = args.get("--to");
  if (!dir || !from_text || !to_text) {
    return usage_error("--data-dir, --from and --to are required", usage);
  }
  const auto from = d::parse_rfc3339(*from_text);
  const auto to = d::parse_rfc3339(*to_text);
  if (!from || !to) {
    return usage_error("--from and --to must be RFC 3339 times", usage);
  }
  if (!(from->at < to->at)) {
    return usage_error("--from must be before --to", usage);
  }
  oshin::http::CommandLine command_line;
  command_line.config_file = args.get("--config");
  std::string error;
  auto config = oshin::http::load_config(command_line, &error);
  if (!config) {
    std::cerr << "oshin-sim: " << error << "\n";
    return 2;
  }
  Recorded r;
  r.settings = oshin::sim::settings_from_config(*config);
  r.offset_minutes = from->offset_minutes;
  auto log = oshin::sim::read_core_log(*dir, error);
  if (!log) {
    std::cerr << "oshin-sim: " << error << "\n";
    return 2;
  }
  auto night = oshin::sim::night_from_core_log(*log, from->at, to->at, r.settings, error);
  if (!night) {
    std::cerr << "oshin-sim: " << error << " (" << *from_text << " to " << *to_text << ")\n";
    return 2;
  }
  r.night = std::move(*night);
  // Time bands (staffing) are read in the window's own offset.
  r.night.scenario.utc_offset_minutes = from->offset_minutes;
  return r;
}

int run_command(int argc, char** argv) {
  const Args args =
      parse_args(argc, argv, 2, {"--scenario", "--policy", "--seed", "--trace"}, {"--json"});
  if (!args.error.empty()) {
    return usage_error(args.error, kRunUsage);
  }
  const auto file = args.get("--scenario");
  const auto policy = args.get("--policy");
  if (!file || !policy) {
    return usage_error("--scenario and --policy are required", kRunUsage);
  }
  bool known = false;
  for (const std::string_view p : d::simulator_policies()) {
    known = known || p == *policy;
  }
  if (!known) {
    return usage_error("unknown policy " + *policy, kRunUsage);
  }
  std::string error;
  const auto seed = parse_seed(args, error);
  if (!seed) {
    return usage_error(error, kRunUsage);
  }
  const auto scenario = load_scenario(*file);
  if (!scenario) {
    return 1;
  }
  const d::SimulationResult result = d::simulate(*scenario, *policy, options_with_clock(*seed));
  if (const auto trace = args.get("--trace")) {
    std::ofstream out(*trace, std::ios::binary | std::ios::trunc);
    for (const d::TraceLine& line : result.trace) {
      out << d::trace_line_to_json(line, scenario->utc_offset_minutes) << "\n";
    }
    if (!out) {
      std::cerr << "oshin-sim: cannot write " << *trace << "\n";
      return 1;
    }
  }
  if (args.has("--json")) {
    std::cout << d::kpis_to_json(result.kpis) << "\n";
  } else {
    std::cout << d::kpis_table({result.kpis});
  }
  return 0;
}

int compare_command(int argc, char** argv) {
  const Args args = parse_args(argc, argv, 2, {"--scenario", "--seed"}, {"--json"});
  if (!args.error.empty()) {
    return usage_error(args.error, kCompareUsage);
  }
  const auto file = args.get("--scenario");
  if (!file) {
    return usage_error("--scenario is required", kCompareUsage);
  }
  std::string error;
  const auto seed = parse_seed(args, error);
  if (!seed) {
    return usage_error(error, kCompareUsage);
  }
  const auto scenario = load_scenario(*file);
  if (!scenario) {
    return 1;
  }
  std::vector<d::Kpis> columns;
  for (const std::string_view policy : d::simulator_policies()) {
    columns.push_back(d::simulate(*scenario, policy, options_with_clock(*seed)).kpis);
  }
  if (args.has("--json")) {
    std::cout << "[";
    for (std::size_t i = 0; i < columns.size(); ++i) {
      std::cout << (i == 0 ? "" : ",\n ") << d::kpis_to_json(columns[i]);
    }
    std::cout << "]\n";
  } else {
    std::cout << d::kpis_table(columns);
  }
  return 0;
}

int generate_command(int argc, char** argv) {
  const Args args = parse_args(argc, argv, 2, {"--kind", "--seed", "--out"}, {});
  if (!args.error.empty()) {
    return usage_error(args.error, kGenerateUsage);
  }
  const auto kind = args.get("--kind");
  if (!kind) {
    return usage_error("--kind is required", kGenerateUsage);
  }
  std::string error;
  const auto seed = parse_seed(args, error);
  if (!seed) {
    return usage_error(error, kGenerateUsage);
  }
  const auto scenario = d::generate_scenario(*kind, *seed);
  if (!scenario) {
    return usage_error("unknown kind " + *kind, kGenerateUsage);
  }
  const std::string text = d::scenario_to_json(*scenario);
  if (const auto out_path = args.get("--out")) {
    std::ofstream out(*out_path, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) {
      std::cerr << "oshin-sim: cannot write " << *out_path << "\n";
      return 1;
    }
  } else {
    std::cout << text;
  }
  return 0;
}

int staffing_command(int argc, char** argv) {
  const Args args = parse_args(
      argc, argv, 2,
      {"--scenario", "--policy", "--seed", "--data-dir", "--from", "--to", "--config"}, {"--json"});
  if (!args.error.empty()) {
    return usage_error(args.error, kStaffingUsage);
  }
  const auto file = args.get("--scenario");
  if (file.has_value() == args.get("--data-dir").has_value()) {
    return usage_error("one of --scenario and --data-dir is required", kStaffingUsage);
  }
  const std::string policy = args.get("--policy").value_or("rolling");
  if (policy != "closest-idle" && policy != "optimal" && policy != "rolling") {
    return usage_error("unknown policy " + policy, kStaffingUsage);
  }
  std::string error;
  const auto seed = parse_seed(args, error);
  if (!seed) {
    return usage_error(error, kStaffingUsage);
  }
  std::optional<d::Scenario> scenario;
  if (file) {
    scenario = load_scenario(*file);
    if (!scenario) {
      return 1;
    }
  } else {
    auto recorded = load_recorded(args, kStaffingUsage);
    if (const int* code = std::get_if<int>(&recorded)) {
      return *code;
    }
    scenario = std::move(std::get<Recorded>(recorded).night.scenario);
  }
  const auto rows =
      d::staffing(*scenario, policy, options_with_clock(*seed), d::default_staffing_bands());
  std::cout << (args.has("--json") ? d::staffing_to_json(rows) : d::staffing_table(rows));
  return 0;
}

std::optional<std::vector<std::size_t>> parse_team_counts(const std::string& text) {
  std::vector<std::size_t> counts;
  std::size_t value = 0;
  bool digits = false;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      if (!digits || value == 0) {
        return std::nullopt;
      }
      counts.push_back(value);
      value = 0;
      digits = false;
    } else if (text[i] >= '0' && text[i] <= '9' && value < 10000) {
      value = value * 10 + static_cast<std::size_t>(text[i] - '0');
      digits = true;
    } else {
      return std::nullopt;
    }
  }
  return counts;
}

boost::json::array figures_json(const std::vector<oshin::sim::UrgencyFigures>& figures) {
  boost::json::array out;
  for (const auto& f : figures) {
    out.push_back(boost::json::object{{"urgency", d::urgency_name(f.urgency)},
                                      {"requests", f.requests},
                                      {"served", f.served},
                                      {"meanMin", f.mean_min},
                                      {"p50Min", f.p50_min},
                                      {"p90Min", f.p90_min},
                                      {"maxMin", f.max_min},
                                      {"withinTarget", f.within_target}});
  }
  return out;
}

boost::json::array visits_json(const Recorded& r, const std::vector<d::TraceLine>& trace) {
  boost::json::array out;
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const d::TraceLine& line = trace[i];
    boost::json::object v{{"visit", r.night.visit_ids[i]}};
    v["team"] = line.team ? boost::json::value(*line.team) : boost::json::value(nullptr);
    if (line.arrived_at) {
      v["arrivedAt"] = d::format_rfc3339(*line.arrived_at, r.offset_minutes);
      v["responseMin"] = d::to_minutes(*line.arrived_at - r.night.scenario.requests[i].at);
    } else {
      v["arrivedAt"] = nullptr;
      v["responseMin"] = nullptr;
    }
    out.push_back(std::move(v));
  }
  return out;
}

// The offline reference on the recorded demand: the whole night known in advance (recorded time
// on site, modelled drives, no answer delays), with `teams` teams made like replay_night's.
d::SimulationResult hindsight_of(const oshin::sim::RecordedNight& night, std::size_t teams) {
  d::Scenario scenario = night.scenario;
  scenario.teams.clear();
  const std::size_t recorded = night.scenario.teams.size();
  for (std::size_t j = 0; j < teams && recorded > 0; ++j) {
    d::ScenarioTeam t = night.scenario.teams[j % recorded];
    if (j >= recorded) {
      t.id += "+" + std::to_string(j / recorded);
    }
    scenario.teams.push_back(t);
  }
  return d::simulate(scenario, "hindsight", options_with_clock(1));
}

int replay_command(int argc, char** argv) {
  const Args args =
      parse_args(argc, argv, 2, {"--data-dir", "--from", "--to", "--policy", "--teams", "--config"},
                 {"--json"});
  if (!args.error.empty()) {
    return usage_error(args.error, kReplayUsage);
  }
  const std::string policy = args.get("--policy").value_or("all");
  std::vector<std::string> policies;
  if (policy == "all") {
    policies = {"closest-idle", "optimal", "rolling"};
  } else if (policy == "closest-idle" || policy == "optimal" || policy == "rolling" ||
             policy == "hindsight") {
    policies = {policy};
  } else {
    return usage_error("unknown policy " + policy, kReplayUsage);
  }
  std::optional<std::vector<std::size_t>> counts;
  if (const auto teams = args.get("--teams")) {
    counts = parse_team_counts(*teams);
    if (!counts) {
      return usage_error("--teams must be positive integers separated by commas", kReplayUsage);
    }
  }
  auto loaded = load_recorded(args, kReplayUsage);
  if (const int* code = std::get_if<int>(&loaded)) {
    return *code;
  }
  const Recorded& r = std::get<Recorded>(loaded);
  const std::size_t recorded_teams = r.night.scenario.teams.size();
  if (!counts) {
    counts = std::vector<std::size_t>{recorded_teams};
  }
  if (recorded_teams == 0) {
    std::cerr << "oshin-sim: no team was on shift in the window\n";
    return 2;
  }
  struct Run {
    std::string source;
    std::size_t teams{0};
    std::vector<d::TraceLine> trace;
    d::Kpis kpis;
  };
  std::vector<Run> runs{{"recorded", recorded_teams, r.night.recorded,
                         d::compute_kpis(r.night.scenario, "recorded", r.night.recorded)}};
  for (const std::string& p : policies) {
    for (const std::size_t n : *counts) {
      d::SimulationResult result = p == "hindsight"
                                       ? hindsight_of(r.night, n)
                                       : oshin::sim::replay_night(r.night, p, n, r.settings);
      runs.push_back({p, n, std::move(result.trace), std::move(result.kpis)});
    }
  }
  if (args.has("--json")) {
    boost::json::array out;
    for (const Run& run : runs) {
      out.push_back(boost::json::object{
          {"source", run.source},
          {"teams", run.teams},
          {"serverPolicy", run.source == r.settings.server_policy},
          {"urgencies", figures_json(oshin::sim::urgency_figures(r.night.scenario, run.trace))},
          {"kpis", boost::json::parse(d::kpis_to_json(run.kpis))},
          {"visits", visits_json(r, run.trace)}});
    }
    std::cout << boost::json::serialize(boost::json::object{
                     {"from", d::format_rfc3339(r.night.from, r.offset_minutes)},
                     {"to", d::format_rfc3339(r.night.to, r.offset_minutes)},
                     {"serverPolicy", r.settings.server_policy},
                     {"runs", std::move(out)}})
              << "\n";
    return 0;
  }
  std::printf("%-14s %5s %-7s %8s %6s %8s %8s %8s %8s %12s\n", "source", "teams", "urgency",
              "requests", "served", "meanMin", "p50Min", "p90Min", "maxMin", "withinTarget");
  for (const Run& run : runs) {
    const std::string name = run.source + (run.source == r.settings.server_policy ? "*" : "");
    for (const auto& f : oshin::sim::urgency_figures(r.night.scenario, run.trace)) {
      std::printf("%-14s %5zu %-7s %8zu %6zu %8.1f %8.1f %8.1f %8.1f %12.3f\n", name.c_str(),
                  run.teams, std::string(d::urgency_name(f.urgency)).c_str(), f.requests, f.served,
                  f.mean_min, f.p50_min, f.p90_min, f.max_min, f.within_target);
    }
  }
  std::printf("(* the server's policy; recorded = what the server actually did)\n\n");
  std::vector<d::Kpis> columns;
  for (const Run& run : runs) {
    columns.push_back(run.kpis);
    // "policy/teams", short enough for the table's columns.
    columns.back().policy = (run.source == "closest-idle" ? std::string("closest") : run.source) +
                            "/" + std::to_string(run.teams);
  }
  std::fflush(stdout);
  std::cout << d::kpis_table(columns);
  return 0;
}

struct Command {
  std::string_view name;
  int (*handler)(int, char**);
  std::string_view usage;
};

constexpr Command kCommands[] = {
    {"run", run_command, kRunUsage},
    {"compare", compare_command, kCompareUsage},
    {"generate", generate_command, kGenerateUsage},
    {"staffing", staffing_command, kStaffingUsage},
    {"replay", replay_command, kReplayUsage},
};

int print_usage(std::ostream& out) {
  out << "usage:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.usage << "\n";
  }
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return print_usage(std::cerr);
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (c.name == name) {
      return c.handler(argc, argv);
    }
  }
  std::cerr << "oshin-sim: unknown command " << name << "\n";
  return print_usage(std::cerr);
}
