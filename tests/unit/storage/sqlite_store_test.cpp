// Records, events, lifecycle, migrations and read-only mode of the SQLite store.

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "migrations.hpp"
#include "store_test_support.hpp"

namespace oshin::storage::testing {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    store_ = open_or_fail(options_in(dir_));
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (store_) {
      store_->close();
    }
  }
  std::string db_file() const { return dir_.file("oshin.db"); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, PutGetListErase) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u2", "two"), put("user", "u1", "one"),
                                           put("patient", "p1", "pat")})));
  auto got = store_->get("user", "u1");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got.value().has_value());
  EXPECT_EQ(got.value()->kind, "user");
  EXPECT_EQ(got.value()->id, "u1");
  EXPECT_EQ(got.value()->body, "one");
  EXPECT_EQ(got.value()->updated_at_ms, 1000);

  auto users = store_->list("user");
  ASSERT_TRUE(users);
  ASSERT_EQ(users.value().size(), 2U);
  EXPECT_EQ(users.value()[0].id, "u1");  // ordered by id
  EXPECT_EQ(users.value()[1].id, "u2");
  EXPECT_EQ(users.value()[1].body, "two");

  ASSERT_TRUE(commit_and_wait(*store_, tx({erase("user", "u1")})));
  got = store_->get("user", "u1");
  ASSERT_TRUE(got);
  EXPECT_FALSE(got.value().has_value());
  users = store_->list("user");
  ASSERT_TRUE(users);
  EXPECT_EQ(users.value().size(), 1U);
  auto patients = store_->list("patient");
  ASSERT_TRUE(patients);
  EXPECT_EQ(patients.value().size(), 1U);
  auto none = store_->list("nothing");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none.value().empty());
}

TEST_F(StoreTest, PutReplacesExistingRecord) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "v1", std::nullopt, false, 10)})));
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "v2", std::nullopt, false, 20)})));
  auto got = store_->get("user", "u1");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, "v2");
  EXPECT_EQ(got.value()->updated_at_ms, 20);
  auto all = store_->list("user");
  ASSERT_TRUE(all);
  EXPECT_EQ(all.value().size(), 1U);
}

TEST_F(StoreTest, BinaryAndEmptyBodiesRoundTrip) {
  const std::string binary("\0\x01\xff\x80 body\0", 10);
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("blob", "b", binary), put("blob", "e", "")})));
  auto got = store_->get("blob", "b");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, binary);
  got = store_->get("blob", "e");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, "");
}

TEST_F(StoreTest, EraseMissingRecordIsNotAnError) {
  EXPECT_TRUE(commit_and_wait(*store_, tx({erase("user", "ghost")})));
}

TEST_F(StoreTest, EmptyTransactionCommits) {
  auto result = commit_and_wait(*store_, Transaction{});
  ASSERT_TRUE(result);
  EXPECT_TRUE(result.value().event_seqs.empty());
  EXPECT_TRUE(result.value().audit_seqs.empty());
}

TEST_F(StoreTest, UniqueKeyClashFailsTheTransaction) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "alice", "alice")})));
  auto clash = commit_and_wait(*store_, tx({put("user", "u2", "other alice", "alice")}));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error(), make_error_code(Errc::already_exists));
  auto u2 = store_->get("user", "u2");
  ASSERT_TRUE(u2);
  EXPECT_FALSE(u2.value().has_value());
  auto u1 = store_->get("user", "u1");
  ASSERT_TRUE(u1 && u1.value().has_value());
  EXPECT_EQ(u1.value()->body, "alice");
}

TEST_F(StoreTest, UniqueKeyFollowsItsRecord) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "a", "alice")})));
  // The owner may keep its key on update.
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "b", "alice")})));
  // Another kind has its own key space.
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("org", "o1", "x", "alice")})));
  // Renaming frees the old key.
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "c", "alicia")})));
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u2", "d", "alice")})));
  // Erasing frees the key too.
  EXPECT_TRUE(commit_and_wait(*store_, tx({erase("user", "u1")})));
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u3", "e", "alicia")})));
  // Records without a key never clash on it.
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u4", "f"), put("user", "u5", "g")})));
}

