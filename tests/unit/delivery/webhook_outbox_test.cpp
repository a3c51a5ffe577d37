#include "oshin/delivery/webhook_outbox.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "oshin/delivery/webhook_signature.hpp"
#include "test_receiver.hpp"

namespace oshin::delivery {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using testing::kDeadline;
using testing::ReceivedRequest;
using testing::Reply;
using testing::TestReceiver;

constexpr std::int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::string_view kSecret = "whsec_test_5b1e";

std::string body_for(const std::string& id) {
  return R"({"id":")" + id + R"(","visitId":"v-1","summary":{"findings":"stable"}})";
}

SystemTime at(const google::protobuf::Timestamp& ts) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(ts.seconds()) + std::chrono::nanoseconds(ts.nanos())));
}

std::int64_t stamp_of(const std::string& signature) {
  // "t=<digits>,v1=..."
  return std::stoll(signature.substr(2, signature.find(',') - 2));
}

/// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "oshin-delivery-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// An io_context run by two threads (so the strand is what serializes the outbox).
class IoThreads {
 public:
  IoThreads() : work_(boost::asio::make_work_guard(io_)) {
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { io_.run(); });
    }
  }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;
  ~IoThreads() {
    work_.reset();
    io_.stop();
    for (std::thread& t : threads_) {
      t.join();
    }
  }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

/// One failed attempt as the outbox reported it, with the clock and the stored record then.
struct Retry {
  WebhookAttemptReport report;
  SystemTime now;
  std::optional<v1::WebhookDelivery> stored;
  std::optional<SystemTime> scheduled;  ///< next_attempt_at() queried inside the callback
};

/// What the outbox reported, with deadline waits.
class Events {
 public:
  void delivered(const std::string& id) {
    std::lock_guard lock(mutex_);
    delivered_.push_back(id);
    cv_.notify_all();
  }
  void retried(Retry retry) {
    std::lock_guard lock(mutex_);
    retries_.push_back(std::move(retry));
    cv_.notify_all();
  }
  bool wait_delivered(const std::string& id) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [&] {
      return std::find(delivered_.begin(), delivered_.end(), id) != delivered_.end();
    });
  }
  bool wait_retries(std::size_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kDeadline, [&] { return retries_.size() >= n; });
  }
  std::vector<Retry> retries() const {
    std::lock_guard lock(mutex_);
    return retries_;
  }
  std::vector<std::string> delivered() const {
    std::lock_guard lock(mutex_);
    return delivered_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> delivered_;
  std::vector<Retry> retries_;
};

WebhookOutboxOptions fast_options() {
  WebhookOutboxOptions o;
  o.allow_private_addresses = true;  // the test receivers listen on 127.0.0.1
  o.initial_backoff = 20ms;
  o.max_backoff = 1s;
  o.request_timeout = 5s;
  o.jitter = 0;
  o.user_agent = "oshin-test/1";
  return o;
}

/// A store in a temp dir, a manual clock, io threads, and an outbox wired to Events.
class Rig {
 public:
  Rig() { open_store(); }
  ~Rig() { close(); }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  void open_store() {
    storage::SqliteOptions options;
    options.data_dir = dir_.path();
    Result<std::unique_ptr<storage::Store>> opened = storage::open_sqlite_store(options);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    store = std::move(*opened);
  }

  /// Destroys the outbox, then closes the store (as a shutdown or a crash-free stop would).
  void close() {
    if (outbox) {
      // stop() waits out a running callback (which reads `outbox`) before the pointer changes.
      outbox->stop();
    }
    outbox.reset();
    if (store) {
      store->close();
      store.reset();
    }
  }

