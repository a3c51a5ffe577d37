#include "oshin/app/patient_service.hpp"
#include "oshin/app/routes.hpp"
#include "oshin/app/visit_service.hpp"
#include "oshin/http/codec.hpp"

namespace oshin::app {
namespace {

namespace bh = http::beast_http;

/// Answers a service result as `status` with the message, or the failure.
template <class T>
auto answer(std::shared_ptr<http::RequestContext> ctx, http::Responder respond,
            bh::status status = bh::status::ok) {
  return [ctx, respond, status](Outcome<T> r) {
    if (!r) {
      respond(failure_response(ctx->request, r.error()));
      return;
    }
    respond(http::make_response(ctx->request, status, *r));
  };
}

auto answer_empty(std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
  return [ctx, respond](Outcome<void> r) {
    if (!r) {
      respond(failure_response(ctx->request, r.error()));
      return;
    }
    respond(http::make_empty_response(ctx->request, bh::status::no_content));
  };
}

/// Decodes the body into T or answers the error; true when decoded.
template <class T>
bool decode(const std::shared_ptr<http::RequestContext>& ctx, const http::Responder& respond,
            T& out) {
  http::ApiError err;
  if (!http::decode_body(ctx->request, out, &err)) {
    respond(http::make_error_response(ctx->request, err));
    return false;
  }
  return true;
}

}  // namespace

void add_domain_routes(http::Router& router, PatientService& patients, VisitService& visits,
                       Idempotency& idempotency, const Clock& clock) {
  using http::Access;
  const auto requesters = Access::roles_of({Role::staff, Role::nurse, Role::care_manager});
  const auto patient_readers = Access::roles_of({Role::staff, Role::nurse, Role::care_manager,
                                                 Role::primary_doctor, Role::doctor, Role::driver});
  const auto team_members = Access::roles_of({Role::doctor, Role::driver});
  const auto recipients = Access::roles_of({Role::nurse, Role::care_manager, Role::primary_doctor});

  // Patients.
  router.add(bh::verb::post, "/v1/patients", requesters,
             creating<v1::CreatePatientRequest, v1::Patient>(
                 idempotency, [&patients](auto ctx, auto req, Decorate decorate, auto done) {
                   patients.create(*ctx->principal, std::move(req), ctx->request_id,
                                   std::move(decorate), std::move(done));
                 }));
  router.add(bh::verb::get, "/v1/patients", patient_readers,
             [&patients](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               patients.list(*ctx->principal, ctx->request_id,
                             answer<v1::PatientList>(ctx, respond));
             });
  router.add(bh::verb::get, "/v1/patients/{id}", patient_readers,
             [&patients](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               patients.get(*ctx->principal, ctx->param("id"), ctx->request_id,
                            answer<v1::Patient>(ctx, respond));
             });

  // Teams.
  router.add(bh::verb::post, "/v1/teams", Access::roles_of({Role::staff}),
             creating<v1::CreateTeamRequest, v1::Team>(
                 idempotency, [&visits](auto ctx, auto req, Decorate decorate, auto done) {
                   visits.create_team(*ctx->principal, std::move(req), ctx->request_id,
                                      std::move(decorate), std::move(done));
                 }));
  router.add(bh::verb::get, "/v1/teams",
             Access::roles_of({Role::staff, Role::doctor, Role::driver}),
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               respond(http::make_response(ctx->request, bh::status::ok,
                                           visits.list_teams(*ctx->principal)));
             });
  router.add(bh::verb::post, "/v1/teams/{id}/location", team_members,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::LocationUpdate req;
               if (!decode(ctx, respond, req)) {
                 return;
               }
               visits.update_location(*ctx->principal, ctx->param("id"), req, ctx->request_id,
                                      answer_empty(ctx, respond));
             });

  // Visits.
  router.add(bh::verb::post, "/v1/visits", requesters,
             creating<v1::CreateVisitRequest, v1::Visit>(
                 idempotency, [&visits](auto ctx, auto req, Decorate decorate, auto done) {
                   visits.create_visit(*ctx->principal, std::move(req), ctx->request_id,
                                       std::move(decorate), std::move(done));
                 }));
  router.add(
      bh::verb::get, "/v1/visits", patient_readers,
      [&visits, &clock](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        VisitFilter filter;
        if (auto s = ctx->query_param("status")) {
          v1::Visit::Status st{};
          if (!v1::Visit::Status_Parse(*s, &st) || st == v1::Visit::STATUS_UNSPECIFIED) {
            respond(http::make_error_response(ctx->request, Errc::invalid_argument,
                                              "status must be a visit status name", "status"));
            return;
          }
          filter.status = st;
        }
        if (auto p = ctx->query_param("patientId")) {
          filter.patient_id = *p;
        }
        if (ctx->query_param("from")) {
          auto from = time_param(*ctx, "from", clock.now());
          if (!from) {
            respond(failure_response(ctx->request, from.error()));
            return;
          }
          filter.from = *from;
        }
        if (ctx->query_param("to")) {
          auto to = time_param(*ctx, "to", clock.now());
          if (!to) {
            respond(failure_response(ctx->request, to.error()));
            return;
          }
          filter.to = *to;
        }
        visits.list_visits(*ctx->principal, std::move(filter), ctx->request_id,
                           answer<v1::VisitList>(ctx, respond));
      });
  router.add(bh::verb::get, "/v1/visits/{id}", patient_readers,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               visits.get_visit(*ctx->principal, ctx->param("id"), ctx->request_id,
                                answer<v1::Visit>(ctx, respond));
             });
  router.add(bh::verb::post, "/v1/visits/{id}/cancel", requesters,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::CancelVisitRequest req;
               if (!decode(ctx, respond, req)) {
                 return;
               }
               visits.cancel_visit(*ctx->principal, ctx->param("id"), std::move(req),
                                   ctx->request_id, answer<v1::Visit>(ctx, respond));
             });

  // Offers.
  router.add(bh::verb::get, "/v1/offers", team_members,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               respond(http::make_response(ctx->request, bh::status::ok,
                                           visits.list_offers(*ctx->principal)));
             });
  router.add(bh::verb::post, "/v1/offers/{id}/accept", team_members,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               visits.accept_offer(*ctx->principal, ctx->param("id"), ctx->request_id,
                                   answer<v1::Visit>(ctx, respond));
             });
  router.add(bh::verb::post, "/v1/offers/{id}/decline", team_members,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               v1::DeclineOfferRequest req;
               if (!decode(ctx, respond, req)) {
                 return;
               }
               visits.decline_offer(*ctx->principal, ctx->param("id"), std::move(req),
                                    ctx->request_id, answer_empty(ctx, respond));
             });

  // Progress.
  for (auto [path, step] : {std::pair{"/v1/visits/{id}/depart", Step::depart},
                            std::pair{"/v1/visits/{id}/arrive", Step::arrive},
                            std::pair{"/v1/visits/{id}/complete", Step::complete}}) {
    router.add(
        bh::verb::post, path, team_members,
        [&visits, step = step](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
          visits.progress(*ctx->principal, ctx->param("id"), step, ctx->request_id,
                          answer<v1::Visit>(ctx, respond));
        });
  }

  // Summary, inbox, FHIR.
  router.add(bh::verb::post, "/v1/visits/{id}/summary", Access::roles_of({Role::doctor}),
             creating<v1::CreateSummaryRequest, v1::VisitSummary>(
                 idempotency, [&visits](auto ctx, auto req, Decorate decorate, auto done) {
                   visits.post_summary(*ctx->principal, ctx->param("id"), std::move(req),
                                       ctx->request_id, std::move(decorate), std::move(done));
                 }));
  router.add(bh::verb::get, "/v1/inbox", recipients,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               auto un = ctx->query_param("unacknowledged");
               if (un && *un != "true" && *un != "false") {
                 respond(http::make_error_response(ctx->request, Errc::invalid_argument,
                                                   "unacknowledged must be true or false",
                                                   "unacknowledged"));
                 return;
               }
               visits.inbox(*ctx->principal, un && *un == "true", ctx->request_id,
                            answer<v1::InboxList>(ctx, respond));
             });
  router.add(bh::verb::get, "/v1/inbox/overdue", Access::roles_of({Role::staff}),
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               visits.overdue_inbox(*ctx->principal, ctx->request_id,
                                    answer<v1::InboxList>(ctx, respond));
             });
  router.add(bh::verb::post, "/v1/inbox/{id}/ack", recipients,
             [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
               visits.ack(*ctx->principal, ctx->param("id"), ctx->request_id,
                          answer_empty(ctx, respond));
             });
  router.add(
      bh::verb::get, "/v1/visits/{id}/fhir",
      Access::roles_of(
          {Role::staff, Role::nurse, Role::care_manager, Role::primary_doctor, Role::doctor}),
      [&visits](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        visits.fhir(*ctx->principal, ctx->param("id"), ctx->request_id,
                    [ctx, respond](Outcome<std::string> r) {
                      if (!r) {
                        respond(failure_response(ctx->request, r.error()));
                        return;
                      }
                      respond(http::make_raw_response(ctx->request, bh::status::ok, std::move(*r),
                                                      "application/fhir+json"));
                    });
      },
      {"application/fhir+json", "application/json"});
}

}  // namespace oshin::app
