#include "oshin/http/config.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <vector>

namespace oshin::http {
namespace {

using oshin::v1::ServerConfig;

// A config file in a per-test temporary directory, removed at the end of the test.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info != nullptr ? info->name() : "test";
    dir_ = std::filesystem::temp_directory_path() /
           ("oshin-http-config-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write_config(const std::string& json) {
    auto path = dir_ / "config.json";
    std::ofstream(path) << json;
    return path.string();
  }

  Result<ServerConfig> load_file(const std::string& json, std::string* error) {
    CommandLine cl;
    cl.config_file = write_config(json);
    return load_config(cl, error);
  }

  std::filesystem::path dir_;
};

Result<CommandLine> parse(std::initializer_list<const char*> args, std::string* error) {
  std::array<const char*, 16> argv{};
  std::size_t argc = 0;
  argv[argc++] = "oshin-server";
  for (const char* arg : args) {
    if (argc < argv.size()) {
      argv[argc++] = arg;
    }
  }
  return parse_command_line(static_cast<int>(argc), argv.data(), error);
}

TEST_F(ConfigTest, DefaultsMatchTheContract) {
  std::string error;
  auto config = load_config(CommandLine{}, &error);
  ASSERT_TRUE(config) << error;
  const ServerConfig& c = config.value();
  EXPECT_EQ(c.listen(), "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir(), "./var");
  EXPECT_EQ(c.timezone(), "Asia/Tokyo");
  EXPECT_EQ(c.center().name(), "Hino night house-call center");
  EXPECT_DOUBLE_EQ(c.center().location().lat(), 35.6716);
  EXPECT_DOUBLE_EQ(c.center().location().lon(), 139.3950);
  EXPECT_DOUBLE_EQ(c.service_radius_km(), 16.0);
  EXPECT_FALSE(c.service_hours().always());
  EXPECT_EQ(c.service_hours().weeknight_start(), "18:00");
  EXPECT_EQ(c.service_hours().weeknight_end(), "08:00");
  EXPECT_TRUE(c.service_hours().holidays_all_day());
  EXPECT_EQ(c.offer_timeout_seconds(), 60);
  EXPECT_EQ(c.summary_ack_deadline(), "09:00");
  EXPECT_EQ(c.institution_tier(), ServerConfig::ZAISHIN);
  EXPECT_EQ(c.pay().doctor_hourly_yen(), 12000);
  EXPECT_EQ(c.pay().driver_hourly_yen(), 2200);
  EXPECT_EQ(c.dispatch_policy(), "rolling");
  EXPECT_DOUBLE_EQ(c.travel().circuity(), 1.3);
  EXPECT_DOUBLE_EQ(c.travel().speed_kmh(), 28.0);
  EXPECT_DOUBLE_EQ(c.travel().fixed_minutes(), 4.0);
  EXPECT_EQ(c.sessions().idle_timeout_seconds(), 1800);
  EXPECT_EQ(c.sessions().absolute_timeout_seconds(), 43200);
  EXPECT_EQ(c.limits().max_header_bytes(), 8192);
  EXPECT_EQ(c.limits().max_body_bytes(), 65536);
  EXPECT_FALSE(c.demo());
  EXPECT_EQ(c.retention().idempotency_hours(), 48);
  EXPECT_EQ(c.retention().delivered_webhook_days(), 30);
  EXPECT_EQ(c.retention().sweep_interval_minutes(), 60);

  HttpOptions o = http_options(c);
  EXPECT_EQ(o.max_header_bytes, 8192U);
  EXPECT_EQ(o.max_body_bytes, 65536U);
  EXPECT_EQ(o.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(o.body_timeout, std::chrono::seconds(30));
  EXPECT_EQ(o.idle_timeout, std::chrono::seconds(60));
}

TEST_F(ConfigTest, FileOverridesDefaultsFieldByField) {
  std::string error;
  auto config = load_file(R"({
    "listen": "127.0.0.1:9000",
    "serviceRadiusKm": 20,
    "serviceHours": {"always": true, "holidaysAllDay": false},
    "center": {"location": {"lat": 35.7, "lon": 139.4}},
    "pay": {"driverHourlyYen": 0},
    "institutionTier": "KYOKA_BEDS",
    "limits": {"headerTimeoutSeconds": 5}
  })",
                          &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config.value().listen(), "127.0.0.1:9000");
  EXPECT_DOUBLE_EQ(config.value().service_radius_km(), 20.0);
  EXPECT_TRUE(config.value().service_hours().always());
  EXPECT_FALSE(config.value().service_hours().holidays_all_day());       // explicit false wins
  EXPECT_EQ(config.value().service_hours().weeknight_start(), "18:00");  // untouched default
  EXPECT_EQ(config.value().center().name(), "Hino night house-call center");
  EXPECT_DOUBLE_EQ(config.value().center().location().lat(), 35.7);
  EXPECT_EQ(config.value().pay().driver_hourly_yen(), 0);  // explicit zero wins
  EXPECT_EQ(config.value().pay().doctor_hourly_yen(), 12000);
  EXPECT_EQ(config.value().institution_tier(), ServerConfig::KYOKA_BEDS);
  EXPECT_EQ(config.value().offer_timeout_seconds(), 60);
  EXPECT_EQ(config.value().data_dir(), "./var");
  EXPECT_EQ(http_options(config.value()).header_timeout, std::chrono::seconds(5));
  EXPECT_EQ(http_options(config.value()).body_timeout, std::chrono::seconds(30));
}

TEST_F(ConfigTest, FlagsOverrideFile) {
  std::string path = write_config(R"({"listen":"127.0.0.1:9000","dataDir":"/srv/oshin"})");
  std::string error;
  auto cl = parse({"--config", path.c_str(), "--listen=[::1]:0", "--demo"}, &error);
  ASSERT_TRUE(cl) << error;
  auto config = load_config(cl.value(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config.value().listen(), "[::1]:0");
  EXPECT_EQ(config.value().data_dir(), "/srv/oshin");
  EXPECT_TRUE(config.value().demo());

  cl = parse({"--config", path.c_str(), "--data-dir", "/tmp/d"}, &error);
  ASSERT_TRUE(cl) << error;
  config = load_config(cl.value(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config.value().listen(), "127.0.0.1:9000");
  EXPECT_EQ(config.value().data_dir(), "/tmp/d");
}

TEST_F(ConfigTest, UnknownFieldIsRejectedByName) {
  std::string error;
  EXPECT_FALSE(load_file(R"({"center":{"nmae":"x"}})", &error));
  EXPECT_NE(error.find("\"center.nmae\""), std::string::npos) << error;
  EXPECT_NE(error.find("unknown field"), std::string::npos) << error;

  EXPECT_FALSE(load_file(R"({"listen":"127.0.0.1:1","listenAddress":"x"})", &error));
  EXPECT_NE(error.find("listenAddress"), std::string::npos) << error;
}

TEST_F(ConfigTest, BadValuesAreRejectedWithMessages) {
  struct Case {
    std::string json;
    std::string mentions;
  };
  std::vector<Case> cases = {
      {R"({"serviceRadiusKm": 0})", "serviceRadiusKm"},
      {R"({"serviceRadiusKm": -3})", "serviceRadiusKm"},
      {R"({"offerTimeoutSeconds": 0})", "offerTimeoutSeconds"},
      {R"({"offerTimeoutSeconds": 3601})", "offerTimeoutSeconds"},
      {R"({"serviceHours": {"weeknightStart": "25:00"}})", "weeknightStart"},
      {R"({"serviceHours": {"weeknightEnd": "8:00"}})", "weeknightEnd"},
      {R"({"summaryAckDeadline": "09:60"})", "summaryAckDeadline"},
      {R"({"institutionTier": "INSTITUTION_TIER_UNSPECIFIED"})", "institutionTier"},
      {R"({"institutionTier": "NOPE"})", "institutionTier"},
      {R"({"listen": "nowhere"})", "listen"},
      {R"({"listen": "example.com:80"})", "listen"},
      {R"({"dispatchPolicy": "random"})", "dispatchPolicy"},
      {R"({"offerTimeoutSeconds": "soon"})", "offerTimeoutSeconds"},
      {R"({"limits": {"maxBodyBytes": 0}})", "limits"},
      {R"({"limits": {"streamQueueEvents": 0}})", "limits.streamQueueEvents"},
      {R"({"limits": {"requestsPerSecondPerAccount": 5, "burstPerAccount": 0}})",
       "limits.requestsPerSecondPerAccount"},
      {R"({"tls": {"certFile": "c.pem"}})", "tls: certFile and keyFile go together"},
      {R"({"tls": {"keyFile": "k.pem"}})", "tls: certFile and keyFile go together"},
      {R"({"tls": {"clientCaFile": "ca.pem"}})", "tls.clientCaFile"},
      {R"({"tls": {"certFile": "c.pem", "keyFile": "k.pem", "requireClientCert": true}})",
       "tls.requireClientCert"},
      {R"({"totp": {"enabled": true, "requiredRoles": ["ROLE_UNSPECIFIED"]}})",
       "totp.requiredRoles"},
      {R"({"storage": {"kind": "postgres", "dsn": "host=x"}})", "postgres"},
      {R"({"limits": {"streamSendBufferBytes": 100}})", "limits.streamSendBufferBytes"},
      {R"({"center": {"location": {"lat": 91, "lon": 0}}})", "center.location"},
      {R"({"listen": )", "malformed JSON"},
      {R"({"retention": {"idempotencyHours": 23}})", "retention.idempotencyHours"},
      {R"({"retention": {"idempotencyHours": 100000}})", "retention.idempotencyHours"},
      {R"({"retention": {"deliveredWebhookDays": 0}})", "retention.deliveredWebhookDays"},
      {R"({"retention": {"sweepIntervalMinutes": 0}})", "retention.sweepIntervalMinutes"},
      {R"({"retention": {"sweepIntervalMinutes": 1441}})", "retention.sweepIntervalMinutes"},
  };
  for (const Case& c : cases) {
    std::string error;
    auto config = load_file(c.json, &error);
    EXPECT_FALSE(config) << c.json;
    EXPECT_NE(error.find(c.mentions), std::string::npos) << c.json << " -> " << error;
  }
}

TEST_F(ConfigTest, TotpCanBeTurnedOnWithOrWithoutRoles) {
  std::string error;
  auto plain = load_file(R"({"totp": {"enabled": true}})", &error);
  ASSERT_TRUE(plain) << error;
  EXPECT_TRUE(plain->totp().enabled());
  EXPECT_EQ(plain->totp().required_roles_size(), 0);  // ADMIN and STAFF (server_main)
  auto roles =
      load_file(R"({"totp": {"enabled": true, "requiredRoles": ["ADMIN", "DOCTOR"]}})", &error);
  ASSERT_TRUE(roles) << error;
  ASSERT_EQ(roles->totp().required_roles_size(), 2);
  EXPECT_EQ(roles->totp().required_roles(1), v1::DOCTOR);
  EXPECT_FALSE(load_file(R"({"totp": {"enabled": true, "requiredRoles": ["NOBODY"]}})", &error));
}

TEST_F(ConfigTest, TlsBlockIsAcceptedWhenComplete) {
  // The files themselves are read (and checked) when the server starts, not here.
  std::string error;
  auto config = load_file(R"({"tls": {"certFile": "c.pem", "keyFile": "k.pem",
                                      "clientCaFile": "ca.pem", "requireClientCert": true}})",
                          &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->tls().cert_file(), "c.pem");
  EXPECT_EQ(config->tls().key_file(), "k.pem");
  EXPECT_EQ(config->tls().client_ca_file(), "ca.pem");
  EXPECT_TRUE(config->tls().require_client_cert());

