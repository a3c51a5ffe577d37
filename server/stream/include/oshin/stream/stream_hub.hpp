#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oshin/common/principal.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/stream.pb.h"

namespace oshin::stream {

/// Streams. An event is appended once per stream it goes to: one account's (the key is the
/// account id: offers, a summary to a named recipient, a visit update to the team), every member
/// of an organization's (organization_stream: updates of the visits it requested, summaries to
/// it), or every STAFF account's (kStaffStream). An account's stream is the union of its own, its
/// organization's and, for STAFF, the staff stream (stream_keys_of), read in seq order; an event
/// that reaches one account through two of them is sent to it once.
inline constexpr std::string_view kStaffStream = "role:STAFF";

/// The stream of every member of an organization: "org:" + its id.
std::string organization_stream(std::string_view organization_id);

/// The streams an account reads: its id, its organization's (when it has one and is not ADMIN,
/// which sees no patient data) and, for STAFF, kStaffStream.
std::vector<std::string> stream_keys_of(const Principal& account);

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

/// One live event for one stream: its seq and its shared body.
struct LiveEvent {
  std::int64_t seq = 0;
  /// The seq of the first of the commit's events with this body (StoredEvent::content_seq of
  /// the same row once it is read back); equal for the copies of one event sent to several
  /// streams. 0 when unknown.
  std::int64_t content_seq = 0;
  std::shared_ptr<const EventBody> body;

  /// The text frame: byte for byte what printing the whole event (content with this seq) gives.
  std::string json_frame() const;
  /// The binary frame: byte for byte the serialized whole event.
  std::string protobuf_frame() const;
};

/// Wraps one event (seq set) with a body of its own. Any thread.
std::shared_ptr<const LiveEvent> make_live_event(const v1::ServerEvent& event);

/// A receiver of live events for one account's streams (a WebSocket session).
class StreamSink {
 public:
  virtual ~StreamSink() = default;

  /// Takes one live event (seq set, rising per stream). Called by StreamHub::publish on the
  /// publisher's thread with the hub's lock held: it must only enqueue (never block, never call
  /// back into the hub) and must not throw.
  virtual void deliver(std::shared_ptr<const LiveEvent> event) = 0;

  /// The account lost access (disabled): close the session. Same rules as deliver(): called with
  /// the hub's lock held, must only post, must not throw.
  virtual void revoke() = 0;
};

/// Live fan-out of committed events to the sessions subscribed to each stream.
/// Thread-safe: any thread may call any method.
class StreamHub {
 public:
  StreamHub() = default;
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  /// Hands `event` to every session subscribed to `stream_key`. Call it after the event's commit
  /// is synced, in seq order (e.g. from the store's completion thread, inside the commit
  /// handler). Never blocks: each session only enqueues (a session whose queue is full drops
  /// itself). A null event is ignored.
  void publish(const std::string& stream_key, std::shared_ptr<const LiveEvent> event);
  /// The same for an event without a shared body (tests, tools).
  void publish(const std::string& stream_key, const std::shared_ptr<const v1::ServerEvent>& event);

  /// Subscribes one session to the live events of `stream_keys` (its account's id first: that is
  /// the key revoke() closes it by). Counts as one connection. The hub keeps only a weak
  /// reference.
  void subscribe(const std::vector<std::string>& stream_keys,
                 const std::shared_ptr<StreamSink>& sink);
  /// One stream only.
  void subscribe(const std::string& stream_key, const std::shared_ptr<StreamSink>& sink);

  /// Removes a session subscribed with these keys; removing one that is not subscribed is a
  /// no-op.
  void unsubscribe(const std::vector<std::string>& stream_keys, const StreamSink* sink);
  void unsubscribe(const std::string& stream_key, const StreamSink* sink);

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
  std::unordered_map<std::string, std::vector<Entry>> sinks_;  ///< stream key -> sessions
  std::size_t count_ = 0;
};

/// One event for one stream (an account's or a group's, see kStaffStream), as a service produces
/// it. `event->seq` is left 0: the store assigns it. `event->at` and `event->type` must be set by
/// the service. The streams of one event share its content: build it once, give every stream the
/// same pointer and keep them consecutive, so that it is copied, serialized, stored and encoded
/// once rather than once per stream; name each stream once.
struct OutgoingEvent {
  OutgoingEvent() = default;
  OutgoingEvent(std::string stream, std::shared_ptr<const v1::ServerEvent> content)
      : stream_key(std::move(stream)), event(std::move(content)) {}
  /// An event with content of its own.
  OutgoingEvent(std::string stream, v1::ServerEvent content)
      : stream_key(std::move(stream)),
        event(std::make_shared<const v1::ServerEvent>(std::move(content))) {}

  std::string stream_key;
  std::shared_ptr<const v1::ServerEvent> event;  ///< null reads as an empty event
};

/// Adds one AppendEvent per outgoing event to `tx` (type = event->type(), stream_key,
/// payload = the event serialized with seq 0, at_ms), in order; content shared by consecutive
/// events is serialized once. Any thread.
void add_events(storage::Transaction& tx, const std::vector<OutgoingEvent>& events,
                std::int64_t at_ms);

/// After `tx` committed: gives each event its seq, result.event_seqs[first_event_index + i]
/// (the AppendEvents of add_events in mutation order; `first_event_index` counts AppendEvents
/// added to the transaction before them), and publishes it to its stream. Events of the call
/// that share one content pointer share one EventBody (and LiveEvent::content_seq), so each
/// encoding is made once for all of them. Call
/// it from the commit handler (the store's completion thread) so that events are published in seq
/// order. A result with too few seqs (a wiring bug) publishes nothing and logs an error.
void publish_committed(StreamHub& hub, std::vector<OutgoingEvent> events,
                       const storage::CommitResult& result, std::size_t first_event_index = 0);

}  // namespace oshin::stream
