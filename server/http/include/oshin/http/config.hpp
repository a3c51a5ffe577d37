#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/v1/config.pb.h"

namespace oshin::http {

/// `oshin-server [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--demo]
/// [--clock-start TIME] [--help]`.
/// Options also accept the `--flag=value` form.
struct CommandLine {
  std::optional<std::string> config_file;
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  bool demo = false;
  bool help = false;
  /// `--clock-start RFC3339` (tests and demo replays): the server's clock starts at this instant
  /// and runs at real speed.
  std::optional<SystemTime> clock_start;
};

/// The usage text printed for --help and after a command-line error.
std::string_view usage();

/// Parses the command line (argv[0] is the program name). On failure returns
/// Errc::invalid_argument and, when `error` is not null, sets it to a one-line message.
Result<CommandLine> parse_command_line(int argc, const char* const* argv, std::string* error);

/// The built-in configuration (API.md "Server process" defaults).
oshin::v1::ServerConfig default_config();

/// Defaults, then the config file (proto3 JSON of oshin.v1.ServerConfig; unknown fields and bad
/// values rejected with a message naming the field; fields present in the file override the
/// defaults), then the flags; then validate_config(). On failure returns an Errc and sets
/// `error` (when not null) to a message for the operator.
Result<oshin::v1::ServerConfig> load_config(const CommandLine& command_line, std::string* error);

/// Checks ranges and formats (radius > 0, offer timeout 1..3600 s, "HH:MM" times, a listen
/// address parse_listen() accepts, a tier set, positive limits, ...). Sets `error` (when not
/// null) to the first problem found.
Result<void> validate_config(const oshin::v1::ServerConfig& config, std::string* error);

/// Parses "HOST:PORT": an IPv4 literal ("127.0.0.1:0"), a bracketed IPv6 literal
/// ("[::1]:8080") or "localhost" (127.0.0.1). No DNS lookups. Errc::invalid_argument otherwise.
Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view listen);

/// The HTTP limits and deadlines of a (validated) configuration.
HttpOptions http_options(const oshin::v1::ServerConfig& config);

}  // namespace oshin::http