  /// A new outbox; `also` runs inside on_retry_scheduled after the retry is recorded.
  void make_outbox(WebhookOutboxOptions options,
                   std::function<void(const WebhookAttemptReport&)> also = nullptr) {
    options.on_delivered = [this](const std::string& id) { events.delivered(id); };
    options.on_retry_scheduled = [this, also](const WebhookAttemptReport& report) {
      Retry retry{report, clock.now(), std::nullopt, outbox->next_attempt_at(report.id)};
      Result<std::optional<storage::Record>> record =
          store->get(std::string(kWebhookDeliveryKind), report.id);
      if (record && record->has_value()) {
        v1::WebhookDelivery d;
        if (d.ParseFromString((*record)->body)) {
          retry.stored = d;
        }
      }
      events.retried(std::move(retry));
      if (also) {
        also(report);
      }
    };
    outbox = std::make_unique<WebhookOutbox>(io_.io(), *store, clock, std::move(options));
  }

  v1::WebhookDelivery delivery(const std::string& id, const std::string& url) const {
    v1::WebhookDelivery d;
    d.set_id(id);
    d.set_inbox_item_id("in-" + id);
    d.set_organization_id("org-clinic");
    d.set_url(url);
    d.set_secret(std::string(kSecret));
    d.set_body(body_for(id));
    d.set_event_type("visitSummary");
    return d;
  }

  /// Adds the deliveries in one transaction and waits for it to be synced.
  std::vector<v1::WebhookDelivery> add_and_commit(const std::vector<v1::WebhookDelivery>& ds) {
    storage::Transaction tx;
    std::vector<v1::WebhookDelivery> added;
    for (const v1::WebhookDelivery& d : ds) {
      Result<v1::WebhookDelivery> r = outbox->add(tx, d);
      EXPECT_TRUE(r.has_value());
      if (r) {
        added.push_back(*r);
      }
    }
    EXPECT_TRUE(commit_and_wait(std::move(tx)).has_value());
    return added;
  }

  /// add_and_commit, then start() each (what the summary service does after its commit).
  void add_and_start(const std::vector<v1::WebhookDelivery>& ds) {
    for (v1::WebhookDelivery& d : add_and_commit(ds)) {
      outbox->start(std::move(d));
    }
  }