TEST_F(StoreTest, MustNotExistRefusesAnExistingId) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("visit", "v1", "first", std::nullopt, true)})));
  auto again = commit_and_wait(*store_, tx({put("visit", "v1", "second", std::nullopt, true)}));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), make_error_code(Errc::already_exists));
  auto got = store_->get("visit", "v1");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, "first");
}

TEST_F(StoreTest, FailedTransactionLeavesNoTrace) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "a", "alice")})));
  auto failed =
      commit_and_wait(*store_, tx({put("user", "u9", "z"), event("user.created", "u9", "p"),
                                   audit("x", 5), put("user", "u2", "clash", "alice")}));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), make_error_code(Errc::already_exists));
  auto u9 = store_->get("user", "u9");
  ASSERT_TRUE(u9);
  EXPECT_FALSE(u9.value().has_value());

  // Neither log consumed a seq for the failed transaction.
  auto ok = commit_and_wait(*store_, tx({event("e", "", "p"), audit("y", 6)}));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok.value().event_seqs, std::vector<std::int64_t>{1});
  EXPECT_EQ(ok.value().audit_seqs, std::vector<std::int64_t>{1});
  auto verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
  EXPECT_EQ(verify.value().entries, 1);
}

TEST_F(StoreTest, EventSeqsRiseWithoutGaps) {
  std::vector<std::int64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    auto result = commit_and_wait(
        *store_, tx({event("a", "s1", "p" + std::to_string(i)), event("b", "s2", "q")}));
    ASSERT_TRUE(result);
    ASSERT_EQ(result.value().event_seqs.size(), 2U);
    seqs.insert(seqs.end(), result.value().event_seqs.begin(), result.value().event_seqs.end());
  }
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    EXPECT_EQ(seqs[i], static_cast<std::int64_t>(i) + 1);
  }
  auto read = store_->events_after(0, "", 100);
  ASSERT_TRUE(read);
  const std::vector<StoredEvent>& events = read.value();
  ASSERT_EQ(events.size(), 10U);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<std::int64_t>(i) + 1);
  }
  EXPECT_EQ(events[0].type, "a");
  EXPECT_EQ(events[0].stream_key, "s1");
  EXPECT_EQ(events[0].payload, "p0");
  EXPECT_EQ(events[0].at_ms, 1000);
}

TEST_F(StoreTest, EventsAfterFiltersByStreamAndLimits) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(commit_and_wait(*store_,
                                tx({event("t", i % 2 == 0 ? "alice" : "bob", std::to_string(i))})));
  }
  auto alice = store_->events_after(0, "alice", 100);
  ASSERT_TRUE(alice);
  ASSERT_EQ(alice.value().size(), 3U);
  EXPECT_EQ(alice.value()[0].seq, 1);
  EXPECT_EQ(alice.value()[1].seq, 3);
  EXPECT_EQ(alice.value()[2].seq, 5);

  auto bob_after_2 = store_->events_after(2, "bob", 100);
  ASSERT_TRUE(bob_after_2);
  ASSERT_EQ(bob_after_2.value().size(), 2U);
  EXPECT_EQ(bob_after_2.value()[0].seq, 4);

  auto limited = store_->events_after(1, "", 2);
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited.value().size(), 2U);
  EXPECT_EQ(limited.value()[0].seq, 2);
  EXPECT_EQ(limited.value()[1].seq, 3);

  auto none = store_->events_after(6, "", 100);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none.value().empty());
  auto nobody = store_->events_after(0, "carol", 100);
  ASSERT_TRUE(nobody);
  EXPECT_TRUE(nobody.value().empty());
}

