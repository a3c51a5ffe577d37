// Clinic operations reports (API.md "Clinic operations"): adapts HTTP to ReportService.
#include <algorithm>
#include <cctype>

#include "oshin/app/report_service.hpp"
#include "oshin/app/routes.hpp"
#include "oshin/http/codec.hpp"

namespace oshin::app {
namespace {

namespace bh = http::beast_http;

constexpr auto kMaxRange = std::chrono::hours(24 * 400);
constexpr auto kDefaultRange = std::chrono::hours(24 * 31);
constexpr std::string_view kCsv = "text/csv; charset=utf-8";

/// The report window: `to` defaults to now, `from` to 31 days before `to`; from < to, at most
/// 400 days.
Outcome<std::pair<SystemTime, SystemTime>> window(const http::RequestContext& ctx,
                                                  const Clock& clock) {
  auto to = time_param(ctx, "to", clock.now());
  if (!to) {
    return to.error();
  }
  auto from = time_param(ctx, "from", *to - kDefaultRange);
  if (!from) {
    return from.error();
  }
  if (*from >= *to) {
    return Failure{Errc::invalid_argument, "from must be before to", "from", {}};
  }
  if (*to - *from > kMaxRange) {
    return Failure{Errc::invalid_argument, "a report covers at most 400 days", "to", {}};
  }
  return std::pair{*from, *to};
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// CSV when the client asks for it: text/csv is acceptable and either JSON/protobuf is not, or
/// text/csv is the first type the Accept header names.
bool wants_csv(const http::Request& req) {
  auto it = req.find(bh::field::accept);
  if (it == req.end() || !http::accepts(req, "text/csv")) {
    return false;
  }
  if (!http::response_format(req)) {
    return true;
  }
  const auto accept = lower(std::string_view(it->value().data(), it->value().size()));
  const auto first = accept.find_first_not_of(" \t");
  return first != std::string::npos && accept.compare(first, 8, "text/csv") == 0;
}

template <class T, class ToCsv>
auto answer(std::shared_ptr<http::RequestContext> ctx, http::Responder respond, ToCsv to_csv) {
  return [ctx, respond, to_csv](Outcome<T> r) {
    if (!r) {
      respond(failure_response(ctx->request, r.error()));
      return;
    }
    if (wants_csv(ctx->request)) {
      respond(http::make_raw_response(ctx->request, bh::status::ok, to_csv(*r), kCsv));
      return;
    }
    respond(http::make_response(ctx->request, bh::status::ok, *r));
  };
}

}  // namespace

void add_report_routes(http::Router& router, ReportService& service, const Clock& clock) {
  const auto staff = http::Access::roles_of({Role::staff});
  const std::vector<std::string> with_csv = {"application/json", "application/x-protobuf",
                                             "text/csv"};

  router.add(
      bh::verb::get, "/v1/reports/demand", staff,
      [&service, &clock](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        auto w = window(*ctx, clock);
        if (!w) {
          respond(failure_response(ctx->request, w.error()));
          return;
        }
        service.demand(*ctx->principal, w->first, w->second, ctx->request_id,
                       [ctx, respond](Outcome<v1::DemandReport> r) {
                         if (!r) {
                           respond(failure_response(ctx->request, r.error()));
                           return;
                         }
                         respond(http::make_response(ctx->request, bh::status::ok, *r));
                       });
      });

  router.add(
      bh::verb::get, "/v1/reports/billing", staff,
      [&service, &clock](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        auto w = window(*ctx, clock);
        if (!w) {
          respond(failure_response(ctx->request, w.error()));
          return;
        }
        service.billing(*ctx->principal, w->first, w->second, ctx->request_id,
                        answer<v1::BillingReport>(ctx, respond, reports::billing_csv));
      },
      with_csv);

  router.add(
      bh::verb::get, "/v1/reports/payroll", staff,
      [&service, &clock](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        auto w = window(*ctx, clock);
        if (!w) {
          respond(failure_response(ctx->request, w.error()));
          return;
        }
        service.payroll(*ctx->principal, w->first, w->second, ctx->request_id,
                        answer<v1::PayrollReport>(ctx, respond, reports::payroll_csv));
      },
      with_csv);
}

}  // namespace oshin::app
