#include <algorithm>
#include <cmath>

#include "oshin/delivery/webhook_outbox.hpp"

namespace oshin::delivery {
namespace {

constexpr double kMaxJitter = 0.9;

// FNV-1a over the id and the attempt number: a stable, well-spread 64-bit value.
std::uint64_t jitter_hash(std::string_view id, std::int32_t attempts) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto mix = [&h](unsigned char byte) {
    h ^= byte;
    h *= 1099511628211ULL;
  };
  for (char c : id) {
    mix(static_cast<unsigned char>(c));
  }
  auto n = static_cast<std::uint32_t>(attempts);
  for (int i = 0; i < 4; ++i) {
    mix(static_cast<unsigned char>(n & 0xFFU));
    n >>= 8U;
  }
  // Finalizer (from MurmurHash3) so neighbouring attempts differ in the high bits too.
  h ^= h >> 33U;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33U;
  return h;
}

}  // namespace

std::chrono::milliseconds webhook_backoff(const WebhookOutboxOptions& options,
                                          std::string_view delivery_id, std::int32_t attempts) {
  using std::chrono::milliseconds;
  const milliseconds initial = std::max(options.initial_backoff, milliseconds(1));
  const milliseconds cap = std::max(options.max_backoff, initial);
  milliseconds base = initial;
  for (std::int32_t i = 1; i < attempts && base < cap; ++i) {
    // Doubling stops at the cap, so it never overflows.
    base = base > cap / 2 ? cap : base * 2;
  }
  base = std::min(base, cap);
  const double jitter = std::clamp(options.jitter, 0.0, kMaxJitter);
  if (!(jitter > 0.0)) {
    return base;
  }
  // A uniform fraction in [0, 1) from the top 53 bits of the hash.
  const double unit = static_cast<double>(jitter_hash(delivery_id, attempts) >> 11U) * 0x1.0p-53;
  const auto cut =
      static_cast<milliseconds::rep>(std::floor(static_cast<double>(base.count()) * jitter * unit));
  return std::max(base - milliseconds(cut), milliseconds(1));
}

}  // namespace oshin::delivery
