#include "oshin/http/health.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/parse.hpp>

#include "oshin/http/codec.hpp"

namespace oshin::http {
namespace {

namespace bh = boost::beast::http;

Response call(const Router& router, std::string target) {
  auto ctx = std::make_shared<RequestContext>();
  ctx->request = Request{bh::verb::get, target, 11};
  std::optional<Response> got;
  router.dispatch(ctx, [&got](Response res) { got = std::move(res); });
  return got.value_or(Response{});
}

TEST(HealthRoutes, HealthReadyAndMetrics) {
  MetricsRegistry registry;
  ServerMetrics metrics(registry);
  metrics.http_requests_total.inc({"/healthz", "200"});
  std::atomic<bool> ready{true};
  Router router(nullptr);
  add_health_routes(
      router, [&ready] { return ready.load(); }, registry);

  auto res = call(router, "/healthz");
  EXPECT_EQ(res.result(), bh::status::ok);
  EXPECT_EQ(res.body(), R"({"status":"ok"})");

  res = call(router, "/readyz");
  EXPECT_EQ(res.result(), bh::status::ok);
  EXPECT_EQ(res.body(), R"({"status":"ok"})");
  ready = false;
  res = call(router, "/readyz");
  EXPECT_EQ(res.result(), bh::status::service_unavailable);
  EXPECT_EQ(boost::json::parse(res.body()).at("error").at("code").as_string(), "UNAVAILABLE");

  res = call(router, "/metrics");
  EXPECT_EQ(res.result(), bh::status::ok);
  EXPECT_EQ(res.at(bh::field::content_type), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(res.body().find("oshin_http_requests_total{route=\"/healthz\",code=\"200\"} 1"),
            std::string::npos)
      << res.body();
  EXPECT_NE(res.body().find("# TYPE oshin_http_request_duration_seconds histogram"),
            std::string::npos);
}

}  // namespace
}  // namespace oshin::http
