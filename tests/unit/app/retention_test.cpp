// Retention: which records are past their time (pure), and the sweeper against a real store
// (erasures durable and audited, in batches; the periodic sweep on a thread pool).

#include "oshin/app/retention.hpp"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "oshin/app/account_service.hpp"
#include "oshin/app/idempotency.hpp"
#include "oshin/delivery/webhook_outbox.hpp"
#include "oshin/v1/internal.pb.h"
#include "store_test_support.hpp"

namespace oshin::app {
namespace {

using namespace std::chrono_literals;
using google::protobuf::util::TimeUtil;
using storage::testing::commit_and_wait;
using storage::testing::open_or_fail;
using storage::testing::options_in;
using storage::testing::TempDir;

const SystemTime kT0 = from_unix_ms(1'795'000'000'000);  // 2026-11-18T09:46:40Z

storage::Record idempotency_record(const std::string& id, SystemTime stored) {
  v1::IdempotencyRecord rec;
  rec.set_key("key-" + id);
  rec.set_status(201);
  return storage::Record{std::string(kIdempotencyKind), id, rec.SerializeAsString(),
                         to_unix_ms(stored)};
}

storage::Record webhook_record(const std::string& id, SystemTime created,
                               std::optional<SystemTime> delivered) {
  v1::WebhookDelivery d;
  d.set_id(id);
  d.set_body("{\"summary\":\"...\"}");
  *d.mutable_created_at() = TimeUtil::MillisecondsToTimestamp(to_unix_ms(created));
  if (delivered) {
    *d.mutable_delivered_at() = TimeUtil::MillisecondsToTimestamp(to_unix_ms(*delivered));
  }
  return storage::Record{std::string(delivery::kWebhookDeliveryKind), id, d.SerializeAsString(),
                         to_unix_ms(delivered.value_or(created))};
}

storage::Record session_record(const std::string& id, SystemTime expires) {
  v1::StoredSession st;
  st.set_token_hash(id);
  st.set_user_id("usr_1");
  *st.mutable_expires_at() = TimeUtil::MillisecondsToTimestamp(to_unix_ms(expires));
  // Last used long ago: idle time alone never expires a record here.
  *st.mutable_last_used_at() = TimeUtil::MillisecondsToTimestamp(to_unix_ms(expires - 400h));
  return storage::Record{std::string(kSessionKind), id, st.SerializeAsString(),
                         to_unix_ms(expires - 400h)};
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(RetentionSelect, IdempotencyRecordsStoredBeforeTheCutoffExpire) {
  const std::vector<storage::Record> records = {
      idempotency_record("old", kT0 - 1ms),
      idempotency_record("at-cutoff", kT0),
      idempotency_record("new", kT0 + 1h),
  };
  EXPECT_EQ(expired_idempotency_ids(records, kT0), std::vector<std::string>{"old"});
  EXPECT_TRUE(expired_idempotency_ids(records, kT0 - 1h).empty());
}

TEST(RetentionSelect, OnlyWebhooksDeliveredBeforeTheCutoffExpire) {
  storage::Record garbage{std::string(delivery::kWebhookDeliveryKind), "garbage", "\xff\xff", 0};
  const std::vector<storage::Record> records = {
      webhook_record("delivered-long-ago", kT0 - 40 * 24h, kT0 - 40 * 24h + 1s),
      webhook_record("delivered-recently", kT0 - 40 * 24h, kT0 - 1h),
      // Created long ago and still failing: kept until delivered, however old.
      webhook_record("undelivered", kT0 - 400 * 24h, std::nullopt),
      garbage,
  };
  EXPECT_EQ(expired_webhook_ids(records, kT0 - 24h),
            std::vector<std::string>{"delivered-long-ago"});
  EXPECT_EQ(sorted(expired_webhook_ids(records, kT0)),
            (std::vector<std::string>{"delivered-long-ago", "delivered-recently"}));
}

TEST(RetentionSelect, SessionsPastTheirAbsoluteExpiryExpire) {
  storage::Record garbage{std::string(kSessionKind), "garbage", "\xff\xff", 0};
  const std::vector<storage::Record> records = {
      session_record("expired", kT0 - 1ms),
      session_record("expires-now", kT0),
      session_record("live", kT0 + 1h),
      garbage,
  };
  EXPECT_EQ(expired_session_ids(records, kT0), std::vector<std::string>{"expired"});
}

class RetentionSweeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_or_fail(options_in(dir_));
    ASSERT_NE(store_, nullptr);
  }

  void put(const storage::Record& r) {
    storage::Transaction tx;
    tx.mutations.emplace_back(storage::PutRecord{r, {}, false});
    ASSERT_TRUE(commit_and_wait(*store_, std::move(tx)));
  }

  std::vector<std::string> ids(std::string_view kind) {
    auto records = store_->list(std::string(kind));
    std::vector<std::string> out;
    if (!records) {
      ADD_FAILURE() << records.error().message();
      return out;
    }
    for (const auto& r : *records) {
      out.push_back(r.id);
    }
    return sorted(out);
  }

