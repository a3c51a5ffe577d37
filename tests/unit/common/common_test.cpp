#include <gtest/gtest.h>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/common/metrics.hpp"

namespace oshin {
namespace {

TEST(Errc, TableMapsStatusAndCode) {
  EXPECT_EQ(http_status(Errc::not_found), 404u);
  EXPECT_EQ(api_error_code(Errc::not_found), "NOT_FOUND");
  EXPECT_EQ(http_status(Errc::unknown_field), 400u);
  EXPECT_EQ(api_error_code(Errc::unknown_field), "INVALID_ARGUMENT");
  EXPECT_EQ(http_status(Errc::too_many_attempts), 429u);
  EXPECT_EQ(http_status(Errc::headers_too_large), 431u);
  EXPECT_EQ(http_status(Errc::idempotency_key_reused), 422u);
  EXPECT_EQ(api_error_code(Errc::storage_full), "UNAVAILABLE");
  EXPECT_EQ(http_status(Errc::storage_full), 503u);
  // Out-of-range values degrade to INTERNAL instead of reading past the table.
  EXPECT_EQ(http_status(static_cast<Errc>(9999)), 500u);
}

TEST(Errc, RoundTripsThroughErrorCode) {
  boost::system::error_code ec = Errc::offer_not_pending;
  EXPECT_EQ(to_errc(ec), Errc::offer_not_pending);
  EXPECT_EQ(std::string(ec.category().name()), "oshin");
  EXPECT_EQ(to_errc(boost::system::error_code{}), Errc::ok);
  EXPECT_EQ(to_errc(make_error_code(boost::system::errc::io_error)), Errc::internal);
  Result<int> r = Errc::already_exists;
  ASSERT_FALSE(r);
  EXPECT_EQ(to_errc(r.error()), Errc::already_exists);
}

TEST(Metrics, RendersPrometheusText) {
  MetricsRegistry reg;
  ServerMetrics m(reg);
  m.http_requests_total.inc({"/v1/me", "200"});
  m.http_requests_total.inc({"/v1/me", "200"});
  m.http_request_duration.observe({"/v1/me"}, 0.0007);
  m.ws_connections.add(3);
  std::string text = reg.render();
  EXPECT_NE(text.find("# TYPE oshin_http_requests_total counter"), std::string::npos);
  EXPECT_NE(text.find("oshin_http_requests_total{route=\"/v1/me\",code=\"200\"} 2"),
            std::string::npos);
  EXPECT_NE(
      text.find("oshin_http_request_duration_seconds_bucket{route=\"/v1/me\",le=\"0.001\"} 1"),
      std::string::npos);
  EXPECT_NE(
      text.find("oshin_http_request_duration_seconds_bucket{route=\"/v1/me\",le=\"0.0005\"} 0"),
      std::string::npos);
  EXPECT_NE(text.find("oshin_http_request_duration_seconds_count{route=\"/v1/me\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("oshin_ws_connections 3"), std::string::npos);
  EXPECT_EQ(m.http_requests_total.value({"/v1/me", "200"}), 2.0);
}

TEST(Metrics, EscapesLabelValues) {
  MetricsRegistry reg;
  auto& c = reg.counter("x_total", "x", {"l"});
  c.inc({"a\"b\\c\nd"});
  EXPECT_NE(reg.render().find("x_total{l=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(from_unix_ms(1000));
  EXPECT_EQ(to_unix_ms(c.now()), 1000);
  c.advance(std::chrono::seconds(2));
  EXPECT_EQ(to_unix_ms(c.now()), 3000);
  c.set(from_unix_ms(5));
  EXPECT_EQ(to_unix_ms(c.now()), 5);
}

}  // namespace
}  // namespace oshin
