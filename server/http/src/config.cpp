#include "oshin/http/config.hpp"

#include <google/protobuf/util/time_util.h>

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "oshin/http/codec.hpp"

namespace oshin::http {
namespace {

using oshin::v1::ServerConfig;

constexpr std::size_t kMaxConfigFileBytes = 1024 * 1024;

Result<void> config_error(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
  return Errc::invalid_argument;
}

// "HH:MM", 00:00 .. 23:59.
bool is_hh_mm(std::string_view s) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (s.size() != 5 || s[2] != ':' || !digit(s[0]) || !digit(s[1]) || !digit(s[3]) ||
      !digit(s[4])) {
    return false;
  }
  int hours = (s[0] - '0') * 10 + (s[1] - '0');
  int minutes = (s[3] - '0') * 10 + (s[4] - '0');
  return hours < 24 && minutes < 60;
}

bool is_one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  for (std::string_view a : allowed) {
    if (value == a) {
      return true;
    }
  }
  return false;
}

Result<std::string> read_file(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error != nullptr) {
      *error = "cannot open config file " + path + ": " + std::strerror(errno);
    }
    return Errc::invalid_argument;
  }
  std::string text;
  std::array<char, 4096> chunk{};
  while (in) {
    in.read(chunk.data(), chunk.size());
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigFileBytes) {
      if (error != nullptr) {
        *error = "config file " + path + " is larger than 1 MiB";
      }
      return Errc::invalid_argument;
    }
  }
  if (in.bad()) {
    if (error != nullptr) {
      *error = "cannot read config file " + path;
    }
    return Errc::invalid_argument;
  }
  return text;
}

std::chrono::milliseconds seconds_or(bool has, std::int32_t seconds,
                                     std::chrono::milliseconds fallback) {
  return has ? std::chrono::milliseconds(std::chrono::seconds(seconds)) : fallback;
}

}  // namespace

std::string_view usage() {
  return "usage: oshin-server [--config FILE] [--listen HOST:PORT] [--data-dir DIR] [--demo] "
         "[--clock-start TIME] [--help]\n"
         "  --config FILE       JSON config (proto3 JSON of oshin.v1.ServerConfig)\n"
         "  --listen HOST:PORT  listen address (default 127.0.0.1:8080; port 0 picks one)\n"
         "  --data-dir DIR      data directory (default ./var)\n"
         "  --demo              seed a demo center, accounts, patients and teams\n"
         "  --clock-start TIME  for tests and demo replays only: run the clock from this RFC 3339\n"
         "                      instant at real speed (restart with a later one to move on)\n"
         "  --help              print this text\n";
}

Result<CommandLine> parse_command_line(int argc, const char* const* argv, std::string* error) {
  auto fail = [error](std::string message) -> Result<CommandLine> {
    if (error != nullptr) {
      *error = std::move(message);
    }
    return Errc::invalid_argument;
  };
  CommandLine out;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] == nullptr ? std::string_view() : std::string_view(argv[i]);
    std::string_view name = arg;
    std::optional<std::string_view> inline_value;
    if (arg.substr(0, 2) == "--") {
      if (auto eq = arg.find('='); eq != std::string_view::npos) {
        name = arg.substr(0, eq);
        inline_value = arg.substr(eq + 1);
      }
    }
    if (name == "--help" || name == "-h") {
      if (inline_value) {
        return fail("--help takes no value");
      }
      out.help = true;
      continue;
    }
    if (name == "--demo") {
      if (inline_value) {
        return fail("--demo takes no value");
      }
      out.demo = true;
      continue;
    }
    std::optional<std::string> clock_start;
    std::optional<std::string>* target = nullptr;
    if (name == "--clock-start") {
      target = &clock_start;
    } else if (name == "--config") {
      target = &out.config_file;
    } else if (name == "--listen") {
      target = &out.listen;
    } else if (name == "--data-dir") {
      target = &out.data_dir;
    } else {
      return fail("unknown argument: " + std::string(arg));
    }
    std::string_view value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argc && argv[i + 1] != nullptr) {
      value = argv[++i];
    } else {
      return fail(std::string(name) + " needs a value");
    }
    if (value.empty()) {
      return fail(std::string(name) + " needs a non-empty value");
    }
    *target = std::string(value);
    if (clock_start) {
      google::protobuf::Timestamp ts;
      // 1970..2200: the clock counts nanoseconds since 1970 in 64 bits (±292 years).
      constexpr std::int64_t kLatestClockStart = 7'258'118'400;  // 2200-01-01T00:00:00Z
      if (!google::protobuf::util::TimeUtil::FromString(*clock_start, &ts) || ts.seconds() < 0 ||
          ts.seconds() >= kLatestClockStart) {
        return fail(
            "--clock-start needs an RFC 3339 instant between 1970 and 2200, e.g. "
            "2026-11-20T21:00:00+09:00");
      }
      out.clock_start = from_unix_ms(google::protobuf::util::TimeUtil::TimestampToMilliseconds(ts));
    }
  }
  return out;
}

