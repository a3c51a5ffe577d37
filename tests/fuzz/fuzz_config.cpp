// libFuzzer target: the config loader. Input: the config file (proto3 JSON of ServerConfig),
// loaded by load_config() exactly as `oshin-server --config FILE` does (through a temp file),
// and the same bytes as a listen address and as NUL-separated command-line arguments.
// Properties: never crashes; a configuration load_config accepts passes validate_config and
// its listen address parses.
#include <google/protobuf/stubs/logging.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/http/config.hpp"

namespace {

const std::string& config_path() {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("oshin-fuzz-config-" + std::to_string(getpid())))
          .string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);  // protobuf's parse complaints would drown the output
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(config_path(), std::ios::binary | std::ios::trunc);
    out.write(input.data(), static_cast<std::streamsize>(input.size()));
  }
  oshin::http::CommandLine command_line;
  command_line.config_file = config_path();
  std::string error;
  auto config = oshin::http::load_config(command_line, &error);
  std::remove(config_path().c_str());  // libFuzzer ends with _Exit: no atexit clean-up
  if (config) {
    if (!oshin::http::validate_config(*config, nullptr)) {
      std::abort();
    }
    if (!oshin::http::parse_listen(config->listen())) {
      std::abort();
    }
    (void)oshin::http::http_options(*config);
  } else if (error.empty()) {
    std::abort();  // every refusal names its reason for the operator
  }

  (void)oshin::http::parse_listen(input);

  std::vector<std::string> args{"oshin-server"};
  std::string_view rest = input;
  while (!rest.empty() && args.size() < 16) {
    auto nul = rest.find('\0');
    args.emplace_back(rest.substr(0, nul));
    if (nul == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(nul + 1);
  }
  std::vector<const char*> argv;
  for (const auto& a : args) {
    argv.push_back(a.c_str());
  }
  std::string cl_error;
  (void)oshin::http::parse_command_line(static_cast<int>(argv.size()), argv.data(), &cl_error);
  return 0;
}
