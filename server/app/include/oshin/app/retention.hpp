#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/storage/store.hpp"

namespace oshin::app {

/// What one sweep erased.
struct RetentionSweep {
  std::size_t idempotency = 0;
  std::size_t webhook_deliveries = 0;
  std::size_t sessions = 0;
};

/// How long records that only serve a short purpose are kept (config `retention`).
struct RetentionOptions {
  /// Idempotency keys are honoured at least this long after the answer was stored (API.md: at
  /// least 24 h).
  std::chrono::hours idempotency{48};
  /// A delivered webhook record (which holds the signed body it sent: the visit summary) is
  /// erased this long after its delivery. Undelivered ones are kept until delivered.
  std::chrono::hours delivered_webhooks{24 * 30};
  /// Time between sweeps (milliseconds, so that tests can use short ones).
  std::chrono::milliseconds interval{std::chrono::minutes(60)};
  /// Records erased per transaction.
  std::size_t batch = 500;
  /// Called on the work executor after each periodic sweep that succeeded. For tests and
  /// metrics; must not block.
  std::function<void(const RetentionSweep&)> on_swept;
};

/// Logs what a sweep erased (one line; nothing when it erased nothing). Any thread.
void log_sweep(const RetentionSweep& swept);

/// Ids of the idempotency records stored before `cutoff` (by the record's time). Pure.
std::vector<std::string> expired_idempotency_ids(const std::vector<storage::Record>& records,
                                                 SystemTime cutoff);

/// Ids of the webhook delivery records delivered before `cutoff`. Never an undelivered one, nor
/// one that does not parse (it is left for a person to look at). Pure.
std::vector<std::string> expired_webhook_ids(const std::vector<storage::Record>& records,
                                             SystemTime cutoff);

/// Ids of the session records whose absolute expiry is before `now`: they can never be used
/// again. Not by idle time (the stored last use lags the real one). One that does not parse is
/// kept. Pure.
std::vector<std::string> expired_session_ids(const std::vector<storage::Record>& records,
                                             SystemTime now);

/// Erases expired idempotency, delivered webhook and expired session records: on the work
/// executor right after start() and then every `interval` (or once, when sweep_once is called).
/// Each batch of erasures commits with one audit entry (`retention.erase`, actor `system`, no role)
/// naming the kind and count. The Store, the Clock and both executors' contexts must outlive this
/// object; call stop() before the store closes.
class RetentionSweeper {
 public:
  RetentionSweeper(storage::Store& store, const Clock& clock, boost::asio::any_io_executor timer,
                   boost::asio::any_io_executor work, RetentionOptions options);
  RetentionSweeper(const RetentionSweeper&) = delete;
  RetentionSweeper& operator=(const RetentionSweeper&) = delete;

  /// One sweep; returns once every erasure is durable. Blocks: call it from a thread that may
  /// wait for a commit (never an I/O thread nor the store's completion thread).
  Result<RetentionSweep> sweep_once();

  /// Starts the sweeps: the first at once (without holding up the caller: a large store takes a
  /// while to scan), then every `interval`. Any thread; once.
  void start();

  /// No further sweep starts; one under way finishes. Any thread.
  void stop();

 private:
  void arm(std::chrono::milliseconds delay);
  void on_timer(boost::system::error_code ec);
  // Lists `kind`, picks what `expired` says, erases it.
  Result<std::size_t> sweep_kind(
      const std::string& kind,
      const std::function<std::vector<std::string>(const std::vector<storage::Record>&)>& expired);
  Result<std::size_t> erase(const std::string& kind, const std::vector<std::string>& ids);

  storage::Store& store_;
  const Clock& clock_;
  boost::asio::strand<boost::asio::any_io_executor> strand_;  // guards timer_
  boost::asio::any_io_executor work_;
  const RetentionOptions options_;
  boost::asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
};

}  // namespace oshin::app
