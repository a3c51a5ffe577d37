// The writer's VFS (server/storage/src/wal_write_batching.hpp): a commit's WAL frames reach the
// file as one write, and what is committed through it reads back everywhere, byte for byte.

#include "wal_write_batching.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "store_test_support.hpp"

namespace oshin::storage::testing {
namespace {

using detail::wal_batching_counts;
using detail::wal_write_batching_vfs;

// An open connection, closed at the end of the scope.
struct Db {
  Db(const std::string& path, const char* vfs) {
    rc = sqlite3_open_v2(path.c_str(), &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(handle); }
  int exec(const std::string& sql) const {
    return sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr);
  }
  std::string text(const std::string& sql) const {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(stmt, 0);
      out = t != nullptr ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(stmt);
    return out;
  }
  sqlite3* handle = nullptr;
  int rc = SQLITE_ERROR;
};

// 200 rows of 500 bytes each, their text derived from `round` so that every round differs.
std::string insert_round(int round) {
  return "INSERT INTO t (k, v) WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 "
         "FROM s WHERE value < 200) SELECT " +
         std::to_string(round) + " * 1000 + value, printf('%0500d', value * " +
         std::to_string(round + 7) + ") FROM s";
}

// A writer set up as the store's (through the VFS, WAL, synchronous=FULL) with a table `t`.
class WalWriteBatchingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(vfs_, nullptr);
    writer_ = std::make_unique<Db>(path_, vfs_);
    ASSERT_EQ(writer_->rc, SQLITE_OK);
    ASSERT_EQ(writer_->text("PRAGMA journal_mode=WAL"), "wal");
    ASSERT_EQ(writer_->exec("PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0;"
                            "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"),
              SQLITE_OK);
  }

  /// A connection through the default VFS: it reads what reached the file.
  std::unique_ptr<Db> open_reader() const { return std::make_unique<Db>(path_, nullptr); }

  const char* vfs_ = wal_write_batching_vfs();
  TempDir dir_;
  const std::string path_ = dir_.file("batched.db");
  std::unique_ptr<Db> writer_;
};

TEST_F(WalWriteBatchingTest, ACommitIsOneWriteAndAnotherConnectionReadsIt) {
  EXPECT_EQ(wal_write_batching_vfs(), vfs_) << "registered once";
  Db& writer = *writer_;
  const auto reader = open_reader();
  ASSERT_EQ(reader->rc, SQLITE_OK);

  for (int round = 0; round < 5; ++round) {
    const auto before = wal_batching_counts();
    ASSERT_EQ(writer.exec("BEGIN; " + insert_round(round) + "; COMMIT"), SQLITE_OK)
        << sqlite3_errmsg(writer.handle);
    const auto after = wal_batching_counts();
    // ~100 KB of rows: 25+ pages, each two writes (frame header, page) on the way in; out,
    // one write per 124 KiB (the first round also writes the WAL's header and the table).
    const auto received = after.writes_received - before.writes_received;
    EXPECT_GE(received, 50);
    EXPECT_LE(after.writes_issued - before.writes_issued, 2) << "of " << received;

    EXPECT_EQ(reader->text("SELECT count(*) FROM t"), std::to_string((round + 1) * 200));
    EXPECT_EQ(reader->text("SELECT v FROM t WHERE k = " + std::to_string(round * 1000 + 200)),
              writer.text("SELECT printf('%0500d', 200 * " + std::to_string(round + 7) + ")"));
  }
  // A checkpoint through another connection copies the gathered frames intact.
  int log = -1;
  int copied = -1;
  ASSERT_EQ(
      sqlite3_wal_checkpoint_v2(reader->handle, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied),
      SQLITE_OK);
  EXPECT_EQ(reader->text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(reader->text("SELECT sum(length(v)) FROM t"), std::to_string(1000 * 500));
}

TEST_F(WalWriteBatchingTest, ALargeCommitGoesOutInPiecesTheFileBelowAccepts) {
  // SQLite's unix VFS cuts a write at 128 KiB and reports the rest as a full disk: a commit of
  // ~600 KB must go out in pieces, and whole.
  Db& writer = *writer_;
  const auto before = wal_batching_counts();
  std::string sql = "BEGIN;";
  for (int round = 0; round < 6; ++round) {
    sql += insert_round(round) + ";";
  }
  ASSERT_EQ(writer.exec(sql + "COMMIT"), SQLITE_OK) << sqlite3_errmsg(writer.handle);
  const auto after = wal_batching_counts();
  EXPECT_GE(after.writes_issued - before.writes_issued, 5);
  EXPECT_LT(after.writes_issued - before.writes_issued,
            (after.writes_received - before.writes_received) / 10);

  const auto reader = open_reader();
  ASSERT_EQ(reader->rc, SQLITE_OK);
  EXPECT_EQ(reader->text("SELECT count(*) FROM t"), "1200");
  EXPECT_EQ(reader->text("SELECT sum(length(v)) FROM t"), std::to_string(1200 * 500));
  EXPECT_EQ(reader->text("PRAGMA integrity_check"), "ok");
}

TEST_F(WalWriteBatchingTest, WritesBeforeARollbackNeverReachReaders) {
  Db& writer = *writer_;
  // A tiny page cache makes the big transaction spill pages into the WAL before it rolls back.
  ASSERT_EQ(writer.exec("PRAGMA cache_size=10"), SQLITE_OK);
  ASSERT_EQ(writer.exec("BEGIN; " + insert_round(1) + "; COMMIT"), SQLITE_OK);
  const auto before = wal_batching_counts();
  ASSERT_EQ(writer.exec("BEGIN; " + insert_round(2) + "; " + insert_round(3)), SQLITE_OK);
  ASSERT_EQ(writer.exec("ROLLBACK"), SQLITE_OK);
  EXPECT_GT(wal_batching_counts().writes_received, before.writes_received)
      << "the rolled-back transaction spilled no frames: the test tests nothing";
  ASSERT_EQ(writer.exec("BEGIN; " + insert_round(4) + "; COMMIT"), SQLITE_OK);

  const auto reader = open_reader();
  ASSERT_EQ(reader->rc, SQLITE_OK);
  EXPECT_EQ(reader->text("SELECT count(*) FROM t"), "400");
  EXPECT_EQ(reader->text("SELECT count(*) FROM t WHERE k / 1000 IN (2, 3)"), "0");
  EXPECT_EQ(reader->text("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace oshin::storage::testing