  Result<storage::CommitResult> commit_and_wait(storage::Transaction tx) {
    auto promise = std::make_shared<std::promise<Result<storage::CommitResult>>>();
    std::future<Result<storage::CommitResult>> future = promise->get_future();
    store->commit(std::move(tx),
                  [promise](Result<storage::CommitResult> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "commit not done before the deadline";
      return Errc::request_timeout;
    }
    return future.get();
  }

  std::optional<v1::WebhookDelivery> stored(const std::string& id) const {
    Result<std::optional<storage::Record>> record =
        store->get(std::string(kWebhookDeliveryKind), id);
    if (!record || !record->has_value()) {
      return std::nullopt;
    }
    v1::WebhookDelivery d;
    if (!d.ParseFromString((*record)->body)) {
      return std::nullopt;
    }
    return d;
  }

  std::function<std::int64_t()> now_unix() const {
    return [this] {
      return std::chrono::floor<std::chrono::seconds>(clock.now().time_since_epoch()).count();
    };
  }

 private:
  TempDir dir_;

 public:
  ManualClock clock{from_unix_ms(kStartMs)};

 private:
  IoThreads io_;

 public:
  std::unique_ptr<storage::Store> store;
  Events events;
  std::unique_ptr<WebhookOutbox> outbox;  // last: destroyed first
};

std::size_t count_for(const std::vector<ReceivedRequest>& requests, const std::string& id,
                      bool accepted_only = false) {
  return static_cast<std::size_t>(
      std::count_if(requests.begin(), requests.end(), [&](const ReceivedRequest& r) {
        return r.delivery_id == id && (!accepted_only || (r.answered >= 200 && r.answered < 300));
      }));
}

// ---------------------------------------------------------------------------------------------

TEST(WebhookBackoff, GrowsExponentiallyAndCaps) {
  WebhookOutboxOptions o;
  o.jitter = 0;
  EXPECT_EQ(webhook_backoff(o, "x", 1), 2s);
  EXPECT_EQ(webhook_backoff(o, "x", 2), 4s);
  EXPECT_EQ(webhook_backoff(o, "x", 3), 8s);
  EXPECT_EQ(webhook_backoff(o, "x", 9), 512s);
  EXPECT_EQ(webhook_backoff(o, "x", 10), 10min);
  EXPECT_EQ(webhook_backoff(o, "x", 1000), 10min);
  EXPECT_EQ(webhook_backoff(o, "x", std::numeric_limits<std::int32_t>::max()), 10min);
  // Nonsense settings still give a positive delay.
  o.initial_backoff = 0ms;
  o.max_backoff = -5ms;
  EXPECT_EQ(webhook_backoff(o, "x", 3), 1ms);
}

TEST(WebhookBackoff, JitterIsDeterministicAndBounded) {
  WebhookOutboxOptions o;
  o.jitter = 0.25;
  std::map<milliseconds::rep, int> distinct;
  for (int i = 0; i < 50; ++i) {
    const std::string id = "wh-" + std::to_string(i);
    for (std::int32_t attempts = 1; attempts <= 12; ++attempts) {
      WebhookOutboxOptions plain = o;
      plain.jitter = 0;
      const milliseconds base = webhook_backoff(plain, id, attempts);
      const milliseconds d = webhook_backoff(o, id, attempts);
      EXPECT_EQ(d, webhook_backoff(o, id, attempts));
      EXPECT_LE(d, base);
      EXPECT_GE(d.count(), base.count() - base.count() / 4);
      if (attempts == 1) {
        ++distinct[d.count()];
      }
    }
  }
  // Deliveries that failed together spread out.
  EXPECT_GT(distinct.size(), 40U);
}

// ---------------------------------------------------------------------------------------------

TEST(WebhookOutbox, AddPutsTheRecordIntoTheCallersTransaction) {
  Rig rig;
  rig.make_outbox(fast_options());
  v1::WebhookDelivery d = rig.delivery("", "https://clinic.example/hook?token=t");
  d.set_inbox_item_id("in-7");
  d.set_attempts(9);
  d.set_last_error("stale");
  storage::Transaction tx;
  Result<v1::WebhookDelivery> added = rig.outbox->add(tx, d);
  ASSERT_TRUE(added.has_value());
  EXPECT_EQ(added->id(), "in-7");
  EXPECT_EQ(added->attempts(), 0);
  EXPECT_EQ(added->last_error(), "");
  EXPECT_EQ(at(added->next_attempt_at()), rig.clock.now());
  EXPECT_EQ(at(added->created_at()), rig.clock.now());
  EXPECT_FALSE(added->has_delivered_at());
  EXPECT_EQ(added->secret(), kSecret);
  EXPECT_EQ(added->body(), d.body());

  ASSERT_EQ(tx.mutations.size(), 1U);
  const auto* put = std::get_if<storage::PutRecord>(&tx.mutations[0]);
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->record.kind, kWebhookDeliveryKind);
  EXPECT_EQ(put->record.id, "in-7");
  EXPECT_TRUE(put->must_not_exist);
  EXPECT_EQ(put->record.updated_at_ms, kStartMs);

  // Nothing is durable (nor started) before the caller commits.
  EXPECT_FALSE(rig.stored("in-7").has_value());
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  ASSERT_TRUE(rig.commit_and_wait(std::move(tx)).has_value());
  std::optional<v1::WebhookDelivery> stored = rig.stored("in-7");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->SerializeAsString(), added->SerializeAsString());

  // The same id again fails the transaction it is in.
  storage::Transaction again;
  ASSERT_TRUE(rig.outbox->add(again, d).has_value());
  Result<storage::CommitResult> clash = rig.commit_and_wait(std::move(again));
  ASSERT_FALSE(clash.has_value());
  EXPECT_EQ(clash.error(), make_error_code(Errc::already_exists));
}

