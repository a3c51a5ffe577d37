#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "oshin/common/errc.hpp"

namespace oshin::app {

/// Argon2id cost parameters. The defaults meet OWASP's floor (m = 19 MiB, t = 2, p = 1).
struct PasswordCost {
  unsigned long long ops_limit = 2;
  std::size_t mem_limit_bytes = 19U * 1024U * 1024U;
};

/// Minimum password length in characters (UTF-8 code points).
inline constexpr std::size_t kMinPasswordChars = 12;

/// Checks the password policy: at least 12 characters, at most 1024 bytes.
/// Errc::weak_password when too short, invalid_argument when absurdly long.
Result<void> check_password_policy(std::string_view password);

/// Hashes a password with argon2id and a random salt; the result is the PHC string
/// ("$argon2id$v=19$m=19456,t=2,p=1$..."). CPU- and memory-heavy (tens of ms): call it off the
/// I/O threads. Thread-safe.
Result<std::string> hash_password(std::string_view password, const PasswordCost& cost = {});

/// Verifies a password against a PHC string in constant time with respect to the password.
/// Thread-safe; as costly as hash_password.
bool verify_password(std::string_view password, const std::string& phc);

/// A valid hash of a random password, used to spend the same time on unknown usernames.
const std::string& dummy_password_hash();

}  // namespace oshin::app