// One visit update goes to the requester, STAFF and the team: one event appended to several
// streams in a row. Its payload is stored once; every stream reads it back whole.
TEST_F(StoreTest, TheSameEventToSeveralStreamsStoresItsPayloadOnce) {
  const std::string update(600, 'u');
  const std::string offer(300, 'o');
  auto result = commit_and_wait(
      *store_, tx({event("visitUpdated", "alice", update), event("visitUpdated", "bob", update),
                   event("visitUpdated", "carol", update), event("offer", "bob", offer),
                   event("offer", "dave", offer), event("visitUpdated", "erin", update),
                   event("visitUpdated", "erin", update), event("empty", "alice", ""),
                   event("empty", "bob", "")}));
  ASSERT_TRUE(result);
  ASSERT_EQ(result.value().event_seqs.size(), 9U);
  // The next transaction shares nothing with this one.
  ASSERT_TRUE(commit_and_wait(*store_, tx({event("visitUpdated", "frank", update)})));

  auto all = store_->events_after(0, "", 100);
  ASSERT_TRUE(all);
  ASSERT_EQ(all.value().size(), 10U);
  const std::vector<std::string> payloads = {update, update, update, offer, offer,
                                             update, update, "",     "",    update};
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    EXPECT_EQ(all.value()[i].payload, payloads[i]) << "seq " << all.value()[i].seq;
  }
  auto bob = store_->events_after(0, "bob", 100);
  ASSERT_TRUE(bob);
  ASSERT_EQ(bob.value().size(), 3U);
  EXPECT_EQ(bob.value()[0].payload, update);
  EXPECT_EQ(bob.value()[1].payload, offer);
  EXPECT_EQ(bob.value()[1].type, "offer");
  EXPECT_EQ(bob.value()[2].payload, "");

  // Stored: update at seq 1 (bob, carol point at it), offer at 4 (dave points at it), erin's
  // update again in full (the previous full payload was the offer), erin's second copy is the
  // same stream (kept whole), the empty payloads and the next transaction's copy whole.
  RawDb raw(db_file());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM events WHERE payload_seq IS NOT NULL"), 3);
  EXPECT_EQ(raw.text("SELECT group_concat(seq || '>' || payload_seq) FROM events "
                     "WHERE payload_seq IS NOT NULL ORDER BY seq"),
            std::optional<std::string>("2>1,3>1,5>4"));
  EXPECT_EQ(raw.scalar("SELECT sum(length(payload)) FROM events"), 600 + 300 + 600 + 600 + 600);
}

// An account's replay reads several streams (its own, its organization's, STAFF's) as one log.
TEST_F(StoreTest, EventsForMergesStreamsInSeqOrderWithContentSeqs) {
  const std::string update(200, 'u');
  // seq 1..3: one update to three streams; 4: an offer of its own; 5: another stream only;
  // then, in a second transaction, 6: the org again.
  ASSERT_TRUE(commit_and_wait(
      *store_,
      tx({event("visitUpdated", "org:a", update), event("visitUpdated", "role:STAFF", update),
          event("visitUpdated", "alice", update), event("offer", "alice", "o"),
          event("offer", "bob", "p")})));
  ASSERT_TRUE(commit_and_wait(*store_, tx({event("visitUpdated", "org:a", "v")})));

  auto seqs = [](const std::vector<StoredEvent>& events) {
    std::vector<std::int64_t> out;
    for (const auto& e : events) {
      out.push_back(e.seq);
    }
    return out;
  };
  using Seqs = std::vector<std::int64_t>;
  auto alice = store_->events_for(0, {"alice", "org:a"}, 100);
  ASSERT_TRUE(alice);
  EXPECT_EQ(seqs(alice.value()), (Seqs{1, 3, 4, 6}));
  // Every row carries its payload and says which row holds it.
  ASSERT_EQ(alice.value().size(), 4U);
  EXPECT_EQ(alice.value()[0].payload, update);
  EXPECT_EQ(alice.value()[1].payload, update);
  EXPECT_EQ(alice.value()[1].stream_key, "alice");
  EXPECT_EQ(alice.value()[0].content_seq, 1);
  EXPECT_EQ(alice.value()[1].content_seq, 1);
  EXPECT_EQ(alice.value()[2].content_seq, 4);
  EXPECT_EQ(alice.value()[3].content_seq, 6);
  auto staff = store_->events_for(0, {"carol", "org:c", "role:STAFF"}, 100);
  ASSERT_TRUE(staff);
  EXPECT_EQ(seqs(staff.value()), (Seqs{2}));
  EXPECT_EQ(staff.value()[0].content_seq, 1);

  // Pages: after a seq, at most `limit`, across the streams.
  auto page = store_->events_for(1, {"org:a", "alice", "bob"}, 2);
  ASSERT_TRUE(page);
  EXPECT_EQ(seqs(page.value()), (Seqs{3, 4}));
  page = store_->events_for(4, {"org:a", "alice", "bob"}, 2);
  ASSERT_TRUE(page);
  EXPECT_EQ(seqs(page.value()), (Seqs{5, 6}));
  // A key named twice reads once; an empty key reads nothing (not every stream); no keys, none.
  auto twice = store_->events_for(0, {"alice", "alice", ""}, 100);
  ASSERT_TRUE(twice);
  EXPECT_EQ(seqs(twice.value()), (Seqs{3, 4}));
  auto none = store_->events_for(0, {}, 100);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none.value().empty());
  auto zero = store_->events_for(0, {"alice"}, 0);
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero.value().empty());
}

