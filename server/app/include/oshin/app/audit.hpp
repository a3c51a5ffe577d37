#pragma once

#include <string>
#include <string_view>

#include "oshin/common/clock.hpp"
#include "oshin/common/principal.hpp"
#include "oshin/storage/store.hpp"

namespace oshin::app {

/// Who did something, when, under which request: the part of an audit entry every action shares.
struct AuditContext {
  std::string actor_id;
  std::string actor_role;
  std::string request_id;
  SystemTime at;
};

/// The API name of a role ("NURSE"); "" for unspecified.
std::string_view role_name(Role role);

/// An audit context for an authenticated caller.
AuditContext audit_context(const Principal& principal, std::string request_id, SystemTime at);

/// One audit mutation to put in the same transaction as the change it records, so the change
/// and its audit entry commit together or not at all.
storage::AppendAudit audit_entry(const AuditContext& ctx, std::string action, std::string outcome,
                                 std::string detail = {}, std::string patient_id = {},
                                 std::string visit_id = {});

}  // namespace oshin::app
