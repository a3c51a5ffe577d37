#include "oshin/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace oshin::http {

RateLimiter::RateLimiter(Options options, const Clock& clock) : options_(options), clock_(clock) {
  options_.burst = std::max(options_.burst, 1.0);
  options_.max_keys = std::max<std::size_t>(options_.max_keys, kShards);
}

std::chrono::seconds RateLimiter::take(std::string_view key) {
  if (!enabled()) {
    return std::chrono::seconds(0);
  }
  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  SystemTime now = clock_.now();
  std::lock_guard lock(shard.mutex);
  auto it = shard.buckets.find(std::string(key));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= options_.max_keys / kShards) {
      evict(shard, now);
    }
    it = shard.buckets.emplace(std::string(key), Bucket{options_.burst, now}).first;
  }
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(options_.burst, b.tokens + elapsed * options_.rate_per_second);
    b.last = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::chrono::seconds(0);
  }
  double wait = (1.0 - b.tokens) / options_.rate_per_second;
  return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
}

void RateLimiter::evict(Shard& shard, SystemTime now) {
  // Buckets that have refilled by now are the same as absent ones.
  for (auto it = shard.buckets.begin(); it != shard.buckets.end();) {
    double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed * options_.rate_per_second >= options_.burst) {
      it = shard.buckets.erase(it);
    } else {
      ++it;
    }
  }
  if (shard.buckets.size() >= options_.max_keys / kShards) {
    shard.buckets.erase(shard.buckets.begin());
  }
}

std::size_t RateLimiter::size() const {
  std::size_t n = 0;
  for (const Shard& s : shards_) {
    std::lock_guard lock(s.mutex);
    n += s.buckets.size();
  }
  return n;
}

}  // namespace oshin::http