// Turns a closed store's file back into schema version 3: a stream's events indexed by
// (stream_key, seq), as before the bucketed index.
void undo_bucketed_streams(RawDb& raw) {
  ASSERT_EQ(raw.exec("DROP INDEX events_stream_bucket"), SQLITE_OK);
  ASSERT_EQ(raw.exec("CREATE INDEX events_stream ON events (stream_key, seq)"), SQLITE_OK);
  ASSERT_EQ(raw.exec("DELETE FROM schema_migrations WHERE version = 4"), SQLITE_OK);
}

// A store written before payloads were shared (schema version 2) still reads read-only, and a
// writable open migrates it without touching its events.
TEST_F(StoreTest, AStoreFromBeforeSharedPayloadsReadsAndMigrates) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({event("t", "alice", "one"), event("t", "bob", "two")})));
  store_->close();
  store_.reset();
  {
    RawDb raw(db_file());
    undo_bucketed_streams(raw);
    ASSERT_EQ(raw.exec("ALTER TABLE events DROP COLUMN payload_seq"), SQLITE_OK);
    ASSERT_EQ(raw.exec("DELETE FROM schema_migrations WHERE version = 3"), SQLITE_OK);
  }
  SqliteOptions options = options_in(dir_);
  options.read_only = true;
  auto reader = open_or_fail(options);
  ASSERT_NE(reader, nullptr);
  auto old = reader->events_after(0, "bob", 10);
  ASSERT_TRUE(old);
  ASSERT_EQ(old.value().size(), 1U);
  EXPECT_EQ(old.value()[0].payload, "two");
  reader->close();

  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  ASSERT_TRUE(
      commit_and_wait(*store_, tx({event("t", "alice", "three"), event("t", "bob", "three")})));
  auto bob = store_->events_after(0, "bob", 10);
  ASSERT_TRUE(bob);
  ASSERT_EQ(bob.value().size(), 2U);
  EXPECT_EQ(bob.value()[0].payload, "two");
  EXPECT_EQ(bob.value()[1].payload, "three");
  RawDb raw(db_file());
  EXPECT_EQ(raw.scalar("SELECT max(version) FROM schema_migrations"), 4);
  EXPECT_EQ(raw.scalar("SELECT payload_seq FROM events WHERE seq = 4"), 3);
}

// A stream is read bucket by bucket (64 seqs each): every page comes out whole and in order
// wherever `after` and the limit fall, for a dense stream, a sparse one and one with nothing.
TEST_F(StoreTest, AStreamIsReadAcrossBucketsInSeqOrder) {
  std::map<std::string, std::vector<std::int64_t>> expected;
  std::int64_t seq = 0;
  for (int batch = 0; batch < 30; ++batch) {
    Transaction t;
    for (int i = 0; i < 10; ++i) {
      // "dense" on most seqs, "sparse" on every 37th, "org:x" on the rest.
      ++seq;
      const std::string key = seq % 37 == 0 ? "sparse" : (seq % 3 == 0 ? "org:x" : "dense");
      t.mutations.emplace_back(event("t", key, "p" + std::to_string(seq)));
      expected[key].push_back(seq);
    }
    ASSERT_TRUE(commit_and_wait(*store_, std::move(t)));
  }
  auto seqs_of = [&](const std::string& key, std::int64_t after, std::size_t limit) {
    auto got = store_->events_after(after, key, limit);
    EXPECT_TRUE(got);
    std::vector<std::int64_t> out;
    for (const auto& e : got.value()) {
      EXPECT_EQ(e.stream_key, key);
      EXPECT_EQ(e.payload, "p" + std::to_string(e.seq));
      out.push_back(e.seq);
    }
    return out;
  };
  auto want = [&](const std::string& key, std::int64_t after, std::size_t limit) {
    std::vector<std::int64_t> out;
    for (std::int64_t s : expected[key]) {
      if (s > after && out.size() < limit) {
        out.push_back(s);
      }
    }
    return out;
  };
  for (const std::string key : {"dense", "sparse", "org:x", "nobody"}) {
    for (std::int64_t after : {-5, 0, 1, 62, 63, 64, 65, 127, 128, 200, 299, 300, 1000}) {
      for (std::size_t limit : {1U, 2U, 40U, 64U, 65U, 1000U}) {
        EXPECT_EQ(seqs_of(key, after, limit), want(key, after, limit))
            << key << " after " << after << " limit " << limit;
      }
    }
  }
  // Paging through a stream with the last seq of each page gives every event once.
  std::vector<std::int64_t> paged;
  std::int64_t after = 0;
  for (;;) {
    auto page = seqs_of("dense", after, 7);
    if (page.empty()) {
      break;
    }
    paged.insert(paged.end(), page.begin(), page.end());
    after = page.back();
  }
  EXPECT_EQ(paged, expected["dense"]);
}

