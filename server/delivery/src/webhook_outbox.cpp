#include "oshin/delivery/webhook_outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <limits>
#include <map>
#include <mutex>
#include <utility>

#include "oshin/delivery/webhook_signature.hpp"
#include "oshin/delivery/webhook_url.hpp"
#include "webhook_request.hpp"

namespace oshin::delivery {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using detail::AttemptOutcome;
using detail::Strand;
using detail::WebhookRequest;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxSecretBytes = 1024;
constexpr std::size_t kMaxHeaderValueBytes = 256;
constexpr std::string_view kDefaultContentType = "application/json";

google::protobuf::Timestamp to_timestamp(SystemTime t) {
  const auto since = t.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - seconds);
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds.count());
  ts.set_nanos(static_cast<std::int32_t>(nanos.count()));
  return ts;
}

SystemTime from_timestamp(const google::protobuf::Timestamp& ts) {
  // Stored values come from to_timestamp(); clamp anyway so a damaged record cannot overflow.
  constexpr std::int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z
  const std::int64_t seconds = std::clamp<std::int64_t>(ts.seconds(), 0, kMaxSeconds);
  const std::int32_t nanos = std::clamp<std::int32_t>(ts.nanos(), 0, 999'999'999);
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(seconds) + std::chrono::nanoseconds(nanos)));
}

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

// A header value we send: printable ASCII (no CR/LF), bounded.
bool is_header_value(std::string_view s) {
  return s.size() <= kMaxHeaderValueBytes && std::all_of(s.begin(), s.end(), [](char c) {
           const auto u = static_cast<unsigned char>(c);
           return u >= 0x20 && u < 0x7f;
         });
}

std::string printable(std::string_view s) {
  std::string out;
  std::copy_if(s.begin(), s.end(), std::back_inserter(out), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f;
  });
  return out.substr(0, kMaxHeaderValueBytes);
}

// Checks a record before it is stored or sent; returns its parsed URL. Records read back from
// the store go through the same checks: a damaged one is skipped, never asserted on.
Result<WebhookUrl> check(const v1::WebhookDelivery& d, std::size_t max_body) {
  if (d.id().empty() || d.id().size() > kMaxIdBytes ||
      !std::all_of(d.id().begin(), d.id().end(), is_id_char)) {
    return Errc::invalid_argument;
  }
  if (d.secret().empty() || d.secret().size() > kMaxSecretBytes || d.body().size() > max_body ||
      !is_header_value(d.content_type()) || !is_header_value(d.event_type())) {
    return Errc::invalid_argument;
  }
  return parse_webhook_url(d.url());
}

