#pragma once

#include <initializer_list>
#include <string>

namespace oshin {

/// Roles of API.md "Roles". Numeric values equal oshin.v1.Role.
enum class Role {
  unspecified = 0,
  admin = 1,
  staff = 2,
  nurse = 3,
  care_manager = 4,
  doctor = 5,
  driver = 6,
  primary_doctor = 7,
};

/// Bit for a role in a RoleSet.
constexpr unsigned role_bit(Role r) {
  return 1U << static_cast<unsigned>(r);
}

/// A set of roles allowed to call something. Empty set = nobody (deny by default).
struct RoleSet {
  unsigned bits = 0;
  constexpr RoleSet() = default;
  constexpr RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) {
      bits |= role_bit(r);
    }
  }
  constexpr bool contains(Role r) const { return (bits & role_bit(r)) != 0; }
  static constexpr RoleSet all() {
    return {Role::admin,  Role::staff,  Role::nurse,         Role::care_manager,
            Role::doctor, Role::driver, Role::primary_doctor};
  }
};

/// The authenticated caller of a request.
struct Principal {
  std::string user_id;
  std::string username;
  Role role = Role::unspecified;
  std::string organization_id;
  std::string token_hash;  ///< hex SHA-256 of the bearer token; never the token itself
  /// The account's role must use TOTP (config totp.requiredRoles) but has not enrolled yet: the
  /// session may only call routes marked Access::during_totp_enrolment (anything else is 403
  /// TOTP_ENROLMENT_REQUIRED) and may not open a stream.
  bool totp_enrolment_only = false;
};

}  // namespace oshin