  auto optional_client = load_file(
      R"({"tls": {"certFile": "c.pem", "keyFile": "k.pem", "clientCaFile": "ca.pem"}})", &error);
  ASSERT_TRUE(optional_client) << error;
  EXPECT_FALSE(optional_client->tls().require_client_cert());
}

TEST_F(ConfigTest, MissingFileIsAnError) {
  CommandLine cl;
  cl.config_file = (dir_ / "absent.json").string();
  std::string error;
  EXPECT_FALSE(load_config(cl, &error));
  EXPECT_NE(error.find("absent.json"), std::string::npos) << error;
}

TEST_F(ConfigTest, BadFlagValueIsValidated) {
  CommandLine cl;
  cl.listen = "127.0.0.1:99999";
  std::string error;
  EXPECT_FALSE(load_config(cl, &error));
  EXPECT_NE(error.find("listen"), std::string::npos) << error;
}

TEST(CommandLineTest, ParsesAllFlags) {
  std::string error;
  auto cl =
      parse({"--config", "c.json", "--listen", "127.0.0.1:0", "--data-dir=/d", "--demo"}, &error);
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(cl.value().config_file, "c.json");
  EXPECT_EQ(cl.value().listen, "127.0.0.1:0");
  EXPECT_EQ(cl.value().data_dir, "/d");
  EXPECT_TRUE(cl.value().demo);
  EXPECT_FALSE(cl.value().help);

  cl = parse({}, &error);
  ASSERT_TRUE(cl);
  EXPECT_FALSE(cl.value().config_file);
  EXPECT_FALSE(cl.value().demo);

  cl = parse({"--help"}, &error);
  ASSERT_TRUE(cl);
  EXPECT_TRUE(cl.value().help);
  EXPECT_NE(usage().find("--listen HOST:PORT"), std::string_view::npos);
}