ServerConfig default_config() {
  ServerConfig c;
  c.set_listen("127.0.0.1:8080");
  c.set_data_dir("./var");
  c.set_timezone("Asia/Tokyo");
  c.mutable_center()->set_name("Hino night house-call center");
  c.mutable_center()->mutable_location()->set_lat(35.6716);
  c.mutable_center()->mutable_location()->set_lon(139.3950);
  c.set_service_radius_km(16);
  auto* hours = c.mutable_service_hours();
  hours->set_always(false);
  hours->set_weeknight_start("18:00");
  hours->set_weeknight_end("08:00");
  hours->set_holidays_all_day(true);
  c.set_offer_timeout_seconds(60);
  c.set_summary_ack_deadline("09:00");
  c.set_institution_tier(ServerConfig::ZAISHIN);
  c.mutable_pay()->set_doctor_hourly_yen(12000);
  c.mutable_pay()->set_driver_hourly_yen(2200);
  c.set_dispatch_policy("rolling");
  c.mutable_travel()->set_circuity(1.3);
  c.mutable_travel()->set_speed_kmh(28);
  c.mutable_travel()->set_fixed_minutes(4);
  c.mutable_sessions()->set_idle_timeout_seconds(1800);
  c.mutable_sessions()->set_absolute_timeout_seconds(43200);
  HttpOptions http;
  auto* limits = c.mutable_limits();
  limits->set_max_header_bytes(static_cast<std::int32_t>(http.max_header_bytes));
  limits->set_max_body_bytes(static_cast<std::int32_t>(http.max_body_bytes));
  limits->set_header_timeout_seconds(static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(http.header_timeout).count()));
  limits->set_body_timeout_seconds(static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(http.body_timeout).count()));
  limits->set_idle_timeout_seconds(static_cast<std::int32_t>(
      std::chrono::duration_cast<std::chrono::seconds>(http.idle_timeout).count()));
  limits->set_max_connections(static_cast<std::int32_t>(http.max_connections));
  limits->set_max_connections_per_address(
      static_cast<std::int32_t>(http.max_connections_per_address));
  limits->set_requests_per_second_per_address(1000);
  limits->set_burst_per_address(2000);
  limits->set_requests_per_second_per_account(100);
  limits->set_burst_per_account(200);
  c.set_log_level("info");
  c.mutable_storage()->set_kind("sqlite");
  c.mutable_retention()->set_idempotency_hours(48);
  c.mutable_retention()->set_delivered_webhook_days(30);
  c.mutable_retention()->set_sweep_interval_minutes(60);
  return c;
}

Result<ServerConfig> load_config(const CommandLine& command_line, std::string* error) {
  ServerConfig config = default_config();
  if (command_line.config_file) {
    const std::string& path = *command_line.config_file;
    auto text = read_file(path, error);
    if (!text) {
      return text.error();
    }
    ServerConfig file;
    ApiError parse_error;
    if (!parse_json(*text, file, &parse_error)) {
      if (error != nullptr) {
        if (parse_error.code == Errc::unknown_field && !parse_error.field.empty()) {
          *error = "config file " + path + ": unknown field \"" + parse_error.field + "\"";
        } else {
          *error = "config file " + path + ": " + parse_error.message;
        }
      }
      return Errc::invalid_argument;
    }
    // Scalars are proto3 `optional`, so MergeFrom copies exactly the fields the file names.
    config.MergeFrom(file);
    if (file.center().has_location()) {
      // A location is one value: lat and lon come together from the file.
      *config.mutable_center()->mutable_location() = file.center().location();
    }
  }
  if (command_line.listen) {
    config.set_listen(*command_line.listen);
  }
  if (command_line.data_dir) {
    config.set_data_dir(*command_line.data_dir);
  }
  if (command_line.demo) {
    config.set_demo(true);
  }
  if (auto valid = validate_config(config, error); !valid) {
    return valid.error();
  }
  return config;
}