TEST(WebhookOutbox, AddRejectsInvalidDeliveries) {
  Rig rig;
  WebhookOutboxOptions o = fast_options();
  o.max_body = 100;
  rig.make_outbox(o);
  const v1::WebhookDelivery good = rig.delivery("wh-1", "http://127.0.0.1:9/hook");
  std::vector<v1::WebhookDelivery> bad;
  bad.push_back(good);
  bad.back().clear_id();
  bad.back().clear_inbox_item_id();
  bad.push_back(good);
  bad.back().set_id("wh\r\nX-Evil: 1");
  bad.push_back(good);
  bad.back().set_url("ftp://127.0.0.1/hook");
  bad.push_back(good);
  bad.back().set_url("");
  bad.push_back(good);
  bad.back().clear_secret();
  bad.push_back(good);
  bad.back().set_body(std::string(101, 'x'));
  bad.push_back(good);
  bad.back().set_event_type("visitSummary\r\nX-Evil: 1");
  bad.push_back(good);
  bad.back().set_content_type("application/json\n");
  for (const v1::WebhookDelivery& d : bad) {
    storage::Transaction tx;
    Result<v1::WebhookDelivery> r = rig.outbox->add(tx, d);
    ASSERT_FALSE(r.has_value()) << d.ShortDebugString();
    EXPECT_EQ(r.error(), make_error_code(Errc::invalid_argument));
    EXPECT_TRUE(tx.mutations.empty());
  }
  storage::Transaction tx;
  EXPECT_TRUE(rig.outbox->add(tx, good).has_value());
  EXPECT_EQ(rig.outbox->start("missing").error(), make_error_code(Errc::not_found));
}

TEST(WebhookOutbox, RetriesUntilTheReceiverAnswers2xx) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t index, const ReceivedRequest&) {
                          if (index == 0) {
                            return Reply{500};
                          }
                          if (index == 1) {
                            return Reply{503};
                          }
                          return Reply{204};
                        });
  receiver.listen();
  // Each failure moves the clock on by a second, so every attempt carries its own timestamp.
  rig.make_outbox(fast_options(), [&rig](const WebhookAttemptReport&) { rig.clock.advance(1s); });
  rig.add_and_start({rig.delivery("wh-1", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-1"));

  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 3U);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ReceivedRequest& r = requests[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hooks/oshin?token=q1");
    EXPECT_EQ(r.host, "127.0.0.1:" + std::to_string(receiver.port()));
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_EQ(r.user_agent, "oshin-test/1");
    EXPECT_EQ(r.delivery_id, "wh-1");
    EXPECT_EQ(r.event, "visitSummary");
    EXPECT_EQ(r.body, body_for("wh-1"));
    EXPECT_TRUE(r.signature_valid) << r.signature;
    EXPECT_EQ(stamp_of(r.signature), kStartMs / 1000 + static_cast<std::int64_t>(i));
  }

  const std::vector<Retry> retries = rig.events.retries();
  ASSERT_EQ(retries.size(), 2U);
  const std::vector<std::pair<int, milliseconds>> expected = {{500, 20ms}, {503, 40ms}};
  for (std::size_t i = 0; i < retries.size(); ++i) {
    const Retry& r = retries[i];
    EXPECT_EQ(r.report.id, "wh-1");
    EXPECT_EQ(r.report.attempts, static_cast<std::int32_t>(i + 1));
    EXPECT_EQ(r.report.last_status, expected[i].first);
    EXPECT_EQ(r.report.last_error, "HTTP " + std::to_string(expected[i].first));
    EXPECT_EQ(r.report.next_attempt_at - r.now, expected[i].second);
    EXPECT_EQ(r.scheduled, r.report.next_attempt_at);
    // The attempt was durable before the retry was armed.
    ASSERT_TRUE(r.stored.has_value());
    EXPECT_EQ(r.stored->attempts(), r.report.attempts);
    EXPECT_EQ(r.stored->last_error(), r.report.last_error);
    EXPECT_EQ(r.stored->last_status(), r.report.last_status);
    EXPECT_EQ(at(r.stored->next_attempt_at()), r.report.next_attempt_at);
    EXPECT_FALSE(r.stored->has_delivered_at());
  }

  std::optional<v1::WebhookDelivery> stored = rig.stored("wh-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->attempts(), 3);
  EXPECT_TRUE(stored->has_delivered_at());
  EXPECT_EQ(stored->last_status(), 204);
  EXPECT_EQ(stored->last_error(), "");
  EXPECT_EQ(stored->secret(), "");  // not kept once delivered
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  EXPECT_FALSE(rig.outbox->next_attempt_at("wh-1").has_value());
}

TEST(WebhookOutbox, PrivateAddressesAreNeverContactedUnlessAllowed) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) { return Reply{204}; });
  receiver.listen();
  WebhookOutboxOptions guarded = fast_options();
  guarded.allow_private_addresses = false;
  rig.make_outbox(guarded);
  rig.add_and_start({rig.delivery("wh-ssrf", receiver.url())});
  // Each attempt is refused before connecting and retried; the receiver never sees a request.
  ASSERT_TRUE(rig.events.wait_retries(2));
  EXPECT_TRUE(receiver.requests().empty());
  const std::vector<Retry> retries = rig.events.retries();
  EXPECT_EQ(retries[0].report.last_status, 0);
  EXPECT_NE(retries[0].report.last_error.find("private"), std::string::npos)
      << retries[0].report.last_error;
  std::optional<v1::WebhookDelivery> stored = rig.stored("wh-ssrf");
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->has_delivered_at());
}

