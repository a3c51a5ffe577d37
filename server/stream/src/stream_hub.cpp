#include "oshin/stream/stream_hub.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

#include "oshin/http/codec.hpp"

namespace oshin::stream {

namespace {

// The canonical JSON of an event whose seq is 0 starts with this (seq is field 1, printed first,
// int64 as a string, defaults printed).
constexpr std::string_view kZeroSeqJson = R"({"seq":"0")";

// An event with content of its own whose seq is 0 (the form bodies and the log hold).
std::shared_ptr<const v1::ServerEvent> with_zero_seq(
    const std::shared_ptr<const v1::ServerEvent>& event) {
  if (event && event->seq() == 0) {
    return event;
  }
  auto copy =
      event ? std::make_shared<v1::ServerEvent>(*event) : std::make_shared<v1::ServerEvent>();
  copy->set_seq(0);
  return copy;
}

}  // namespace

std::string organization_stream(std::string_view organization_id) {
  std::string key("org:");
  key.append(organization_id);
  return key;
}

std::vector<std::string> stream_keys_of(const Principal& account) {
  std::vector<std::string> keys{account.user_id};
  // ADMIN sees no patient data: its organization's events are not its business.
  if (!account.organization_id.empty() && account.role != Role::admin) {
    keys.push_back(organization_stream(account.organization_id));
  }
  if (account.role == Role::staff) {
    keys.emplace_back(kStaffStream);
  }
  return keys;
}

EventBody::EventBody(v1::ServerEvent content, std::string serialized)
    : content_(std::make_shared<const v1::ServerEvent>(std::move(content))),
      serialized_(std::move(serialized)) {}

EventBody::EventBody(std::shared_ptr<const v1::ServerEvent> content)
    : content_(with_zero_seq(content)) {}

const std::string& EventBody::serialized() const {
  // A body built with its bytes keeps them (an empty event serializes to nothing either way).
  std::call_once(serialized_once_, [this] {
    if (serialized_.empty()) {
      serialized_ = content_->SerializeAsString();
    }
  });
  return serialized_;
}

const std::string& EventBody::json() const {
  std::call_once(json_once_, [this] { json_ = http::to_json(*content_); });
  return json_;
}

std::string LiveEvent::json_frame() const {
  const std::string& body_json = body->json();
  if (body_json.compare(0, kZeroSeqJson.size(), kZeroSeqJson) == 0) {
    const std::string digits = std::to_string(seq);
    std::string out;
    out.reserve(body_json.size() + digits.size());
    out.append(R"({"seq":")");
    out.append(digits);
    out.append(body_json, kZeroSeqJson.size() - 1, std::string::npos);  // from the closing quote
    return out;
  }
  // Not the expected shape (cannot happen with the options http::to_json uses): print it whole.
  v1::ServerEvent whole = body->content();
  whole.set_seq(seq);
  return http::to_json(whole);
}

std::string LiveEvent::protobuf_frame() const {
  if (seq == 0) {
    return body->serialized();
  }
  // Field 1 (varint) comes first in a serialized ServerEvent; the body has none.
  std::string out;
  out.reserve(body->serialized().size() + 11);
  out.push_back(static_cast<char>(0x08));
  auto v = static_cast<std::uint64_t>(seq);
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  out.append(body->serialized());
  return out;
}

std::shared_ptr<const LiveEvent> make_live_event(const v1::ServerEvent& event) {
  v1::ServerEvent content = event;
  content.set_seq(0);
  std::string serialized = content.SerializeAsString();
  auto live = std::make_shared<LiveEvent>();
  live->seq = event.seq();
  live->content_seq = event.seq();
  live->body = std::make_shared<const EventBody>(std::move(content), std::move(serialized));
  return live;
}

void StreamHub::publish(const std::string& stream_key,
                        const std::shared_ptr<const v1::ServerEvent>& event) {
  if (!event) {
    return;
  }
  try {
    publish(stream_key, make_live_event(*event));
  } catch (const std::exception& e) {
    spdlog::error("stream hub: publish failed: {}", e.what());
  }
}

void StreamHub::publish(const std::string& stream_key, std::shared_ptr<const LiveEvent> event) {
  if (!event || !event->body) {
    return;
  }
  // Sessions locked here are released after the lock: a session's destructor unsubscribes,
  // which takes the lock again.
  std::vector<std::shared_ptr<StreamSink>> alive;
  try {
    std::lock_guard lock(mutex_);
    auto it = sinks_.find(stream_key);
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

void StreamHub::subscribe(const std::vector<std::string>& stream_keys,
                          const std::shared_ptr<StreamSink>& sink) {
  if (!sink) {
    return;
  }
  {
    std::lock_guard lock(mutex_);
    for (const std::string& key : stream_keys) {
      sinks_[key].push_back(Entry{sink.get(), sink});
    }
    ++count_;
  }
  changed_.notify_all();
}

void StreamHub::subscribe(const std::string& stream_key, const std::shared_ptr<StreamSink>& sink) {
  subscribe(std::vector<std::string>{stream_key}, sink);
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

void StreamHub::unsubscribe(const std::vector<std::string>& stream_keys, const StreamSink* sink) {
  {
    std::lock_guard lock(mutex_);
    bool found_any = false;
    for (const std::string& key : stream_keys) {
      auto it = sinks_.find(key);
      if (it == sinks_.end()) {
        continue;
      }
      auto& entries = it->second;
      auto found = std::find_if(entries.begin(), entries.end(),
                                [sink](const Entry& e) { return e.key == sink; });
      if (found == entries.end()) {
        continue;
      }
      entries.erase(found);
      found_any = true;
      if (entries.empty()) {
        sinks_.erase(it);
      }
    }
    if (!found_any) {
      return;
    }
    --count_;
  }
  changed_.notify_all();
}

void StreamHub::unsubscribe(const std::string& stream_key, const StreamSink* sink) {
  unsubscribe(std::vector<std::string>{stream_key}, sink);
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
  // Recipients of one event are consecutive and share its content: serialize it once.
  const v1::ServerEvent* last = nullptr;
  std::string payload;
  for (const OutgoingEvent& out : events) {
    if (!last || out.event.get() != last) {
      const auto content = with_zero_seq(out.event);
      payload = content->SerializeAsString();
      last = out.event.get();
    }
    storage::AppendEvent append;
    append.type = out.event ? out.event->type() : std::string();
    append.stream_key = out.stream_key;
    append.at_ms = at_ms;
    append.payload = payload;
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
    // Bodies of this call by their content: one update to five streams is five events with one
    // body (and one content seq, the first of them), encoded once for all of them.
    struct Known {
      const v1::ServerEvent* content;
      std::shared_ptr<const EventBody> body;
      std::int64_t first_seq;
    };
    std::vector<Known> bodies;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const v1::ServerEvent* key = events[i].event.get();
      const std::int64_t seq = result.event_seqs[first_event_index + i];
      const Known* known = nullptr;
      for (const Known& k : bodies) {
        if (k.content == key) {
          known = &k;
          break;
        }
      }
      if (known == nullptr) {
        bodies.push_back(Known{key, std::make_shared<const EventBody>(events[i].event), seq});
        known = &bodies.back();
      }
      auto live = std::make_shared<LiveEvent>();
      live->seq = seq;
      live->content_seq = known->first_seq;
      live->body = known->body;
      hub.publish(events[i].stream_key, std::move(live));
    }
  } catch (const std::exception& e) {
    // Called on the store's completion thread: nothing may escape. Clients replay what they missed.
    spdlog::error("stream: publishing committed events failed: {}", e.what());
  }
}

}  // namespace oshin::stream