Result<void> validate_config(const ServerConfig& c, std::string* error) {
  if (!parse_listen(c.listen())) {
    return config_error(error, "listen: \"" + c.listen() +
                                   "\" is not HOST:PORT (an IP address or localhost, port "
                                   "0..65535)");
  }
  if (c.data_dir().empty()) {
    return config_error(error, "dataDir: must not be empty");
  }
  if (c.timezone().empty()) {
    return config_error(error, "timezone: must not be empty");
  }
  const auto& loc = c.center().location();
  if (!(std::abs(loc.lat()) <= 90.0) || !(std::abs(loc.lon()) <= 180.0)) {
    return config_error(error, "center.location: lat must be in [-90, 90], lon in [-180, 180]");
  }
  if (!(c.service_radius_km() > 0.0) || !std::isfinite(c.service_radius_km())) {
    return config_error(error, "serviceRadiusKm: must be greater than 0");
  }
  if (c.offer_timeout_seconds() < 1 || c.offer_timeout_seconds() > 3600) {
    return config_error(error, "offerTimeoutSeconds: must be between 1 and 3600");
  }
  if (!is_hh_mm(c.service_hours().weeknight_start())) {
    return config_error(error, "serviceHours.weeknightStart: must be HH:MM (00:00..23:59)");
  }
  if (!is_hh_mm(c.service_hours().weeknight_end())) {
    return config_error(error, "serviceHours.weeknightEnd: must be HH:MM (00:00..23:59)");
  }
  if (!is_hh_mm(c.summary_ack_deadline())) {
    return config_error(error, "summaryAckDeadline: must be HH:MM (00:00..23:59)");
  }
  if (c.institution_tier() == ServerConfig::INSTITUTION_TIER_UNSPECIFIED ||
      !ServerConfig::InstitutionTier_IsValid(c.institution_tier())) {
    return config_error(error,
                        "institutionTier: must be KYOKA_BEDS, KYOKA_NO_BEDS, ZAISHIN or OTHER");
  }
  if (c.pay().doctor_hourly_yen() < 0 || c.pay().driver_hourly_yen() < 0) {
    return config_error(error, "pay: hourly rates must not be negative");
  }
  if (!is_one_of(c.dispatch_policy(), {"closest-idle", "optimal", "rolling"})) {
    return config_error(error, "dispatchPolicy: must be closest-idle, optimal or rolling");
  }
  const auto& travel = c.travel();
  if (!(travel.circuity() >= 1.0) || !std::isfinite(travel.circuity()) ||
      !(travel.speed_kmh() > 0.0) || !std::isfinite(travel.speed_kmh()) ||
      !(travel.fixed_minutes() >= 0.0) || !std::isfinite(travel.fixed_minutes())) {
    return config_error(error, "travel: circuity must be >= 1, speedKmh > 0 and fixedMinutes >= 0");
  }
  if (c.sessions().idle_timeout_seconds() <= 0 || c.sessions().absolute_timeout_seconds() <= 0) {
    return config_error(error, "sessions: timeouts must be greater than 0");
  }
  const auto& limits = c.limits();
  if (limits.max_header_bytes() < 1024 || limits.max_body_bytes() < 1024) {
    return config_error(error, "limits: maxHeaderBytes and maxBodyBytes must be at least 1024");
  }
  if (limits.header_timeout_seconds() <= 0 || limits.body_timeout_seconds() <= 0 ||
      limits.idle_timeout_seconds() <= 0) {
    return config_error(error, "limits: timeouts must be greater than 0");
  }
  if ((limits.has_max_connections() && limits.max_connections() <= 0) ||
      (limits.has_max_connections_per_address() && limits.max_connections_per_address() <= 0)) {
    return config_error(error, "limits: connection limits must be greater than 0");
  }
  if (limits.has_stream_queue_events() &&
      (limits.stream_queue_events() < 1 || limits.stream_queue_events() > 1'000'000)) {
    return config_error(error, "limits.streamQueueEvents: must be between 1 and 1000000");
  }
  if (limits.has_stream_send_buffer_bytes() && limits.stream_send_buffer_bytes() != 0 &&
      (limits.stream_send_buffer_bytes() < 1024 ||
       limits.stream_send_buffer_bytes() > 64 * 1024 * 1024)) {
    return config_error(error,
                        "limits.streamSendBufferBytes: must be 0 or between 1024 and 67108864");
  }
  for (auto [rate, burst, name] :
       {std::tuple{limits.requests_per_second_per_address(), limits.burst_per_address(),
                   "limits.requestsPerSecondPerAddress/burstPerAddress"},
        std::tuple{limits.requests_per_second_per_account(), limits.burst_per_account(),
                   "limits.requestsPerSecondPerAccount/burstPerAccount"}}) {
    if (!std::isfinite(rate) || rate < 0 || !std::isfinite(burst) || (rate > 0 && burst < 1)) {
      return config_error(
          error, std::string(name) + ": the rate must be >= 0 (0 = off) and the burst >= 1");
    }
  }
  if (c.has_threads() && (c.threads() < 0 || c.threads() > 256)) {
    return config_error(error, "threads: must be between 0 and 256");
  }
  if (c.has_log_level() &&
      !is_one_of(c.log_level(), {"trace", "debug", "info", "warn", "error", "critical", "off"})) {
    return config_error(error,
                        "logLevel: must be trace, debug, info, warn, error, critical or off");
  }
  if (c.has_storage() && c.storage().has_kind()) {
    if (!is_one_of(c.storage().kind(), {"sqlite", "postgres"})) {
      return config_error(error, "storage.kind: must be sqlite or postgres");
    }
    if (c.storage().kind() == "postgres" && c.storage().dsn().empty()) {
      return config_error(error, "storage.dsn: required when storage.kind is postgres");
    }
  }
  if (c.tls().cert_file().empty() != c.tls().key_file().empty()) {
    return config_error(error, "tls: certFile and keyFile go together");
  }
  if (!c.tls().client_ca_file().empty() && c.tls().cert_file().empty()) {
    return config_error(error, "tls.clientCaFile: needs tls.certFile and tls.keyFile");
  }
  if (c.tls().require_client_cert() && c.tls().client_ca_file().empty()) {
    return config_error(error, "tls.requireClientCert: needs tls.clientCaFile");
  }
  for (int role : c.totp().required_roles()) {
    if (role == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(role)) {
      return config_error(error, "totp.requiredRoles: must name roles (ADMIN, STAFF, ...)");
    }
  }
  if (c.storage().kind() == "postgres") {
    return config_error(error, "storage.kind: postgres is not available in this build");
  }
  if (c.has_allowed_overtime_minutes() && c.allowed_overtime_minutes() < 0) {
    return config_error(error, "allowedOvertimeMinutes: must not be negative");
  }
  // Absent fields take RetentionOptions' defaults (48 h, 30 days, 60 min).
  const auto& keep = c.retention();
  if (keep.has_idempotency_hours() &&
      (keep.idempotency_hours() < 24 || keep.idempotency_hours() > 24 * 366)) {
    return config_error(error, "retention.idempotencyHours: must be between 24 and 8784");
  }
  if (keep.has_delivered_webhook_days() &&
      (keep.delivered_webhook_days() < 1 || keep.delivered_webhook_days() > 3660)) {
    return config_error(error, "retention.deliveredWebhookDays: must be between 1 and 3660");
  }
  if (keep.has_sweep_interval_minutes() &&
      (keep.sweep_interval_minutes() < 1 || keep.sweep_interval_minutes() > 24 * 60)) {
    return config_error(error, "retention.sweepIntervalMinutes: must be between 1 and 1440");
  }
  return {};
}