TEST(WebhookOutbox, RetriesWhileTheReceiverIsDownThenDelivers) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) { return Reply{200}; });
  // Bound but not listening: connections are refused until the second failure is recorded.
  rig.make_outbox(fast_options(), [&receiver](const WebhookAttemptReport& report) {
    if (report.attempts == 2) {
      receiver.listen();
    }
  });
  rig.add_and_start({rig.delivery("wh-down", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-down"));

  const std::vector<Retry> retries = rig.events.retries();
  ASSERT_EQ(retries.size(), 2U);
  for (const Retry& r : retries) {
    EXPECT_EQ(r.report.last_status, 0);
    EXPECT_EQ(r.report.last_error.rfind("connect: ", 0), 0U) << r.report.last_error;
    // Never the URL (with its query token), the secret or the body.
    EXPECT_EQ(r.report.last_error.find("token"), std::string::npos);
    EXPECT_EQ(r.report.last_error.find(kSecret), std::string::npos);
  }
  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 1U);
  EXPECT_TRUE(requests[0].signature_valid);
  std::optional<v1::WebhookDelivery> stored = rig.stored("wh-down");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->attempts(), 3);
  EXPECT_TRUE(stored->has_delivered_at());
}

TEST(WebhookOutbox, BackoffGrowsAndCaps) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) { return Reply{500}; });
  receiver.listen();
  WebhookOutboxOptions o = fast_options();
  o.initial_backoff = 10ms;
  o.max_backoff = 40ms;
  rig.make_outbox(o);
  rig.add_and_start({rig.delivery("wh-cap", receiver.url())});
  ASSERT_TRUE(rig.events.wait_retries(5));
  rig.outbox->stop();

  const std::vector<Retry> retries = rig.events.retries();
  const std::vector<milliseconds> expected = {10ms, 20ms, 40ms, 40ms, 40ms};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(retries[i].report.attempts, static_cast<std::int32_t>(i + 1));
    EXPECT_EQ(retries[i].report.next_attempt_at - retries[i].now, expected[i]) << i;
    EXPECT_EQ(webhook_backoff(o, "wh-cap", retries[i].report.attempts), expected[i]);
  }
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  EXPECT_FALSE(rig.outbox->next_attempt_at("wh-cap").has_value());
}