// The bucket read is an index search (bucket, stream, seq range) with no sort step: the query's
// `seq >> 6` matches the index expression.
TEST_F(StoreTest, AStreamBucketReadSearchesTheBucketIndex) {
  RawDb raw(db_file());
  const std::string plan = raw.plan(detail::kSelectStreamBucketEvents);
  EXPECT_NE(plan.find("USING INDEX events_stream_bucket (<expr>=? AND stream_key=? AND rowid>?)"),
            std::string::npos)
      << plan;
  EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'events_stream'"), 0);
}

// A store from before the bucketed index (schema version 3) reads read-only through its old
// index, and a writable open replaces the index without touching the events.
TEST_F(StoreTest, AStoreFromBeforeBucketedStreamsReadsAndMigrates) {
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(commit_and_wait(*store_, tx({event("t", i % 2 == 0 ? "alice" : "bob", "x")})));
  }
  store_->close();
  store_.reset();
  {
    RawDb raw(db_file());
    undo_bucketed_streams(raw);
  }
  auto bob_seqs = [](Store& store) {
    std::vector<std::int64_t> out;
    auto got = store.events_after(10, "bob", 1000);
    EXPECT_TRUE(got);
    for (const auto& e : got.value()) {
      out.push_back(e.seq);
    }
    return out;
  };
  std::vector<std::int64_t> want;
  for (std::int64_t s = 12; s <= 100; s += 2) {
    want.push_back(s);
  }
  SqliteOptions options = options_in(dir_);
  options.read_only = true;
  auto reader = open_or_fail(options);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(bob_seqs(*reader), want);
  reader->close();

  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(bob_seqs(*store_), want);
  RawDb raw(db_file());
  EXPECT_EQ(raw.scalar("SELECT max(version) FROM schema_migrations"), 4);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'events_stream'"), 0);
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'events_stream_bucket'"),
            1);
}

TEST_F(StoreTest, EventsAndAuditAreAppendOnly) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({event("t", "s", "p"), audit("login", 1)})));
  RawDb raw(db_file());
  EXPECT_EQ(raw.exec("UPDATE events SET payload = x'00' WHERE seq = 1"), SQLITE_CONSTRAINT);
  EXPECT_EQ(raw.exec("DELETE FROM events WHERE seq = 1"), SQLITE_CONSTRAINT);
  EXPECT_EQ(raw.exec("UPDATE audit SET detail = 'x' WHERE seq = 1"), SQLITE_CONSTRAINT);
  EXPECT_EQ(raw.exec("DELETE FROM audit WHERE seq = 1"), SQLITE_CONSTRAINT);
  EXPECT_EQ(raw.exec("DELETE FROM audit_head"), SQLITE_CONSTRAINT);
  auto events = store_->events_after(0, "", 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events.value().size(), 1U);
  EXPECT_EQ(events.value()[0].payload, "p");
  auto verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
}