Result<boost::asio::ip::tcp::endpoint> parse_listen(std::string_view listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == listen.size()) {
    return Errc::invalid_argument;
  }
  std::string_view host = listen.substr(0, colon);
  std::string_view port_text = listen.substr(colon + 1);
  unsigned port = 0;
  if (port_text.size() > 5) {
    return Errc::invalid_argument;
  }
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Errc::invalid_argument;
  }
  boost::asio::ip::address address;
  boost::system::error_code parse_ec;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return Errc::invalid_argument;
    }
    address =
        boost::asio::ip::make_address_v6(std::string(host.substr(1, host.size() - 2)), parse_ec);
  } else if (host == "localhost") {
    address = boost::asio::ip::address_v4::loopback();
  } else if (host.find(':') != std::string_view::npos) {
    // An IPv6 literal needs brackets: "[::1]:8080".
    return Errc::invalid_argument;
  } else {
    address = boost::asio::ip::make_address_v4(std::string(host), parse_ec);
  }
  if (parse_ec) {
    return Errc::invalid_argument;
  }
  return boost::asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
}

HttpOptions http_options(const ServerConfig& config) {
  HttpOptions o;
  const auto& limits = config.limits();
  if (limits.has_max_connections_per_address() && limits.max_connections_per_address() > 0) {
    o.max_connections_per_address = static_cast<std::size_t>(limits.max_connections_per_address());
  }
  if (limits.has_max_header_bytes() && limits.max_header_bytes() > 0) {
    o.max_header_bytes = static_cast<std::size_t>(limits.max_header_bytes());
  }
  if (limits.has_max_body_bytes() && limits.max_body_bytes() > 0) {
    o.max_body_bytes = static_cast<std::size_t>(limits.max_body_bytes());
  }
  o.header_timeout =
      seconds_or(limits.has_header_timeout_seconds() && limits.header_timeout_seconds() > 0,
                 limits.header_timeout_seconds(), o.header_timeout);
  o.body_timeout =
      seconds_or(limits.has_body_timeout_seconds() && limits.body_timeout_seconds() > 0,
                 limits.body_timeout_seconds(), o.body_timeout);
  o.idle_timeout =
      seconds_or(limits.has_idle_timeout_seconds() && limits.idle_timeout_seconds() > 0,
                 limits.idle_timeout_seconds(), o.idle_timeout);
  if (limits.has_max_connections() && limits.max_connections() > 0) {
    o.max_connections = static_cast<std::size_t>(limits.max_connections());
  }
  return o;
}

}  // namespace oshin::http