TEST(CommandLineTest, RejectsBadArguments) {
  std::string error;
  EXPECT_FALSE(parse({"--listen"}, &error));
  EXPECT_NE(error.find("--listen"), std::string::npos) << error;
  EXPECT_FALSE(parse({"--port", "80"}, &error));
  EXPECT_NE(error.find("--port"), std::string::npos) << error;
  EXPECT_FALSE(parse({"extra"}, &error));
  EXPECT_FALSE(parse({"--demo=yes"}, &error));
  EXPECT_FALSE(parse({"--config="}, &error));
}

TEST(ParseListen, AcceptsLiteralsAndLocalhost) {
  using boost::asio::ip::make_address;
  auto e = parse_listen("127.0.0.1:0");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.value().address(), make_address("127.0.0.1"));
  EXPECT_EQ(e.value().port(), 0);

  e = parse_listen("[::1]:8080");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.value().address(), make_address("::1"));
  EXPECT_EQ(e.value().port(), 8080);

  e = parse_listen("localhost:8080");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.value().address(), make_address("127.0.0.1"));

  e = parse_listen("0.0.0.0:65535");
  ASSERT_TRUE(e);
  EXPECT_EQ(e.value().port(), 65535);
}

TEST(ParseListen, RejectsEverythingElse) {
  for (const char* bad :
       {"", "127.0.0.1", "127.0.0.1:", ":8080", "example.com:80", "::1:8080", "[::1]", "[::1]8080",
        "[zz]:80", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", "127.0.0.1: 80",
        "256.0.0.1:80", "[]:80", "127.0.0.1:0000080"}) {
    EXPECT_FALSE(parse_listen(bad)) << bad;
  }
}