TEST(WebhookOutbox, SlowReceiverTimesOutAndIsRetried) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t index, const ReceivedRequest&) {
                          return index == 0 ? Reply{0, true} : Reply{202};
                        });
  receiver.listen();
  WebhookOutboxOptions o = fast_options();
  o.request_timeout = 1s;
  rig.make_outbox(o);
  rig.add_and_start({rig.delivery("wh-slow", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-slow"));
  // The outbox gave up on the hung request and closed its connection.
  EXPECT_TRUE(receiver.wait_for_hangups(1));

  const std::vector<Retry> retries = rig.events.retries();
  ASSERT_EQ(retries.size(), 1U);
  EXPECT_EQ(retries[0].report.last_error, "timeout after 1000 ms");
  EXPECT_EQ(retries[0].report.last_status, 0);
  EXPECT_EQ(receiver.requests().size(), 2U);
  std::optional<v1::WebhookDelivery> stored = rig.stored("wh-slow");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->attempts(), 2);
  EXPECT_EQ(stored->last_status(), 202);
}

TEST(WebhookOutbox, ResumesUndeliveredDeliveriesAfterRestart) {
  Rig rig;
  std::atomic<bool> accepting{false};
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [&accepting](std::size_t, const ReceivedRequest&) {
                          return accepting.load() ? Reply{204} : Reply{503};
                        });
  receiver.listen();
  WebhookOutboxOptions slow = fast_options();
  slow.initial_backoff = 1h;
  slow.max_backoff = 2h;

  // Run 1: two deliveries fail once each; a third is committed but never started (as if the
  // process died between the commit and start()).
  rig.make_outbox(slow);
  rig.add_and_start({rig.delivery("wh-a", receiver.url()), rig.delivery("wh-b", receiver.url())});
  rig.add_and_commit({rig.delivery("wh-c", receiver.url())});
  ASSERT_TRUE(rig.events.wait_retries(2));
  EXPECT_EQ(receiver.requests().size(), 2U);
  rig.close();

  // Run 2, same instant: the stored schedule (one hour ahead) is honoured, and wh-c, due since
  // its commit, is attempted at once (and fails).
  rig.open_store();
  rig.make_outbox(slow);
  ASSERT_TRUE(rig.outbox->resume().has_value());
  ASSERT_TRUE(rig.events.wait_retries(3));
  EXPECT_EQ(rig.events.retries()[2].report.id, "wh-c");
  EXPECT_EQ(rig.outbox->next_attempt_at("wh-a"), from_unix_ms(kStartMs) + 1h);
  EXPECT_EQ(rig.outbox->next_attempt_at("wh-b"), from_unix_ms(kStartMs) + 1h);
  EXPECT_EQ(rig.outbox->pending_count(), 3U);
  EXPECT_EQ(receiver.requests().size(), 3U);
  EXPECT_TRUE(rig.events.delivered().empty());
  rig.close();

  // Run 3, two hours later, receiver accepting: everything is delivered, exactly once each.
  accepting = true;
  rig.clock.advance(2h);
  rig.open_store();
  rig.make_outbox(fast_options());
  ASSERT_TRUE(rig.outbox->resume().has_value());
  for (const std::string id : {"wh-a", "wh-b", "wh-c"}) {
    ASSERT_TRUE(rig.events.wait_delivered(id)) << id;
  }
  const std::vector<ReceivedRequest> requests = receiver.requests();
  EXPECT_EQ(requests.size(), 6U);
  for (const std::string id : {"wh-a", "wh-b", "wh-c"}) {
    EXPECT_EQ(count_for(requests, id), 2U) << id;
    EXPECT_EQ(count_for(requests, id, true), 1U) << id;
    std::optional<v1::WebhookDelivery> stored = rig.stored(id);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(stored->attempts(), 2) << id;
    EXPECT_EQ(at(stored->delivered_at()), from_unix_ms(kStartMs) + 2h);
  }
  for (const ReceivedRequest& r : requests) {
    EXPECT_TRUE(r.signature_valid);
  }
}

