#include "oshin/http/health.hpp"

#include "oshin/http/codec.hpp"
#include "oshin/v1/health.pb.h"

namespace oshin::http {

void add_health_routes(Router& router, std::function<bool()> ready, MetricsRegistry& registry) {
  router.add(beast_http::verb::get, "/healthz", Access::open(),
             [](std::shared_ptr<RequestContext> ctx, Responder respond) {
               oshin::v1::HealthStatus status;
               status.set_status("ok");
               respond(make_response(ctx->request, beast_http::status::ok, status));
             });
  router.add(beast_http::verb::get, "/readyz", Access::open(),
             [ready = std::move(ready)](std::shared_ptr<RequestContext> ctx, Responder respond) {
               if (ready && ready()) {
                 oshin::v1::ReadyStatus status;
                 status.set_status("ok");
                 respond(make_response(ctx->request, beast_http::status::ok, status));
                 return;
               }
               respond(make_error_response(ctx->request, Errc::unavailable, "not ready"));
             });
  router.add(beast_http::verb::get, "/metrics", Access::open(),
             [&registry](std::shared_ptr<RequestContext> ctx, Responder respond) {
               respond(make_raw_response(ctx->request, beast_http::status::ok, registry.render(),
                                         "text/plain; version=0.0.4; charset=utf-8"));
             },
             {"text/plain"});
}

}  // namespace oshin::http