  std::vector<std::string> retention_audit_details() {
    auto entries = store_->audit_range(0, to_unix_ms(kT0 + 1000 * 24h), 1000);
    std::vector<std::string> out;
    if (!entries) {
      ADD_FAILURE() << entries.error().message();
      return out;
    }
    for (const auto& e : *entries) {
      if (e.action == "retention.erase") {
        EXPECT_EQ(e.actor_id, "system");
        EXPECT_EQ(e.outcome, "ok");
        out.push_back(e.detail);
      }
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  ManualClock clock_{kT0};
  boost::asio::io_context ioc_;
  boost::asio::thread_pool work_{1};
};

TEST_F(RetentionSweeperTest, ASweepErasesWhatExpiredKeepsTheRestAndAuditsEachBatch) {
  put(idempotency_record("key-a", kT0));
  put(idempotency_record("key-b", kT0 + 1h));
  put(idempotency_record("key-c", kT0 + 40 * 24h - 47h));  // 47 h old at the sweep
  put(webhook_record("w-old", kT0, kT0 + 1min));
  put(webhook_record("w-recent", kT0, kT0 + 38 * 24h));
  put(webhook_record("w-failing", kT0, std::nullopt));
  put(session_record("s-expired", kT0 + 40 * 24h - 1min));
  put(session_record("s-live", kT0 + 40 * 24h + 1min));
  clock_.set(kT0 + 40 * 24h);

  RetentionOptions options;  // 48 h, 30 days
  options.batch = 1;
  RetentionSweeper sweeper(*store_, clock_, ioc_.get_executor(), work_.get_executor(), options);
  Result<RetentionSweep> swept = sweeper.sweep_once();
  ASSERT_TRUE(swept.has_value()) << swept.error().message();
  EXPECT_EQ(swept->idempotency, 2u);
  EXPECT_EQ(swept->webhook_deliveries, 1u);
  EXPECT_EQ(swept->sessions, 1u);

  EXPECT_EQ(ids(kIdempotencyKind), std::vector<std::string>{"key-c"});
  EXPECT_EQ(ids(kSessionKind), std::vector<std::string>{"s-live"});
  EXPECT_EQ(ids(delivery::kWebhookDeliveryKind),
            (std::vector<std::string>{"w-failing", "w-recent"}));
  // One entry per transaction (batch of 1), in the same chain as everything else.
  EXPECT_EQ(retention_audit_details(),
            (std::vector<std::string>{"idempotency 1", "idempotency 1", "webhook_delivery 1",
                                      "session 1"}));
  auto verified = store_->verify_audit();
  ASSERT_TRUE(verified.has_value());
  EXPECT_TRUE(verified->ok);

  // Nothing left to erase: a second sweep erases and audits nothing.
  swept = sweeper.sweep_once();
  ASSERT_TRUE(swept.has_value());
  EXPECT_EQ(swept->idempotency + swept->webhook_deliveries + swept->sessions, 0u);
  EXPECT_EQ(retention_audit_details().size(), 4u);
}

TEST_F(RetentionSweeperTest, ASweepOnAClosedStoreFailsInsteadOfErasing) {
  put(idempotency_record("key-a", kT0));
  clock_.set(kT0 + 100h);
  store_->close();
  RetentionSweeper sweeper(*store_, clock_, ioc_.get_executor(), work_.get_executor(), {});
  EXPECT_FALSE(sweeper.sweep_once().has_value());
}

TEST_F(RetentionSweeperTest, ThePeriodicSweepErasesWhatExpiresLaterAndStopsWhenAsked) {
  std::mutex m;
  std::condition_variable cv;
  std::size_t erased = 0;  // guarded by m
  RetentionOptions options;
  options.interval = 20ms;
  options.on_swept = [&](const RetentionSweep& s) {
    std::lock_guard lock(m);
    erased += s.idempotency;
    cv.notify_all();
  };
  RetentionSweeper sweeper(*store_, clock_, ioc_.get_executor(), work_.get_executor(), options);
  sweeper.start();
  std::promise<void> io_returned;
  std::thread io([&] {
    ioc_.run();  // no work guard: it returns once the sweeper's timer is disarmed
    io_returned.set_value();
  });

  // Stored after the sweeper started and expired by the clock afterwards: only a later,
  // periodic sweep can erase it.
  put(idempotency_record("key-a", kT0));
  put(idempotency_record("key-b", kT0 + 49h));
  clock_.set(kT0 + 49h);
  {
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, storage::testing::kDeadline, [&] { return erased >= 1; }));
  }
  EXPECT_EQ(ids(kIdempotencyKind), std::vector<std::string>{"key-b"});

  // stop() disarms the timer, a sweep under way re-arms nothing, and with nothing else pending
  // the timer's context runs out of work.
  sweeper.stop();
  EXPECT_EQ(io_returned.get_future().wait_for(storage::testing::kDeadline),
            std::future_status::ready);
  ioc_.stop();
  io.join();
  work_.join();
  std::lock_guard lock(m);
  EXPECT_EQ(erased, 1u);
}

}  // namespace
}  // namespace oshin::app