TEST(WebhookOutbox, ADeliveredRecordIsNotResentAfterRestart) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) { return Reply{200}; });
  receiver.listen();
  rig.make_outbox(fast_options());
  rig.add_and_start({rig.delivery("wh-1", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-1"));
  rig.close();

  rig.open_store();
  rig.make_outbox(fast_options());
  ASSERT_TRUE(rig.outbox->resume().has_value());
  ASSERT_TRUE(rig.outbox->start("wh-1").has_value());  // delivered: nothing to do
  // A later delivery goes through the same strand after the resumed work: once it is
  // delivered, anything resumed would be pending or received by now.
  rig.add_and_start({rig.delivery("wh-2", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-2"));
  const std::vector<ReceivedRequest> requests = receiver.requests();
  ASSERT_EQ(requests.size(), 2U);
  EXPECT_EQ(requests[0].delivery_id, "wh-1");
  EXPECT_EQ(requests[1].delivery_id, "wh-2");
  EXPECT_FALSE(rig.outbox->next_attempt_at("wh-1").has_value());
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  EXPECT_EQ(rig.stored("wh-1")->attempts(), 1);
}

TEST(WebhookOutbox, StartingAPendingDeliveryAgainDoesNothing) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t index, const ReceivedRequest&) {
                          return index == 0 ? Reply{500} : Reply{204};
                        });
  receiver.listen();
  WebhookOutboxOptions o = fast_options();
  o.initial_backoff = 1h;
  o.max_backoff = 1h;
  rig.make_outbox(o);
  const std::vector<v1::WebhookDelivery> added =
      rig.add_and_commit({rig.delivery("wh-1", receiver.url())});
  ASSERT_EQ(added.size(), 1U);
  rig.outbox->start(added[0]);
  ASSERT_TRUE(rig.events.wait_retries(1));
  rig.outbox->start(added[0]);
  ASSERT_TRUE(rig.outbox->start("wh-1").has_value());
  ASSERT_TRUE(rig.outbox->resume().has_value());
  rig.add_and_start({rig.delivery("wh-2", receiver.url())});
  ASSERT_TRUE(rig.events.wait_delivered("wh-2"));
  EXPECT_EQ(receiver.requests().size(), 2U);
  EXPECT_EQ(rig.outbox->next_attempt_at("wh-1"), from_unix_ms(kStartMs) + 1h);
  EXPECT_EQ(rig.outbox->pending_count(), 1U);
}

TEST(WebhookOutbox, StopAbandonsInFlightRequestsAndKeepsRecords) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) {
                          return Reply{0, true};
                        });
  receiver.listen();
  WebhookOutboxOptions o = fast_options();
  o.request_timeout = 1h;
  rig.make_outbox(o);
  rig.add_and_start({rig.delivery("wh-1", receiver.url())});
  ASSERT_TRUE(receiver.wait_for_requests(1));
  rig.outbox->stop();
  // The connection is closed now, not when the hour-long timeout would have fired.
  EXPECT_TRUE(receiver.wait_for_hangups(1));
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  rig.outbox->start(rig.delivery("wh-1", receiver.url()));
  EXPECT_EQ(rig.outbox->pending_count(), 0U);
  std::optional<v1::WebhookDelivery> stored = rig.stored("wh-1");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->attempts(), 0);
  EXPECT_FALSE(stored->has_delivered_at());
}

TEST(WebhookOutbox, HttpsToAPlainHttpPeerFailsTheHandshakeAndRetries) {
  Rig rig;
  TestReceiver receiver(std::string(kSecret), rig.now_unix(),
                        [](std::size_t, const ReceivedRequest&) { return Reply{204}; });
  receiver.listen();
  WebhookOutboxOptions o = fast_options();
  o.initial_backoff = 1h;
  rig.make_outbox(o);
  const std::string port = std::to_string(receiver.port());
  rig.add_and_start({rig.delivery("wh-ip", "https://127.0.0.1:" + port + "/hook"),
                     rig.delivery("wh-name", "https://localhost:" + port + "/hook")});
  ASSERT_TRUE(rig.events.wait_retries(2));
  for (const Retry& r : rig.events.retries()) {
    EXPECT_EQ(r.report.last_status, 0);
    EXPECT_TRUE(r.report.last_error.rfind("tls handshake: ", 0) == 0 ||
                r.report.last_error.rfind("connect: ", 0) == 0)
        << r.report.last_error;
  }
  EXPECT_TRUE(receiver.requests().empty());
}

}  // namespace
}  // namespace oshin::delivery
