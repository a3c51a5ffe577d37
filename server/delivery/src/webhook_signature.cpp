#include "oshin/delivery/webhook_signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstddef>
#include <memory>

namespace oshin::delivery {
namespace {

constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kMaxHeaderBytes = 1024;
constexpr std::size_t kMaxTimestampDigits = 18;  // fits int64 without overflow checks
constexpr std::size_t kMaxCandidates = 8;
constexpr std::array<char, 16> kHexDigits{'0', '1', '2', '3', '4', '5', '6', '7',
                                          '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

using Mac = std::array<unsigned char, kMacBytes>;

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};

// The HMAC implementation, fetched once. EVP_MAC objects may be shared between threads.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// HMAC-SHA256(secret, "<timestamp>.<body>"), fed in pieces so the body is never copied.
bool compute_mac(std::string_view secret, std::string_view timestamp, std::string_view body,
                 Mac& out) {
  EVP_MAC* mac = hmac_algorithm();
  if (mac == nullptr) {
    return false;
  }
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) {
    return false;
  }
  std::array<char, 7> digest{'S', 'H', 'A', '2', '5', '6', '\0'};
  std::array<OSSL_PARAM, 2> params{
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_end()};
  // A null key means "keep the previous key" to EVP_MAC_init; an empty secret still needs a
  // non-null pointer to be a (zero-length) key.
  static constexpr unsigned char kNoKey = 0;
  const auto* key =
      secret.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(secret.data());
  const auto update = [&ctx](std::string_view bytes) {
    return EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(bytes.data()),
                          bytes.size()) == 1;
  };
  std::size_t length = 0;
  if (EVP_MAC_init(ctx.get(), key, secret.size(), params.data()) != 1 || !update(timestamp) ||
      !update(".") || !update(body) ||
      EVP_MAC_final(ctx.get(), out.data(), &length, out.size()) != 1 || length != kMacBytes) {
    return false;
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

bool decode_mac(std::string_view hex, Mac& out) {
  if (hex.size() != 2 * kMacBytes) {
    return false;
  }
  for (std::size_t i = 0; i < kMacBytes; ++i) {
    const int high = hex_value(hex[2 * i]);
    const int low = hex_value(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return false;
    }
    out[i] = static_cast<unsigned char>((high << 4) | low);
  }
  return true;
}

bool parse_timestamp(std::string_view digits, std::int64_t& out) {
  if (digits.empty() || digits.size() > kMaxTimestampDigits) {
    return false;
  }
  std::int64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

// |a - b| without overflow: the unsigned difference of two int64 values is exact.
std::uint64_t distance(std::int64_t a, std::int64_t b) {
  const auto ua = static_cast<std::uint64_t>(a);
  const auto ub = static_cast<std::uint64_t>(b);
  return a >= b ? ua - ub : ub - ua;
}

}  // namespace

std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds,
                         std::string_view body) {
  const std::string timestamp = std::to_string(unix_seconds);
  Mac mac{};
  if (!compute_mac(secret, timestamp, body, mac)) {
    return {};
  }
  std::string header;
  header.reserve(timestamp.size() + 6 + 2 * kMacBytes);
  header.append("t=").append(timestamp).append(",v1=");
  for (unsigned char byte : mac) {
    header.push_back(kHexDigits[byte >> 4U]);
    header.push_back(kHexDigits[byte & 0xFU]);
  }
  return header;
}

bool verify_webhook_signature(std::string_view header, std::string_view secret,
                              std::string_view body, std::int64_t now_unix,
                              std::int64_t tolerance_seconds) {
  if (header.empty() || header.size() > kMaxHeaderBytes || tolerance_seconds < 0) {
    return false;
  }
  std::int64_t stamp = 0;
  std::string_view stamp_text;
  bool have_stamp = false;
  std::array<Mac, kMaxCandidates> candidates{};
  std::size_t candidate_count = 0;
  std::string_view rest = header;
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view part = trim_spaces(rest.substr(0, comma));
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return false;
    }
    const std::string_view key = part.substr(0, eq);
    const std::string_view value = part.substr(eq + 1);
    if (key == "t") {
      if (have_stamp || !parse_timestamp(value, stamp)) {
        return false;
      }
      have_stamp = true;
      stamp_text = value;
    } else if (key == "v1") {
      if (candidate_count == kMaxCandidates || !decode_mac(value, candidates[candidate_count])) {
        return false;
      }
      ++candidate_count;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(comma + 1);
  }
  if (!have_stamp || candidate_count == 0) {
    return false;
  }
  if (distance(now_unix, stamp) > static_cast<std::uint64_t>(tolerance_seconds)) {
    return false;
  }
  // The signed text uses the timestamp exactly as the header spells it (leading zeros too).
  Mac expected{};
  if (!compute_mac(secret, stamp_text, body, expected)) {
    return false;
  }
  bool match = false;
  for (std::size_t i = 0; i < candidate_count; ++i) {
    // Every candidate is compared in full: timing reveals neither which one nor how much matched.
    const bool equal = CRYPTO_memcmp(candidates[i].data(), expected.data(), kMacBytes) == 0;
    match = match || equal;
  }
  return match;
}

}  // namespace oshin::delivery
