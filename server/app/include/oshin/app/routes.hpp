#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "oshin/app/account_service.hpp"
#include "oshin/app/idempotency.hpp"
#include "oshin/app/visit_service.hpp"
#include "oshin/http/codec.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"

namespace oshin::app {

/// Sessions and accounts: POST /v1/login, /v1/logout, GET /v1/me, /v1/organizations, /v1/users.
void add_account_routes(http::Router& router, AccountService& accounts, Idempotency& idempotency);

/// Audit review (ADMIN): GET /v1/audit, GET /v1/audit/verify. Reading the audit log is audited.
/// `work` runs the (possibly long) reads off the I/O threads and the store's completion thread.
void add_audit_routes(http::Router& router, storage::Store& store, const Clock& clock,
                      boost::asio::any_io_executor work);

/// Domain routes: patients, teams, visits, offers, progress, summaries, inbox, FHIR.
void add_domain_routes(http::Router& router, PatientService& patients, VisitService& visits,
                       Idempotency& idempotency, const Clock& clock);

/// The error response for a service failure.
http::Response failure_response(const http::Request& req, const Failure& failure);

/// The shape every creating POST shares: decode, idempotency, call the service, answer 201.
template <class Req, class Resp, class Call>
http::Handler creating(Idempotency& idempotency, Call call) {
  return [&idempotency, call](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
    Req req;
    http::ApiError err;
    if (!http::decode_body(ctx->request, req, &err)) {
      respond(http::make_error_response(ctx->request, err));
      return;
    }
    auto begun = idempotency.begin(*ctx, req);
    if (auto* finished = std::get_if<http::Response>(&begun)) {
      respond(std::move(*finished));
      return;
    }
    auto draft = std::get<std::optional<Idempotency::Draft>>(std::move(begun));
    call(ctx, std::move(req), idempotency.remember(draft, 201),
         [&idempotency, ctx, respond, draft](Outcome<Resp> r) {
           if (!r) {
             if (draft && r.error().code == Errc::already_exists) {
               // A concurrent retry with the same key may have won the race: answer as it did.
               if (auto replayed = idempotency.replay(*ctx, *draft)) {
                 respond(std::move(*replayed));
                 return;
               }
             }
             respond(failure_response(ctx->request, r.error()));
             return;
           }
           respond(http::make_response(ctx->request, http::beast_http::status::created, *r));
         });
  };
}

/// Parses an optional RFC 3339 query parameter; `fallback` when absent.
Outcome<SystemTime> time_param(const http::RequestContext& ctx, std::string_view name,
                               SystemTime fallback);

}  // namespace oshin::app