TEST(CommandLineTest, ClockStartTakesAnRfc3339Instant) {
  std::string error;
  auto cl = parse({"--clock-start", "2026-11-20T21:00:00+09:00"}, &error);
  ASSERT_TRUE(cl) << error;
  ASSERT_TRUE(cl.value().clock_start);
  EXPECT_EQ(to_unix_ms(*cl.value().clock_start), 1795176000000);  // 2026-11-20T12:00:00Z
  cl = parse({"--clock-start=2026-11-20T12:00:00Z"}, &error);
  ASSERT_TRUE(cl) << error;
  EXPECT_EQ(to_unix_ms(*cl.value().clock_start), 1795176000000);
  EXPECT_FALSE(parse({}, &error).value().clock_start);
  EXPECT_FALSE(parse({"--clock-start", "tonight"}, &error));
  EXPECT_NE(error.find("--clock-start"), std::string::npos) << error;
  // Outside what a 64-bit nanosecond clock holds (found by fuzz_config under UBSan).
  EXPECT_FALSE(parse({"--clock-start", "1013-01-01T00:00:00Z"}, &error));
  EXPECT_NE(error.find("between 1970 and 2200"), std::string::npos) << error;
  EXPECT_FALSE(parse({"--clock-start", "9999-12-31T23:59:59Z"}, &error));
  EXPECT_TRUE(parse({"--clock-start", "2199-12-31T23:59:59Z"}, &error)) << error;
  EXPECT_NE(usage().find("--clock-start"), std::string_view::npos);
}

}  // namespace
}  // namespace oshin::http
