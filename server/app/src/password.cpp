#include "oshin/app/password.hpp"

#include <sodium.h>

#include <array>

#include "oshin/app/token.hpp"

namespace oshin::app {
namespace {

std::size_t utf8_code_points(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    // Count every byte that is not a UTF-8 continuation byte (10xxxxxx).
    if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) {
      ++n;
    }
  }
  return n;
}

}  // namespace

Result<void> check_password_policy(std::string_view password) {
  if (password.size() > 1024) {
    return Errc::invalid_argument;
  }
  if (utf8_code_points(password) < kMinPasswordChars) {
    return Errc::weak_password;
  }
  return {};
}

Result<std::string> hash_password(std::string_view password, const PasswordCost& cost) {
  if (!init_crypto()) {
    return Errc::internal;
  }
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.ops_limit,
                            cost.mem_limit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Errc::internal;  // out of memory
  }
  return std::string(out.data());
}

bool verify_password(std::string_view password, const std::string& phc) {
  if (!init_crypto() || phc.empty()) {
    return false;
  }
  return crypto_pwhash_str_verify(phc.c_str(), password.data(), password.size()) == 0;
}

const std::string& dummy_password_hash() {
  static const std::string hash = [] {
    auto h = hash_password(generate_token());
    return h ? *h : std::string{};
  }();
  return hash;
}

}  // namespace oshin::app
