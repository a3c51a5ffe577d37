#include <google/protobuf/empty.pb.h>
#include <google/protobuf/util/time_util.h>

#include "oshin/app/routes.hpp"
#include "oshin/http/codec.hpp"
#include "oshin/v1/accounts.pb.h"

namespace oshin::app {
namespace {

namespace bh = http::beast_http;
using google::protobuf::util::TimeUtil;

}  // namespace

http::Response failure_response(const http::Request& req, const Failure& failure) {
  return http::make_error_response(
      req, http::ApiError{failure.code, failure.message, failure.field, failure.visit_id});
}

Outcome<SystemTime> time_param(const http::RequestContext& ctx, std::string_view name,
                               SystemTime fallback) {
  auto v = ctx.query_param(name);
  if (!v) {
    return fallback;
  }
  google::protobuf::Timestamp ts;
  if (v->empty() || v->size() > 64 || !TimeUtil::FromString(*v, &ts)) {
    return Failure{Errc::invalid_argument,
                   std::string(name) + " must be an RFC 3339 instant, e.g. 2026-11-24T09:00:00Z",
                   std::string(name),
                   {}};
  }
  // SystemTime counts nanoseconds in 64 bits: it ends in 2262. Keep well inside it.
  constexpr std::int64_t kMaxMs = 7258118400000;  // 2200-01-01T00:00:00Z
  std::int64_t ms = TimeUtil::TimestampToMilliseconds(ts);
  if (ms < 0 || ms > kMaxMs) {
    return Failure{Errc::invalid_argument,
                   std::string(name) + " must be between 1970 and 2200",
                   std::string(name),
                   {}};
  }
  return from_unix_ms(ms);
}

void add_account_routes(http::Router& router, AccountService& accounts, Idempotency& idempotency) {
  router.add(bh::verb::post, "/v1/login", http::Access::open(),
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::LoginRequest req;
               http::ApiError err;
               if (!http::decode_body(ctx->request, req, &err)) {
                 respond(http::make_error_response(ctx->request, err));
                 return;
               }
               std::optional<std::string> totp;
               if (req.has_totp()) {
                 totp = req.totp();
               }
               accounts.login(req.username(), req.password(), std::move(totp), ctx->request_id,
                              [ctx, respond](Outcome<LoginResult> r) {
                                if (!r) {
                                  respond(failure_response(ctx->request, r.error()));
                                  return;
                                }
                                v1::LoginResponse out;
                                out.set_token(r->token);
                                *out.mutable_expires_at() =
                                    TimeUtil::MillisecondsToTimestamp(to_unix_ms(r->expires_at));
                                *out.mutable_user() = r->user;
                                out.set_totp_enrolment_required(r->totp_enrolment_required);
                                respond(http::make_response(ctx->request, bh::status::ok, out));
                              });
             });

  // A session that may only enrol TOTP still logs out, reads itself and enrols.
  const auto enrolling = http::Access::enrolment(RoleSet::all());

  router.add(bh::verb::post, "/v1/logout", enrolling,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               accounts.logout(*ctx->principal, ctx->request_id, [ctx, respond](Outcome<void> r) {
                 if (!r) {
                   respond(failure_response(ctx->request, r.error()));
                   return;
                 }
                 respond(http::make_empty_response(ctx->request, bh::status::no_content));
               });
             });

  router.add(bh::verb::get, "/v1/me", enrolling,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               auto me = accounts.me(*ctx->principal);
               if (!me) {
                 respond(failure_response(ctx->request, me.error()));
                 return;
               }
               respond(http::make_response(ctx->request, bh::status::ok, *me));
             });

  // Not a `creating` route: an idempotency record would store the secret in its response body.
  router.add(bh::verb::post, "/v1/me/totp", enrolling,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               google::protobuf::Empty req;
               http::ApiError err;
               if (!http::decode_body(ctx->request, req, &err)) {
                 respond(http::make_error_response(ctx->request, err));
                 return;
               }
               accounts.start_totp(
                   *ctx->principal, ctx->request_id, [ctx, respond](Outcome<v1::TotpEnrollment> r) {
                     if (!r) {
                       respond(failure_response(ctx->request, r.error()));
                       return;
                     }
                     respond(http::make_response(ctx->request, bh::status::created, *r));
                   });
             });

  router.add(bh::verb::post, "/v1/me/totp/confirm", enrolling,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::ConfirmTotpRequest req;
               http::ApiError err;
               if (!http::decode_body(ctx->request, req, &err)) {
                 respond(http::make_error_response(ctx->request, err));
                 return;
               }
               accounts.confirm_totp(
                   *ctx->principal, req.code(), ctx->request_id,
                   [ctx, respond](Outcome<v1::User> r) {
                     if (!r) {
                       respond(failure_response(ctx->request, r.error()));
                       return;
                     }
                     respond(http::make_response(ctx->request, bh::status::ok, *r));
                   });
             });

  const auto admin = http::Access::roles_of({Role::admin});

  router.add(bh::verb::post, "/v1/users/{id}/totp/reset", admin,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               accounts.reset_totp(*ctx->principal, ctx->param("id"), ctx->request_id,
                                   [ctx, respond](Outcome<v1::User> r) {
                                     if (!r) {
                                       respond(failure_response(ctx->request, r.error()));
                                       return;
                                     }
                                     respond(http::make_response(ctx->request, bh::status::ok, *r));
                                   });
             });

  router.add(bh::verb::post, "/v1/organizations", admin,
             creating<v1::CreateOrganizationRequest, v1::Organization>(
                 idempotency, [&accounts](auto ctx, auto req, Decorate decorate, auto done) {
                   accounts.create_organization(*ctx->principal, std::move(req), ctx->request_id,
                                                std::move(decorate), std::move(done));
                 }));

  router.add(bh::verb::get, "/v1/organizations", admin,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::OrganizationList out;
               for (auto& org : accounts.list_organizations()) {
                 *out.add_organizations() = std::move(org);
               }
               respond(http::make_response(ctx->request, bh::status::ok, out));
             });

  router.add(bh::verb::post, "/v1/users", admin,
             creating<v1::CreateUserRequest, v1::User>(
                 idempotency, [&accounts](auto ctx, auto req, Decorate decorate, auto done) {
                   accounts.create_user(*ctx->principal, std::move(req), ctx->request_id,
                                        std::move(decorate), std::move(done));
                 }));

  router.add(bh::verb::get, "/v1/users", admin,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::UserList out;
               for (auto& u : accounts.list_users()) {
                 *out.add_users() = std::move(u);
               }
               respond(http::make_response(ctx->request, bh::status::ok, out));
             });

  router.add(bh::verb::post, "/v1/users/{id}/disable", admin,
             [&accounts](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               accounts.disable_user(
                   *ctx->principal, ctx->param("id"), ctx->request_id,
                   [ctx, respond](Outcome<v1::User> r) {
                     if (!r) {
                       respond(failure_response(ctx->request, r.error()));
                       return;
                     }
                     respond(http::make_response(ctx->request, bh::status::ok, *r));
                   });
             });
}

}  // namespace oshin::app
