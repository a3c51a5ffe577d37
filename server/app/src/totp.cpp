#include "oshin/app/totp.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <array>
#include <chrono>

namespace oshin::app {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a';
  }
  if (c >= '2' && c <= '7') {
    return c - '2' + 26;
  }
  return -1;
}

bool unreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percent_encode(std::string_view s) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (unreserved(c)) {
      out.push_back(c);
    } else {
      auto b = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[b >> 4U]);
      out.push_back(kHex[b & 0x0FU]);
    }
  }
  return out;
}

}  // namespace

std::string base32_encode(std::span<const unsigned char> data, bool pad) {
  std::string out;
  out.reserve((data.size() + 4) / 5 * 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : data) {
    buffer = (buffer << 8U) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push_back(kBase32Alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x1FU]);
    }
  }
  if (bits > 0) {
    out.push_back(kBase32Alphabet[(buffer << static_cast<unsigned>(5 - bits)) & 0x1FU]);
  }
  if (pad) {
    while (out.size() % 8 != 0) {
      out.push_back('=');
    }
  }
  return out;
}

std::optional<std::vector<unsigned char>> base32_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  // Lengths an encoder produces: 8k plus 0, 2, 4, 5 or 7 characters.
  std::size_t rest = text.size() % 8;
  if (rest == 1 || rest == 3 || rest == 6) {
    return std::nullopt;
  }
  std::vector<unsigned char> out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = base32_value(c);
    if (v < 0) {
      return std::nullopt;
    }
    buffer = (buffer << 5U) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<unsigned char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
    }
  }
  return out;
}

std::string hotp(std::span<const unsigned char> key, std::uint64_t counter, int digits) {
  std::array<unsigned char, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<std::size_t>(i)] = static_cast<unsigned char>(counter & 0xFFU);
    counter >>= 8U;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), message.data(), message.size(),
           mac.data(), &mac_len) == nullptr ||
      mac_len != 20) {
    return {};
  }
  // RFC 4226 5.3 dynamic truncation.
  unsigned offset = mac[19] & 0x0FU;
  std::uint32_t binary = ((static_cast<std::uint32_t>(mac[offset]) & 0x7FU) << 24U) |
                         (static_cast<std::uint32_t>(mac[offset + 1]) << 16U) |
                         (static_cast<std::uint32_t>(mac[offset + 2]) << 8U) |
                         static_cast<std::uint32_t>(mac[offset + 3]);
  OPENSSL_cleanse(mac.data(), mac.size());
  if (digits < 6) {
    digits = 6;
  } else if (digits > 8) {
    digits = 8;
  }
  std::uint32_t modulo = 1;
  for (int i = 0; i < digits; ++i) {
    modulo *= 10;
  }
  std::string code = std::to_string(binary % modulo);
  return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

std::int64_t totp_step(SystemTime t) {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  return seconds < 0 ? 0 : seconds / kTotpStepSeconds;
}

std::string totp_code(std::span<const unsigned char> key, SystemTime t, int digits) {
  return hotp(key, static_cast<std::uint64_t>(totp_step(t)), digits);
}

std::optional<std::int64_t> verify_totp(std::span<const unsigned char> key, std::string_view code,
                                        SystemTime now, std::int64_t last_used_step) {
  if (code.size() != static_cast<std::size_t>(kTotpDigits)) {
    return std::nullopt;
  }
  for (char c : code) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  std::int64_t current = totp_step(now);
  std::optional<std::int64_t> matched;
  // Every candidate is computed and compared, so the time taken does not depend on which matched.
  for (std::int64_t step = current - 1; step <= current + 1; ++step) {
    if (step < 0) {
      continue;
    }
    std::string expected = hotp(key, static_cast<std::uint64_t>(step), kTotpDigits);
    bool equal = expected.size() == code.size() &&
                 CRYPTO_memcmp(expected.data(), code.data(), code.size()) == 0;
    if (equal && step > last_used_step && !matched) {
      matched = step;
    }
  }
  return matched;
}

std::vector<unsigned char> generate_totp_secret() {
  // sodium_init is idempotent and thread-safe; randombytes_buf needs it.
  if (sodium_init() < 0) {
    return {};
  }
  std::vector<unsigned char> secret(kTotpSecretBytes);
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view base32_secret) {
  std::string_view secret = base32_secret;
  while (!secret.empty() && secret.back() == '=') {
    secret.remove_suffix(1);
  }
  std::string label = percent_encode(issuer) + ":" + percent_encode(account);
  return "otpauth://totp/" + label + "?secret=" + std::string(secret) +
         "&issuer=" + percent_encode(issuer) + "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace oshin::app
