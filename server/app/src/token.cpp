#include "oshin/app/token.hpp"

#include <sodium.h>

#include <array>

namespace oshin::app {

bool init_crypto() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string generate_token() {
  init_crypto();
  std::array<unsigned char, 32> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::array<char, 64> out{};
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw.data(), raw.size());
  return std::string(out.data());
}

std::string sha256_hex(std::string_view data) {
  init_crypto();
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(data.data()),
                     data.size());
  std::array<char, crypto_hash_sha256_BYTES * 2 + 1> hex{};
  sodium_bin2hex(hex.data(), hex.size(), digest.data(), digest.size());
  return std::string(hex.data());
}

std::string generate_id(std::string_view prefix) {
  init_crypto();
  static constexpr std::string_view kAlphabet = "0123456789abcdefghjkmnpqrstvwxyz";
  std::array<unsigned char, 20> raw{};
  randombytes_buf(raw.data(), raw.size());
  std::string id(prefix);
  for (unsigned char b : raw) {
    id.push_back(kAlphabet[b % kAlphabet.size()]);
  }
  return id;
}

}  // namespace oshin::app
