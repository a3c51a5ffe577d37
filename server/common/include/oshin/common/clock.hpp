#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace oshin {

using SystemTime = std::chrono::system_clock::time_point;

/// Injected source of wall-clock time. Production uses SystemClock; tests use ManualClock.
/// Any thread may call now().
class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
};

/// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(SystemTime start) : ns_(start.time_since_epoch().count()) {}
  SystemTime now() const override {
    return SystemTime(SystemTime::duration(ns_.load(std::memory_order_acquire)));
  }
  void advance(std::chrono::nanoseconds d) {
    ns_.fetch_add(std::chrono::duration_cast<SystemTime::duration>(d).count(),
                  std::memory_order_acq_rel);
  }
  void set(SystemTime t) { ns_.store(t.time_since_epoch().count(), std::memory_order_release); }

 private:
  std::atomic<SystemTime::rep> ns_;
};

/// Milliseconds since the Unix epoch, the unit timestamps are stored in.
inline std::int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime from_unix_ms(std::int64_t ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

/// Real time shifted by a fixed offset: now() starts at `start` and runs at real speed. For tests
/// and demo replays only (oshin-server --clock-start): restarting the server on the same data dir
/// with a later start instant moves it to another night. Thread-safe.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(SystemTime start) : offset_(start - std::chrono::system_clock::now()) {}
  SystemTime now() const override { return std::chrono::system_clock::now() + offset_; }

 private:
  SystemTime::duration offset_;
};

}  // namespace oshin