TEST_F(StoreTest, AuditRangeIsHalfOpenOrderedAndLimited) {
  for (std::int64_t at : {100, 200, 150, 300, 250}) {
    ASSERT_TRUE(commit_and_wait(*store_, tx({audit("patient.read", at)})));
  }
  auto range = store_->audit_range(150, 300, 100);
  ASSERT_TRUE(range);
  ASSERT_EQ(range.value().size(), 3U);  // 200, 150, 250 in seq order; 300 excluded
  EXPECT_EQ(range.value()[0].seq, 2);
  EXPECT_EQ(range.value()[0].at_ms, 200);
  EXPECT_EQ(range.value()[1].seq, 3);
  EXPECT_EQ(range.value()[2].seq, 5);
  EXPECT_EQ(range.value()[0].action, "patient.read");
  EXPECT_EQ(range.value()[0].actor_id, "u-admin");
  EXPECT_EQ(range.value()[0].request_id, "req-200");

  auto limited = store_->audit_range(0, 1000, 2);
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited.value().size(), 2U);
  EXPECT_EQ(limited.value()[1].seq, 2);
}

TEST_F(StoreTest, DataAndLogsPersistAcrossReopen) {
  ASSERT_TRUE(commit_and_wait(
      *store_, tx({put("user", "u1", "one", "alice"), event("t", "s", "p"), audit("a", 1)})));
  store_->close();
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);

  auto got = store_->get("user", "u1");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, "one");
  // The unique key survived too.
  auto clash = commit_and_wait(*store_, tx({put("user", "u2", "two", "alice")}));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error(), make_error_code(Errc::already_exists));
  // Both logs continue where they stopped.
  auto next = commit_and_wait(*store_, tx({event("t", "s", "p2"), audit("b", 2)}));
  ASSERT_TRUE(next);
  EXPECT_EQ(next.value().event_seqs, std::vector<std::int64_t>{2});
  EXPECT_EQ(next.value().audit_seqs, std::vector<std::int64_t>{2});
  auto verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
  EXPECT_EQ(verify.value().entries, 2);
}

TEST_F(StoreTest, MigrationsAreRecordedAndAppliedOnce) {
  RawDb raw(db_file());
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM schema_migrations"), 4);
  EXPECT_EQ(raw.scalar("SELECT max(version) FROM schema_migrations"), 4);
  const auto applied_at = raw.scalar("SELECT sum(applied_at) FROM schema_migrations");
  ASSERT_TRUE(applied_at.has_value());
  EXPECT_GT(*applied_at, 0);
  EXPECT_EQ(raw.text("PRAGMA journal_mode"), "wal");

  for (int i = 0; i < 2; ++i) {
    store_->close();
    store_ = open_or_fail(options_in(dir_));
    ASSERT_NE(store_, nullptr);
  }
  // Nothing re-applied: same rows, same timestamps, and the schema still works.
  EXPECT_EQ(raw.scalar("SELECT count(*) FROM schema_migrations"), 4);
  EXPECT_EQ(raw.scalar("SELECT sum(applied_at) FROM schema_migrations"), applied_at);
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "x", "k")})));
}

TEST_F(StoreTest, RefusesADatabaseFromANewerBuild) {
  store_->close();
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)"),
              SQLITE_OK);
  }
  auto newer = open_sqlite_store(options_in(dir_));
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error(), make_error_code(Errc::unavailable));
}

TEST_F(StoreTest, CommitAfterCloseIsUnavailable) {
  EXPECT_TRUE(store_->writable());
  store_->close();
  store_->close();  // idempotent
  EXPECT_FALSE(store_->writable());
  std::atomic<int> calls{0};
  std::optional<Result<CommitResult>> seen;
  store_->commit(tx({put("user", "u1", "x")}), [&](Result<CommitResult> result) {
    ++calls;
    seen = std::move(result);
  });
  // After close there is no writer thread: the handler has already run, inline.
  EXPECT_EQ(calls.load(), 1);
  ASSERT_TRUE(seen.has_value());
  ASSERT_FALSE(*seen);
  EXPECT_EQ(seen->error(), make_error_code(Errc::unavailable));
  auto read = store_->get("user", "u1");
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error(), make_error_code(Errc::unavailable));
}

