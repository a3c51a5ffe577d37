#include "oshin/app/audit.hpp"

namespace oshin::app {

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin:
      return "ADMIN";
    case Role::staff:
      return "STAFF";
    case Role::nurse:
      return "NURSE";
    case Role::care_manager:
      return "CARE_MANAGER";
    case Role::doctor:
      return "DOCTOR";
    case Role::driver:
      return "DRIVER";
    case Role::primary_doctor:
      return "PRIMARY_DOCTOR";
    case Role::unspecified:
      break;
  }
  return "";
}

AuditContext audit_context(const Principal& principal, std::string request_id, SystemTime at) {
  if (principal.user_id.empty()) {
    return AuditContext{"", "SYSTEM", std::move(request_id), at};
  }
  return AuditContext{principal.user_id, std::string(role_name(principal.role)),
                      std::move(request_id), at};
}

storage::AppendAudit audit_entry(const AuditContext& ctx, std::string action, std::string outcome,
                                 std::string detail, std::string patient_id, std::string visit_id) {
  storage::AuditEntry e;
  e.at_ms = to_unix_ms(ctx.at);
  e.actor_id = ctx.actor_id;
  e.actor_role = ctx.actor_role;
  e.action = std::move(action);
  e.patient_id = std::move(patient_id);
  e.visit_id = std::move(visit_id);
  e.outcome = std::move(outcome);
  e.request_id = ctx.request_id;
  e.detail = std::move(detail);
  return storage::AppendAudit{std::move(e)};
}

}  // namespace oshin::app
