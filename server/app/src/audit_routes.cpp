#include <google/protobuf/util/time_util.h>

#include <boost/asio/post.hpp>
#include <optional>
#include <string>

#include "oshin/app/routes.hpp"
#include "oshin/http/codec.hpp"
#include "oshin/v1/audit.pb.h"

namespace oshin::app {
namespace {

namespace bh = http::beast_http;
using google::protobuf::util::TimeUtil;

constexpr std::size_t kMaxAuditEntries = 10000;
/// Entries read from the store per filtered request (filters are applied in memory).
constexpr std::size_t kMaxScannedEntries = 200000;

/// GET /v1/audit filters besides the time window: exact matches, absent means any.
struct AuditFilter {
  std::optional<std::string> actor;
  std::optional<std::string> patient;
  std::optional<std::string> visit;
  std::optional<std::string> action;

  bool any() const { return actor || patient || visit || action; }
  bool matches(const storage::AuditEntry& e) const {
    return (!actor || e.actor_id == *actor) && (!patient || e.patient_id == *patient) &&
           (!visit || e.visit_id == *visit) && (!action || e.action == *action);
  }
  std::string describe() const {
    std::string out;
    auto add = [&out](const char* name, const std::optional<std::string>& v) {
      if (v) {
        out += (out.empty() ? "" : " ") + std::string(name) + "=" + *v;
      }
    };
    add("actor", actor);
    add("patient", patient);
    add("visit", visit);
    add("action", action);
    return out;
  }
};

/// Reads the filters (`actor`, `patient`, `visit`, `action`); a present but empty or overlong
/// value is 400.
Outcome<AuditFilter> audit_filter(const http::RequestContext& ctx) {
  AuditFilter f;
  for (auto [name, target] : {std::pair{"actor", &f.actor}, std::pair{"patient", &f.patient},
                              std::pair{"visit", &f.visit}, std::pair{"action", &f.action}}) {
    auto v = ctx.query_param(name);
    if (!v) {
      continue;
    }
    if (v->empty() || v->size() > 200) {
      return Failure{
          Errc::invalid_argument, std::string(name) + " must be 1 to 200 characters", name, {}};
    }
    *target = std::string(*v);
  }
  return f;
}

v1::AuditEntry to_proto(const storage::AuditEntry& e) {
  v1::AuditEntry out;
  out.set_seq(e.seq);
  *out.mutable_at() = TimeUtil::MillisecondsToTimestamp(e.at_ms);
  out.set_actor_id(e.actor_id);
  v1::Role role = v1::ROLE_UNSPECIFIED;
  // "SYSTEM" (bootstrap, demo seeding) and unknown names stay ROLE_UNSPECIFIED.
  if (v1::Role_Parse(e.actor_role, &role)) {
    out.set_actor_role(role);
  }
  out.set_action(e.action);
  out.set_patient_id(e.patient_id);
  out.set_visit_id(e.visit_id);
  out.set_outcome(e.outcome);
  out.set_request_id(e.request_id);
  out.set_detail(e.detail);
  out.set_prev_hash(e.prev_hash);
  out.set_hash(e.hash);
  return out;
}

/// Records that the audit log itself was read, then answers.
void audited(storage::Store& store, const Clock& clock, const http::RequestContext& ctx,
             std::string action, std::string detail, std::function<void(Result<void>)> then) {
  storage::Transaction tx;
  tx.mutations.emplace_back(audit_entry(audit_context(*ctx.principal, ctx.request_id, clock.now()),
                                        std::move(action), "ok", std::move(detail)));
  store.commit(std::move(tx), [then = std::move(then)](Result<storage::CommitResult> r) {
    if (!r) {
      then(r.error());
      return;
    }
    then(Result<void>{});
  });
}

}  // namespace

void add_audit_routes(http::Router& router, storage::Store& store, const Clock& clock,
                      boost::asio::any_io_executor work) {
  const auto admin = http::Access::roles_of({Role::admin});

  router.add(
      bh::verb::get, "/v1/audit", admin,
      [&store, &clock, work](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        auto from = time_param(*ctx, "from", from_unix_ms(0));
        auto to = time_param(*ctx, "to", clock.now() + std::chrono::hours(24 * 365));
        if (!from || !to) {
          respond(failure_response(ctx->request, !from ? from.error() : to.error()));
          return;
        }
        auto filter = audit_filter(*ctx);
        if (!filter) {
          respond(failure_response(ctx->request, filter.error()));
          return;
        }
        std::int64_t from_ms = to_unix_ms(*from);
        std::int64_t to_ms = to_unix_ms(*to);
        audited(store, clock, *ctx, "audit.read", filter->describe(),
                [&store, work, ctx, respond, from_ms, to_ms, f = *filter](Result<void> r) {
                  if (!r) {
                    respond(http::make_error_response(ctx->request, to_errc(r.error())));
                    return;
                  }
                  // Off the store's completion thread: a long read must not delay commits.
                  boost::asio::post(work, [&store, ctx, respond, from_ms, to_ms, f] {
                    auto entries = store.audit_range(
                        from_ms, to_ms, f.any() ? kMaxScannedEntries : kMaxAuditEntries);
                    if (!entries) {
                      respond(http::make_error_response(ctx->request, Errc::unavailable));
                      return;
                    }
                    v1::AuditList out;
                    for (const auto& e : *entries) {
                      if (!f.matches(e)) {
                        continue;
                      }
                      if (static_cast<std::size_t>(out.entries_size()) >= kMaxAuditEntries) {
                        break;
                      }
                      *out.add_entries() = to_proto(e);
                    }
                    respond(http::make_response(ctx->request, bh::status::ok, out));
                  });
                });
      });

  router.add(
      bh::verb::get, "/v1/audit/verify", admin,
      [&store, &clock, work](std::shared_ptr<http::RequestContext> ctx, http::Responder respond) {
        audited(store, clock, *ctx, "audit.verify", {},
                [&store, work, ctx, respond](Result<void> r) {
                  if (!r) {
                    respond(http::make_error_response(ctx->request, to_errc(r.error())));
                    return;
                  }
                  boost::asio::post(work, [&store, ctx, respond] {
                    auto v = store.verify_audit();
                    if (!v) {
                      respond(http::make_error_response(ctx->request, Errc::unavailable));
                      return;
                    }
                    v1::AuditVerifyResponse out;
                    out.set_ok(v->ok);
                    out.set_entries(static_cast<std::int32_t>(v->entries));
                    if (!v->ok) {
                      out.set_first_bad_seq(v->first_bad_seq);
                    }
                    respond(http::make_response(ctx->request, bh::status::ok, out));
                  });
                });
      });
}

}  // namespace oshin::app