std::int64_t unix_seconds(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class WebhookOutbox::Impl : public std::enable_shared_from_this<Impl> {
 public:
  /// Lets commit handlers (on the store's completion thread) reach the strand only while the
  /// outbox exists, which guarantees the io_context still does.
  struct Gate {
    std::mutex mutex;
    bool open = true;
    std::weak_ptr<Impl> impl;
  };

  Impl(net::io_context& io, storage::Store& store, const Clock& clock, Options options)
      : strand_(net::make_strand(io)),
        store_(store),
        clock_(clock),
        options_(std::move(options)),
        tls_(net::ssl::context::tls_client),
        gate_(std::make_shared<Gate>()) {
    options_.user_agent = printable(options_.user_agent);
    tls_.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1);
    tls_.set_verify_mode(net::ssl::verify_peer);
    boost::system::error_code ec;
    if (options_.ca_file.empty()) {
      tls_.set_default_verify_paths(ec);
    } else {
      tls_.load_verify_file(options_.ca_file, ec);
    }
    if (ec) {
      // https attempts will fail verification and be retried; http works regardless.
      spdlog::error("webhook outbox: cannot load CA certificates: {}", ec.message());
    }
  }

  void bind_gate() { gate_->impl = weak_from_this(); }

  Result<v1::WebhookDelivery> add(storage::Transaction& tx, v1::WebhookDelivery d) const {
    if (d.id().empty()) {
      d.set_id(d.inbox_item_id());
    }
    if (Result<WebhookUrl> url = check(d, options_.max_body); !url) {
      return url.error();
    }
    const SystemTime now = clock_.now();
    d.set_attempts(0);
    *d.mutable_next_attempt_at() = to_timestamp(now);
    *d.mutable_created_at() = to_timestamp(now);
    d.clear_delivered_at();
    d.clear_last_attempt_at();
    d.clear_last_error();
    d.clear_last_status();
    storage::PutRecord put;
    put.record.kind = std::string(kWebhookDeliveryKind);
    put.record.id = d.id();
    put.record.body = d.SerializeAsString();
    put.record.updated_at_ms = to_unix_ms(now);
    put.must_not_exist = true;
    tx.mutations.emplace_back(std::move(put));
    return d;
  }

  /// Any thread: hands the record to the strand.
  void enqueue(v1::WebhookDelivery d) {
    const std::string id = printable(d.id());
    try {
      net::post(strand_, [self = shared_from_this(), d = std::move(d)]() mutable {
        self->on_start(std::move(d));
      });
    } catch (const std::exception& e) {
      spdlog::error("webhook {}: cannot schedule: {}", id, e.what());
    }
  }

  Result<void> start_by_id(const std::string& id) {
    Result<std::optional<storage::Record>> record =
        store_.get(std::string(kWebhookDeliveryKind), id);
    if (!record) {
      return record.error();
    }
    if (!record->has_value()) {
      return Errc::not_found;
    }
    v1::WebhookDelivery d;
    if (!d.ParseFromString((*record)->body)) {
      spdlog::warn("webhook {}: stored record is unreadable; skipped", printable(id));
      return Errc::internal;
    }
    if (!d.has_delivered_at()) {
      d.set_id(id);
      enqueue(std::move(d));
    }
    return {};
  }

  Result<void> resume() {
    Result<std::vector<storage::Record>> records = store_.list(std::string(kWebhookDeliveryKind));
    if (!records) {
      return records.error();
    }
    std::size_t resumed = 0;
    for (const storage::Record& record : *records) {
      v1::WebhookDelivery d;
      if (!d.ParseFromString(record.body)) {
        spdlog::warn("webhook {}: stored record is unreadable; skipped", printable(record.id));
        continue;
      }
      if (d.has_delivered_at()) {
        continue;
      }
      // The record's key is authoritative: updates are written back under d.id().
      d.set_id(record.id);
      enqueue(std::move(d));
      ++resumed;
    }
    spdlog::info("webhook outbox: resuming {} undelivered deliveries", resumed);
    return {};
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_) {
        return;
      }
      stopped_ = true;
    }
    // Posted, never run inline: a callback that calls stop() may still hold an Entry.
    try {
      net::post(strand_, [self = shared_from_this()] { self->cancel_all(); });
    } catch (const std::exception&) {
      // Out of memory: the timers and sockets go when the io_context does; nothing acts on
      // them since stopped_ is set.
    }
  }

  void close_gate() {
    std::lock_guard lock(gate_->mutex);
    gate_->open = false;
  }

  std::optional<SystemTime> next_attempt_at(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (stopped_ || it == entries_.end()) {
      return std::nullopt;
    }
    return from_timestamp(it->second->record.next_attempt_at());
  }

  std::size_t pending_count() const {
    std::lock_guard lock(mutex_);
    return stopped_ ? 0 : entries_.size();
  }

 private:
  enum class State { waiting, sending, committing };

  struct Entry {
    Entry(const Strand& strand, v1::WebhookDelivery d, WebhookUrl u)
        : record(std::move(d)), url(std::move(u)), timer(strand) {}
    v1::WebhookDelivery record;
    WebhookUrl url;
    net::steady_timer timer;
    std::uint64_t generation = 0;  // tells a current timer completion from a stale one
    State state = State::waiting;
    std::shared_ptr<WebhookRequest> request;
  };

  // Every handler below runs on the strand and holds mutex_ throughout: once stop() has set
  // stopped_, no handler touches the store, the clock or the callbacks again.

  void on_start(v1::WebhookDelivery d) noexcept {
    std::lock_guard lock(mutex_);
    if (stopped_ || d.has_delivered_at() || entries_.count(d.id()) != 0) {
      return;
    }
    std::string id;
    try {
      id = printable(d.id());
      Result<WebhookUrl> url = check(d, std::numeric_limits<std::size_t>::max());
      if (!url) {
        spdlog::warn("webhook {}: invalid delivery record; skipped", id);
        return;
      }
      auto entry = std::make_unique<Entry>(strand_, std::move(d), std::move(*url));
      Entry& e = *entry;
      entries_.emplace(id, std::move(entry));
      arm(id, e);
    } catch (const std::exception& ex) {
      // Out of memory: the record stays in the store and resumes on the next start.
      entries_.erase(id);
      log_error(id, "cannot schedule", ex);
    }
  }

  void arm(const std::string& id, Entry& e) {
    e.state = State::waiting;
    const auto longest =
        std::max(std::chrono::duration_cast<SystemTime::duration>(options_.max_backoff),
                 SystemTime::duration::zero());
    const auto wait =
        std::clamp<SystemTime::duration>(from_timestamp(e.record.next_attempt_at()) - clock_.now(),
                                         SystemTime::duration::zero(), longest);
    e.timer.expires_after(std::chrono::duration_cast<net::steady_timer::duration>(wait));
    const std::uint64_t generation = ++e.generation;
    e.timer.async_wait([self = shared_from_this(), id, generation](boost::system::error_code ec) {
      self->on_due(id, generation, ec);
    });
  }

  void on_due(const std::string& id, std::uint64_t generation,
              boost::system::error_code ec) noexcept {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (ec || stopped_ || it == entries_.end() || it->second->generation != generation ||
        it->second->state != State::waiting) {
      return;
    }
    Entry& e = *it->second;
    try {
      send(id, e);
    } catch (const std::exception& ex) {
      // Out of memory building the request: count it as a failed attempt.
      log_error(id, "cannot send", ex);
      e.state = State::sending;
      on_sent(id, {0, "internal error"});
    }
  }

  void send(const std::string& id, Entry& e) {
    const v1::WebhookDelivery& d = e.record;
    WebhookRequest::Request req{http::verb::post, e.url.target, 11};
    req.set(http::field::host, e.url.host_header());
    req.set(http::field::user_agent, options_.user_agent);
    req.set(http::field::content_type,
            d.content_type().empty() ? kDefaultContentType : std::string_view(d.content_type()));
    // A fresh timestamp on every attempt, so receivers can keep a tight tolerance.
    req.set(kSignatureHeader, sign_webhook(d.secret(), unix_seconds(clock_.now()), d.body()));
    req.set(kDeliveryHeader, id);
    if (!d.event_type().empty()) {
      req.set(kEventHeader, d.event_type());
    }
    req.set(http::field::connection, "close");
    req.body() = d.body();
    req.prepare_payload();
    std::weak_ptr<Impl> weak = weak_from_this();
    // Already on the strand when this runs: WebhookRequest completes there.
    auto done = [weak, id](AttemptOutcome outcome) {
      if (std::shared_ptr<Impl> self = weak.lock()) {
        self->on_sent(id, std::move(outcome));
      }
    };
    e.request = std::make_shared<WebhookRequest>(strand_, tls_, e.url, std::move(req),
                                                 options_.request_timeout, std::move(done),
                                                 options_.allow_private_addresses);
    e.state = State::sending;
    // The local reference keeps the request alive even if it completes inside run().
    std::shared_ptr<WebhookRequest> request = e.request;
    request->run();
  }

  void on_sent(const std::string& id, AttemptOutcome outcome) noexcept {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (stopped_ || it == entries_.end() || it->second->state != State::sending) {
      return;
    }
    Entry& e = *it->second;
    e.request.reset();
    try {
      const SystemTime now = clock_.now();
      v1::WebhookDelivery& d = e.record;
      if (d.attempts() < std::numeric_limits<std::int32_t>::max()) {
        d.set_attempts(d.attempts() + 1);
      }
      *d.mutable_last_attempt_at() = to_timestamp(now);
      d.set_last_status(static_cast<std::int32_t>(outcome.status));
      const bool delivered = outcome.ok();
      if (delivered) {
        *d.mutable_delivered_at() = to_timestamp(now);
        d.clear_last_error();
        // The key is not needed any more: fewer copies of it at rest.
        d.clear_secret();
      } else {
        d.set_last_error(outcome.error.empty() ? "unknown error" : outcome.error);
        *d.mutable_next_attempt_at() =
            to_timestamp(now + webhook_backoff(options_, id, d.attempts()));
      }
      e.state = State::committing;
      commit(id, d, delivered);
    } catch (const std::exception& ex) {
      // Out of memory: the entry stays out of the schedule until restart, when resume() picks
      // the stored record up again. At-least-once still holds.
      log_error(id, "cannot record attempt", ex);
    }
  }

  // Commits the record; the outcome comes back through the gate onto the strand.
  void commit(const std::string& id, const v1::WebhookDelivery& d, bool delivered) {
    storage::PutRecord put;
    put.record.kind = std::string(kWebhookDeliveryKind);
    put.record.id = id;
    put.record.body = d.SerializeAsString();
    put.record.updated_at_ms = to_unix_ms(clock_.now());
    storage::Transaction tx;
    tx.mutations.emplace_back(std::move(put));
    store_.commit(std::move(tx), commit_handler(gate_, id, delivered));
  }

  // Runs on the store's completion thread: only hands the outcome to the strand, never blocks.
  static storage::CommitHandler commit_handler(std::shared_ptr<Gate> gate, std::string id,
                                               bool delivered) {
    return [gate = std::move(gate), id = std::move(id),
            delivered](Result<storage::CommitResult> result) noexcept {
      try {
        std::lock_guard lock(gate->mutex);
        if (!gate->open) {
          return;
        }
        // `self` is released while the gate is still locked, and the outbox holds a reference
        // while the gate is open: the completion thread never drops the last one.
        if (std::shared_ptr<Impl> self = gate->impl.lock()) {
          const boost::system::error_code ec =
              result ? boost::system::error_code() : result.error();
          net::post(self->strand_,
                    [self, id, delivered, ec] { self->on_committed(id, delivered, ec); });
        }
      } catch (...) {
        // Out of memory on the completion thread: the entry stays in `committing` until restart,
        // when resume() picks the stored record up again.
      }
    };
  }

  void on_committed(const std::string& id, bool delivered, boost::system::error_code ec) noexcept {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (stopped_ || it == entries_.end() || it->second->state != State::committing) {
      return;
    }
    Entry& e = *it->second;
    try {
      if (ec) {
        // The attempt happened; only its record is missing. Go on: at-least-once still holds,
        // and the stored record (attempts, schedule) is just older than the truth.
        spdlog::warn("webhook {}: storing attempt {} failed: {}", id, e.record.attempts(),
                     ec.message());
      }
      if (delivered) {
        spdlog::info("webhook {}: delivered to {} after {} attempt(s)", id, e.url.host,
                     e.record.attempts());
        entries_.erase(it);
        if (options_.on_delivered) {
          options_.on_delivered(id);
        }
        return;
      }
      arm(id, e);
      WebhookAttemptReport report{id, e.record.attempts(),
                                  from_timestamp(e.record.next_attempt_at()),
                                  e.record.last_status(), e.record.last_error()};
      spdlog::warn("webhook {}: attempt {} to {} failed: {}; next in {} ms", id, report.attempts,
                   e.url.host, report.last_error,
                   std::chrono::duration_cast<std::chrono::milliseconds>(report.next_attempt_at -
                                                                         clock_.now())
                       .count());
      if (options_.on_retry_scheduled) {
        options_.on_retry_scheduled(report);
      }
    } catch (const std::exception& ex) {
      log_error(id, "after commit", ex);
    }
  }

  void cancel_all() noexcept {
    std::lock_guard lock(mutex_);
    for (auto& [id, entry] : entries_) {
      try {
        entry->timer.cancel();
      } catch (const std::exception&) {
        // Only an OS failure; destroying the timer below cancels the wait as well.
      }
      if (entry->request) {
        entry->request->cancel();
      }
    }
    entries_.clear();
  }

  static void log_error(const std::string& id, const char* what,
                        const std::exception& ex) noexcept {
    try {
      spdlog::error("webhook {}: {}: {}", id, what, ex.what());
    } catch (...) {
      // Logging itself ran out of memory.
    }
  }

  Strand strand_;
  storage::Store& store_;
  const Clock& clock_;
  Options options_;
  net::ssl::context tls_;
  std::shared_ptr<Gate> gate_;
  mutable std::recursive_mutex mutex_;  // recursive: callbacks may query the outbox
  bool stopped_ = false;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

// ---------------------------------------------------------------------------------------------

WebhookOutbox::WebhookOutbox(net::io_context& io, storage::Store& store, const Clock& clock,
                             Options options)
    : impl_(std::make_shared<Impl>(io, store, clock, std::move(options))) {
  impl_->bind_gate();
}

WebhookOutbox::~WebhookOutbox() {
  impl_->stop();
  impl_->close_gate();
}

Result<v1::WebhookDelivery> WebhookOutbox::add(storage::Transaction& tx,
                                               v1::WebhookDelivery delivery) {
  return impl_->add(tx, std::move(delivery));
}

void WebhookOutbox::start(v1::WebhookDelivery delivery) {
  impl_->enqueue(std::move(delivery));
}

Result<void> WebhookOutbox::start(const std::string& delivery_id) {
  return impl_->start_by_id(delivery_id);
}

Result<void> WebhookOutbox::resume() {
  return impl_->resume();
}

void WebhookOutbox::stop() {
  impl_->stop();
}

std::optional<SystemTime> WebhookOutbox::next_attempt_at(const std::string& id) const {
  return impl_->next_attempt_at(id);
}

std::size_t WebhookOutbox::pending_count() const {
  return impl_->pending_count();
}

}  // namespace oshin::delivery