TEST_F(StoreTest, CloseCompletesEveryQueuedTransaction) {
  constexpr int kCount = 300;
  std::atomic<int> ok{0};
  std::atomic<int> calls{0};
  for (int i = 0; i < kCount; ++i) {
    store_->commit(tx({put("item", "i" + std::to_string(i), "x"), event("t", "", "p")}),
                   [&](Result<CommitResult> result) {
                     ++calls;
                     if (result) {
                       ++ok;
                     }
                   });
  }
  store_->close();  // returns only after every handler ran
  EXPECT_EQ(calls.load(), kCount);
  EXPECT_EQ(ok.load(), kCount);

  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  auto items = store_->list("item");
  ASSERT_TRUE(items);
  EXPECT_EQ(items.value().size(), static_cast<std::size_t>(kCount));
  auto events = store_->events_after(0, "", 1000);
  ASSERT_TRUE(events);
  ASSERT_EQ(events.value().size(), static_cast<std::size_t>(kCount));
  EXPECT_EQ(events.value().back().seq, kCount);
}

TEST_F(StoreTest, ReadOnlyStoreReadsButRefusesWrites) {
  ASSERT_TRUE(commit_and_wait(*store_,
                              tx({put("user", "u1", "one"), event("t", "s", "p"), audit("a", 1)})));
  store_->close();

  SqliteOptions options = options_in(dir_);
  options.read_only = true;
  auto reader = open_or_fail(options);
  ASSERT_NE(reader, nullptr);
  EXPECT_FALSE(reader->writable());
  auto got = reader->get("user", "u1");
  ASSERT_TRUE(got && got.value().has_value());
  EXPECT_EQ(got.value()->body, "one");
  auto events = reader->events_after(0, "", 10);
  ASSERT_TRUE(events);
  EXPECT_EQ(events.value().size(), 1U);
  auto verify = reader->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);

  auto refused = commit_and_wait(*reader, tx({put("user", "u2", "two")}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), make_error_code(Errc::unavailable));
  reader->close();

  // It wrote nothing: a writable store sees no u2.
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  auto u2 = store_->get("user", "u2");
  ASSERT_TRUE(u2);
  EXPECT_FALSE(u2.value().has_value());
}

TEST_F(StoreTest, ReadOnlyStoreSeesALiveWriter) {
  SqliteOptions options = options_in(dir_);
  options.read_only = true;
  auto reader = open_or_fail(options);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("user", "u1", "one")})));
  auto got = reader->get("user", "u1");
  ASSERT_TRUE(got && got.value().has_value());
  reader->close();
}

TEST(StoreOpenTest, ReadOnlyOnAMissingDatabaseIsNotFound) {
  TempDir dir;
  SqliteOptions options = options_in(dir);
  options.read_only = true;
  auto store = open_sqlite_store(options);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error(), make_error_code(Errc::not_found));
  EXPECT_FALSE(std::filesystem::exists(dir.file("oshin.db")));
}

TEST(StoreOpenTest, CreatesTheDataDirectory) {
  TempDir dir;
  SqliteOptions options;
  options.data_dir = dir.file("nested/data");
  auto store = open_or_fail(options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists(dir.file("nested/data/oshin.db")));
  // Patient data: neither the directory nor the database is readable by anyone else.
  using std::filesystem::perms;
  const perms others = perms::group_all | perms::others_all;
  EXPECT_EQ(std::filesystem::status(dir.file("nested/data")).permissions() & others, perms::none);
  EXPECT_EQ(std::filesystem::status(dir.file("nested/data/oshin.db")).permissions() & others,
            perms::none);
  store->close();
}

TEST(StoreOpenTest, OneWriterPerDataDirectory) {
  TempDir dir;
  auto first = open_or_fail(options_in(dir));
  ASSERT_NE(first, nullptr);
  auto second = open_sqlite_store(options_in(dir));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error(), make_error_code(Errc::unavailable));
  first->close();
  auto third = open_or_fail(options_in(dir));
  EXPECT_NE(third, nullptr);
}

TEST(StoreOpenTest, RejectsEmptyDataDir) {
  auto store = open_sqlite_store(SqliteOptions{});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error(), make_error_code(Errc::invalid_argument));
}

TEST_F(StoreTest, ConcurrentReadersDuringWrites) {
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        auto list = store_->list("item");
        auto events = store_->events_after(0, "", 50);
        if (!list || !events) {
          ++read_errors;
        }
      }
    });
  }
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(
        commit_and_wait(*store_, tx({put("item", std::to_string(i), "x"), event("t", "", "p")})));
  }
  stop.store(true);
  for (std::thread& t : readers) {
    t.join();
  }
  EXPECT_EQ(read_errors.load(), 0);
}

}  // namespace
}  // namespace oshin::storage::testing
