#pragma once

#include <functional>

#include "oshin/common/metrics.hpp"
#include "oshin/http/router.hpp"

namespace oshin::http {

/// Registers the unauthenticated operational endpoints (API.md "Health and metrics"):
///   GET /healthz -> 200 {"status":"ok"} (oshin.v1.HealthStatus)
///   GET /readyz  -> 200 {"status":"ok"} when `ready()` is true, else 503 UNAVAILABLE
///   GET /metrics -> 200 Prometheus text (text/plain; version=0.0.4) of `registry`
/// `ready` is called on connection strands, concurrently; `registry` must outlive the router.
/// Start-up only, like Router::add.
void add_health_routes(Router& router, std::function<bool()> ready, MetricsRegistry& registry);

}  // namespace oshin::http
