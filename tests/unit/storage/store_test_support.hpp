#pragma once

// Helpers shared by the Store tests: temp dirs, waiting for handlers with deadlines, raw SQLite
// access for tampering, and builders for mutations.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "oshin/storage/store.hpp"

namespace oshin::storage::testing {

using namespace std::chrono_literals;

/// How long any test waits for a handler before failing.
inline constexpr auto kDeadline = 30s;

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "oshin-storage-test-XXXXXX").string();
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
  std::string file(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

/// Options for a store in `dir` with the default file name.
inline SqliteOptions options_in(const TempDir& dir) {
  SqliteOptions options;
  options.data_dir = dir.path();
  return options;
}

/// Opens a store or fails the test.
inline std::unique_ptr<Store> open_or_fail(const SqliteOptions& options) {
  Result<std::unique_ptr<Store>> store = open_sqlite_store(options);
  EXPECT_TRUE(store.has_value()) << (store ? "" : store.error().message());
  return store ? std::move(*store) : nullptr;
}

/// Commits and waits (with a deadline) for the handler. A missed deadline is reported as
/// Errc::request_timeout and fails the test.
inline Result<CommitResult> commit_and_wait(Store& store, Transaction tx) {
  auto promise = std::make_shared<std::promise<Result<CommitResult>>>();
  std::future<Result<CommitResult>> future = promise->get_future();
  store.commit(std::move(tx),
               [promise](Result<CommitResult> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    ADD_FAILURE() << "commit handler not called before the deadline";
    return Errc::request_timeout;
  }
  return future.get();
}

/// Counts down from n; wait() returns false when the deadline passes first.
class Latch {
 public:
  explicit Latch(std::int64_t count) : count_(count) {}
  void count_down() {
    std::lock_guard lock(mutex_);
    if (--count_ <= 0) {
      cv_.notify_all();
    }
  }
  bool wait(std::chrono::milliseconds deadline = kDeadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [this] { return count_ <= 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::int64_t count_;
};

inline Mutation put(std::string kind, std::string id, std::string body,
                    std::optional<std::string> unique_key = std::nullopt,
                    bool must_not_exist = false, std::int64_t updated_at_ms = 1000) {
  PutRecord p;
  p.record.kind = std::move(kind);
  p.record.id = std::move(id);
  p.record.body = std::move(body);
  p.record.updated_at_ms = updated_at_ms;
  p.unique_key = std::move(unique_key);
  p.must_not_exist = must_not_exist;
  return p;
}

inline Mutation erase(std::string kind, std::string id) {
  return EraseRecord{std::move(kind), std::move(id)};
}

inline Mutation event(std::string type, std::string stream_key, std::string payload,
                      std::int64_t at_ms = 1000) {
  return AppendEvent{std::move(type), std::move(stream_key), std::move(payload), at_ms};
}

inline Mutation audit(std::string action, std::int64_t at_ms, std::string detail = "d",
                      std::string patient_id = "") {
  AuditEntry entry;
  entry.at_ms = at_ms;
  entry.actor_id = "u-admin";
  entry.actor_role = "ADMIN";
  entry.action = std::move(action);
  entry.patient_id = std::move(patient_id);
  entry.visit_id = "";
  entry.outcome = "ok";
  entry.request_id = "req-" + std::to_string(at_ms);
  entry.detail = std::move(detail);
  return AppendAudit{std::move(entry)};
}

inline Transaction tx(std::initializer_list<Mutation> mutations) {
  Transaction t;
  t.mutations.assign(mutations.begin(), mutations.end());
  return t;
}

/// A raw SQLite connection to the store's file, as an attacker with the sqlite3 CLI would have.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
    }
    sqlite3_busy_timeout(db_, 5000);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  ~RawDb() { sqlite3_close_v2(db_); }

  /// Runs SQL; returns the primary result code.
  int exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) & 0xff;
  }
  /// The first column of the first row as int64, or nullopt.
  std::optional<std::int64_t> scalar(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::optional<std::int64_t> value;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return value;
  }
  /// The first column of the first row as text, or nullopt.
  std::optional<std::string> text(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::optional<std::string> value;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(stmt, 0);
      value = t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
    }
    sqlite3_finalize(stmt);
    return value;
  }

  /// EXPLAIN QUERY PLAN of `sql`: each step's detail, one per line.
  std::string plan(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        const unsigned char* t = sqlite3_column_text(stmt, 3);
        out += t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t));
        out += "\n";
      }
    }
    sqlite3_finalize(stmt);
    return out;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace oshin::storage::testing
