#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oshin/storage/store.hpp"
#include "oshin/v1/stream.pb.h"

namespace oshin::stream {

/// What one committed event says, without its seq: shared by every recipient of the same content
/// (one visit update goes to the nurse, the staff and the team as events with their own seqs
/// but the same body). Each wire encoding is computed once, by the first session that needs it,
/// and reused by the rest. Thread-safe.
class EventBody {
 public:
  /// `content` with seq 0 and `serialized` its protobuf bytes (content.SerializeAsString()).
  EventBody(v1::ServerEvent content, std::string serialized);
  /// Shares `content` (not null, seq 0); its protobuf bytes are computed on first use.
  explicit EventBody(std::shared_ptr<const v1::ServerEvent> content);

  const v1::ServerEvent& content() const { return *content_; }
  /// The serialized content (seq 0, so the seq field is absent). Computed on first use when the
  /// body was built from shared content.
  const std::string& serialized() const;
  /// The canonical JSON of the content, as the stream prints it (seq printed as "0"). Computed
  /// on first use.
  const std::string& json() const;

 private:
  std::shared_ptr<const v1::ServerEvent> content_;
  mutable std::once_flag serialized_once_;
  mutable std::string serialized_;
  mutable std::once_flag json_once_;
  mutable std::string json_;
};

/// One live event for one account: its seq and its shared body.
struct LiveEvent {
  std::int64_t seq = 0;
  std::shared_ptr<const EventBody> body;

  /// The text frame: byte for byte what printing the whole event (content with this seq) gives.
  std::string json_frame() const;
  /// The binary frame: byte for byte the serialized whole event.
  std::string protobuf_frame() const;
};

/// Wraps one event (seq set) with a body of its own. Any thread.
std::shared_ptr<const LiveEvent> make_live_event(const v1::ServerEvent& event);

/// A receiver of live events for one account (a WebSocket session).
class StreamSink {
 public:
  virtual ~StreamSink() = default;

  /// Takes one live event (seq set, rising per account). Called by StreamHub::publish on the
  /// publisher's thread with the hub's lock held: it must only enqueue (never block, never call
  /// back into the hub) and must not throw.
  virtual void deliver(std::shared_ptr<const LiveEvent> event) = 0;

  /// The account lost access (disabled): close the session. Same rules as deliver(): called with
  /// the hub's lock held, must only post, must not throw.
  virtual void revoke() = 0;
};

/// Live fan-out of committed events to the connected sessions of each account.
/// Thread-safe: any thread may call any method.
class StreamHub {
 public:
  StreamHub() = default;
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  /// Hands `event` to every session subscribed to `account_id`. Call it after the event's commit
  /// is synced, in seq order per account (e.g. from the store's completion thread, inside the
  /// commit handler). Never blocks: each session only enqueues (a session whose queue is full drops
  /// itself). A null event is ignored.
  void publish(const std::string& account_id, std::shared_ptr<const LiveEvent> event);
  /// The same for an event without a shared body (tests, tools).
  void publish(const std::string& account_id, const std::shared_ptr<const v1::ServerEvent>& event);

  /// Subscribes a session to an account's live events. The hub keeps only a weak reference.
  void subscribe(const std::string& account_id, const std::shared_ptr<StreamSink>& sink);

  /// Removes a session; removing one that is not subscribed is a no-op.
  void unsubscribe(const std::string& account_id, const StreamSink* sink);

  /// Closes every session of `account_id` (the account was disabled). Any thread.
  void revoke(const std::string& account_id);

  /// Subscribed sessions, over all accounts.
  std::size_t connections() const;

  /// Blocks the caller until exactly `count` sessions are subscribed or `timeout` passes;
  /// returns whether the count was reached. For tests and tools: never call it on an I/O thread.
  bool wait_for_connections(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  struct Entry {
    const StreamSink* key;
    std::weak_ptr<StreamSink> sink;
  };

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::unordered_map<std::string, std::vector<Entry>> sinks_;  ///< account id -> sessions
  std::size_t count_ = 0;
};

/// One event for one recipient account, as a service produces it. `event->seq` is left 0: the
/// store assigns it. `event->at` and `event->type` must be set by the service. The recipients of
/// one event share its content: build it once and give every recipient the same pointer, so that
/// it is copied, serialized and encoded once rather than once per recipient.
struct OutgoingEvent {
  OutgoingEvent() = default;
  OutgoingEvent(std::string account, std::shared_ptr<const v1::ServerEvent> content)
      : account_id(std::move(account)), event(std::move(content)) {}
  /// An event with content of its own.
  OutgoingEvent(std::string account, v1::ServerEvent content)
      : account_id(std::move(account)),
        event(std::make_shared<const v1::ServerEvent>(std::move(content))) {}

  std::string account_id;
  std::shared_ptr<const v1::ServerEvent> event;  ///< null reads as an empty event
};

/// Adds one AppendEvent per outgoing event to `tx` (type = event->type(), stream_key =
/// account_id, payload = the event serialized with seq 0, at_ms), in order; content shared by
/// consecutive events is serialized once. Any thread.
void add_events(storage::Transaction& tx, const std::vector<OutgoingEvent>& events,
                std::int64_t at_ms);

/// After `tx` committed: gives each event its seq, result.event_seqs[first_event_index + i]
/// (the AppendEvents of add_events in mutation order; `first_event_index` counts AppendEvents
/// added to the transaction before them), and publishes it to its account. Events of the call
/// that share one content pointer share one EventBody, so each encoding is made once for all of
/// them. Call
/// it from the commit handler (the store's completion thread) so that events are published in seq
/// order. A result with too few seqs (a wiring bug) publishes nothing and logs an error.
void publish_committed(StreamHub& hub, std::vector<OutgoingEvent> events,
                       const storage::CommitResult& result, std::size_t first_event_index = 0);

}  // namespace oshin::stream
