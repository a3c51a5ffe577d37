#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "oshin/common/clock.hpp"

namespace oshin::http {

/// Token buckets keyed by a string (a peer address, an account id): each key may spend `burst`
/// requests at once and regains `rate_per_second` of them per second. Memory is bounded: past
/// `max_keys` keys, buckets that have refilled are forgotten first (a forgotten bucket is a
/// full one, so forgetting it changes nothing), then arbitrary ones.
/// Thread-safe (sharded locks); the clock is injected.
class RateLimiter {
 public:
  struct Options {
    double rate_per_second = 0;  ///< 0 disables the limiter
    double burst = 1;            ///< bucket size; at least 1
    std::size_t max_keys = 100'000;
  };

  RateLimiter(Options options, const Clock& clock);

  bool enabled() const { return options_.rate_per_second > 0; }

  /// Takes one token for `key`. Zero when granted; otherwise the whole seconds (at least 1)
  /// until a token is back, for a Retry-After header.
  std::chrono::seconds take(std::string_view key);

  /// Keys currently remembered (for tests and metrics).
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens = 0;
    SystemTime last{};
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Bucket> buckets;
  };
  static constexpr std::size_t kShards = 16;

  void evict(Shard& shard, SystemTime now);

  Options options_;
  const Clock& clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace oshin::http
