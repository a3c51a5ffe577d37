#include "oshin/stream/stream_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <utility>

namespace oshin::stream {

void StreamHub::publish(const std::string& account_id,
                        std::shared_ptr<const v1::ServerEvent> event) {
  if (!event) {
    return;
  }
  // Sessions locked here are released after the lock: a session's destructor unsubscribes,
  // which takes the lock again.
  std::vector<std::shared_ptr<StreamSink>> alive;
  try {
    std::lock_guard lock(mutex_);
    auto it = sinks_.find(account_id);
    if (it == sinks_.end()) {
      return;
    }
    alive.reserve(it->second.size());
    // Delivering under the lock keeps every session's events in publish order even if
    // publishers ever race.
    for (const Entry& entry : it->second) {
      if (auto sink = entry.sink.lock()) {
        sink->deliver(event);
        alive.push_back(std::move(sink));
      }
    }
  } catch (const std::exception& e) {
    // Out of memory: the affected sessions miss the event live and get it by replay on reconnect.
    spdlog::error("stream hub: publish failed: {}", e.what());
  }
}

void StreamHub::subscribe(const std::string& account_id, const std::shared_ptr<StreamSink>& sink) {
  if (!sink) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    sinks_[account_id].push_back(Entry{sink.get(), sink});
    ++count_;
  }
  changed_.notify_all();
}

void StreamHub::revoke(const std::string& account_id) {
  std::lock_guard lock(mutex_);
  auto it = sinks_.find(account_id);
  if (it == sinks_.end()) {
    return;
  }
  for (const Entry& e : it->second) {
    if (auto sink = e.sink.lock()) {
      sink->revoke();
    }
  }
}

void StreamHub::unsubscribe(const std::string& account_id, const StreamSink* sink) {
  {
    std::lock_guard lock(mutex_);
    auto it = sinks_.find(account_id);
    if (it == sinks_.end()) {
      return;
    }
    auto& entries = it->second;
    auto found = std::find_if(entries.begin(), entries.end(),
                              [sink](const Entry& e) { return e.key == sink; });
    if (found == entries.end()) {
      return;
    }
    entries.erase(found);
    --count_;
    if (entries.empty()) {
      sinks_.erase(it);
    }
  }
  changed_.notify_all();
}

std::size_t StreamHub::connections() const {
  std::lock_guard lock(mutex_);
  return count_;
}

bool StreamHub::wait_for_connections(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return count_ == count; });
}

void add_events(storage::Transaction& tx, const std::vector<OutgoingEvent>& events,
                std::int64_t at_ms) {
  for (const OutgoingEvent& out : events) {
    storage::AppendEvent append;
    append.type = out.event.type();
    append.stream_key = out.account_id;
    append.at_ms = at_ms;
    if (out.event.seq() == 0) {
      append.payload = out.event.SerializeAsString();
    } else {
      v1::ServerEvent copy = out.event;
      copy.set_seq(0);
      append.payload = copy.SerializeAsString();
    }
    tx.mutations.emplace_back(std::move(append));
  }
}

void publish_committed(StreamHub& hub, std::vector<OutgoingEvent> events,
                       const storage::CommitResult& result, std::size_t first_event_index) {
  if (first_event_index > result.event_seqs.size() ||
      events.size() > result.event_seqs.size() - first_event_index) {
    spdlog::error("stream: {} events from index {} but the commit assigned {} seqs; not published",
                  events.size(), first_event_index, result.event_seqs.size());
    return;
  }
  try {
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto event = std::make_shared<v1::ServerEvent>(std::move(events[i].event));
      event->set_seq(result.event_seqs[first_event_index + i]);
      hub.publish(events[i].account_id, std::move(event));
    }
  } catch (const std::exception& e) {
    // Called on the store's writer thread: nothing may escape. Clients replay what they missed.
    spdlog::error("stream: publishing committed events failed: {}", e.what());
  }
}

}  // namespace oshin::stream
