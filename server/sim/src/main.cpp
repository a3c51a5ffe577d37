// oshin-sim: the simulator's command line. Only wiring lives here (arguments, files, stdout, the
// wall clock); every rule is in dispatcher/.
//
//   oshin-sim run --scenario FILE --policy P [--seed N] [--json] [--trace FILE]
//   oshin-sim compare --scenario FILE [--seed N] [--json]
//   oshin-sim generate --kind quiet|surge|burst|metro [--seed N] [--out FILE]
//   oshin-sim staffing --scenario FILE [--policy P] [--seed N] [--json]
// (replay, and staffing --data-dir, slot into kCommands when the server's store can be read.)

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
#include <vector>

#include "oshin/dispatcher/generator.hpp"
#include "oshin/dispatcher/kpis.hpp"
#include "oshin/dispatcher/scenario.hpp"
#include "oshin/dispatcher/simulator.hpp"
#include "oshin/dispatcher/staffing.hpp"

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
    "oshin-sim staffing --scenario FILE [--policy closest-idle|optimal|rolling (default rolling)] "
    "[--seed N] [--json]";

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
  const Args args = parse_args(argc, argv, 2, {"--scenario", "--policy", "--seed"}, {"--json"});
  if (!args.error.empty()) {
    return usage_error(args.error, kStaffingUsage);
  }
  const auto file = args.get("--scenario");
  if (!file) {
    return usage_error("--scenario is required", kStaffingUsage);
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
  const auto scenario = load_scenario(*file);
  if (!scenario) {
    return 1;
  }
  const auto rows =
      d::staffing(*scenario, policy, options_with_clock(*seed), d::default_staffing_bands());
  std::cout << (args.has("--json") ? d::staffing_to_json(rows) : d::staffing_table(rows));
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
