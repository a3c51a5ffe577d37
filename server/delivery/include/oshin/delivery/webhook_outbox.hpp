#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/internal.pb.h"

namespace oshin::delivery {

/// The store kind of outbox records: one v1::WebhookDelivery per record, id = delivery id.
inline constexpr std::string_view kWebhookDeliveryKind = "webhook_delivery";

/// What the outbox tells observers about one attempt; never the secret, body or URL.
struct WebhookAttemptReport {
  std::string id;
  std::int32_t attempts = 0;     ///< attempts made so far, this one included
  SystemTime next_attempt_at;    ///< when the next attempt is due (retries only)
  std::int32_t last_status = 0;  ///< HTTP status of this attempt; 0 when there was no answer
  std::string last_error;  ///< why it failed, e.g. "HTTP 503" or "connect: Connection refused"
};

/// Tuning of the outbox. Durations are in milliseconds so tests can use small ones.
struct WebhookOutboxOptions {
  /// Delay after the first failed attempt; doubles after each further failure.
  std::chrono::milliseconds initial_backoff{std::chrono::seconds(2)};
  /// Upper bound of any delay (also caps a stored schedule that lies further ahead, e.g. after
  /// the wall clock was set back).
  std::chrono::milliseconds max_backoff{std::chrono::minutes(10)};
  /// Whole attempt: resolve, connect, TLS handshake, send, and the response header.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  /// Largest body add() accepts, in bytes.
  std::size_t max_body = 1024 * 1024;
  /// Sent as `User-Agent`; control characters are dropped.
  std::string user_agent = "oshin-webhook/1";
  /// Each delay is shortened by up to this fraction of itself (clamped to [0, 0.9]), by an
  /// amount derived from the delivery id and attempt number: deterministic, yet deliveries that
  /// failed together do not retry in lockstep. 0 disables jitter.
  double jitter = 0.2;
  /// Send to loopback, private and link-local addresses too. Off by default: a webhook URL is set
  /// by an ADMIN for an outside organization and must not reach the center's own network (SSRF).
  /// Tests with a receiver on 127.0.0.1 turn it on.
  bool allow_private_addresses = false;
  /// PEM file of CA certificates for https peers; empty means the system's default paths.
  std::string ca_file;
  /// Called on the outbox's strand after a delivery got a 2xx and was recorded (or the record
  /// failed to commit: the receiver has it either way). Must not block.
  std::function<void(const std::string& id)> on_delivered;
  /// Called on the outbox's strand after a failed attempt was committed and its retry armed.
  /// Must not block. For metrics and tests.
  std::function<void(const WebhookAttemptReport& report)> on_retry_scheduled;
};

/// Delay before the next attempt after `attempts` (>= 1) failed ones: initial_backoff *
/// 2^(attempts-1), capped at max_backoff, then shortened by the deterministic jitter (see
/// WebhookOutboxOptions::jitter). At least 1 ms. Pure; any thread may call it.
std::chrono::milliseconds webhook_backoff(const WebhookOutboxOptions& options,
                                          std::string_view delivery_id, std::int32_t attempts);

/// The durable webhook outbox: delivers each v1::WebhookDelivery at least once, signed
/// (X-Oshin-Signature, fresh timestamp per attempt), retrying with backoff until a 2xx, across
/// restarts. Nothing is sent before its record is durable, and each attempt's outcome commits
/// before the next attempt.
///
/// Work runs on a strand of the io_context. The io_context and the Clock must outlive this
/// object; the Store must stay open until stop() or destruction (closing it later is fine:
/// commits still in flight then complete into a closed gate). Destroying the outbox stops it.
class WebhookOutbox {
 public:
  using Options = WebhookOutboxOptions;

  /// Any thread. Throws only if OpenSSL cannot create a TLS context (out of memory).
  WebhookOutbox(boost::asio::io_context& io, storage::Store& store, const Clock& clock,
                Options options = {});
  /// Stops (see stop()) and closes the gate through which commits still in flight would reach
  /// the strand. Any thread.
  ~WebhookOutbox();
  WebhookOutbox(const WebhookOutbox&) = delete;
  WebhookOutbox& operator=(const WebhookOutbox&) = delete;

  /// Validates `delivery` and puts its durable record into the caller's transaction: id (the
  /// inbox_item_id when id is empty), url, secret, body and optional organization_id,
  /// inbox_item_id, content_type, event_type are the caller's; attempts = 0, next_attempt_at =
  /// created_at = now, delivered_at and last_* cleared. The put fails the transaction with
  /// Errc::already_exists when that id exists. Returns the record as stored, to pass to start()
  /// once the transaction is synced; Errc::invalid_argument (nothing added) for a bad id, a URL
  /// that is not http(s), an empty secret or a body over max_body. Any thread; no I/O.
  Result<v1::WebhookDelivery> add(storage::Transaction& tx, v1::WebhookDelivery delivery);

  /// Schedules the first attempt of a record add() returned, at once. Call only after its
  /// transaction committed and synced. Starting an id that is already pending does nothing.
  /// Any thread, including the store's completion thread inside a CommitHandler (no I/O, no wait).
  void start(v1::WebhookDelivery delivery);

  /// Reads the record with this id from the store and starts it when it is undelivered.
  /// Errc::not_found when absent. Any thread except the store's completion thread (it reads the
  /// store).
  Result<void> start(const std::string& delivery_id);

  /// At start-up: loads every undelivered record from the store and schedules it at its stored
  /// next_attempt_at (at once when that has passed). Unreadable or invalid records are logged
  /// by id and skipped. Returns the store's error when listing fails. Any thread except the
  /// store's completion thread.
  Result<void> resume();

  /// Cancels every timer and in-flight request for shutdown; afterwards nothing touches the
  /// store, the clock or the callbacks, and add() still works but start() and resume() do
  /// nothing. Records stay in the store and resume on the next start. Idempotent; any thread,
  /// including the callbacks.
  void stop();

  /// When the pending delivery `id` is next due, per the injected Clock; empty when it is not
  /// pending (unknown, delivered, or stopped). Any thread.
  std::optional<SystemTime> next_attempt_at(const std::string& id) const;

  /// Deliveries waiting, sending or committing. Any thread.
  std::size_t pending_count() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace oshin::delivery
