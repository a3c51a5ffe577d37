#pragma once

// Private to oshin_storage: a thin RAII layer over the SQLite C API. No exceptions, no logging.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "oshin/common/errc.hpp"

namespace oshin::storage::detail {

/// Milliseconds a connection waits for a lock held by another connection before SQLITE_BUSY.
inline constexpr int kBusyTimeoutMs = 5000;

/// Maps an SQLite result code (primary or extended) to the store's error vocabulary:
/// SQLITE_CONSTRAINT -> already_exists, SQLITE_FULL -> storage_full, SQLITE_TOOBIG/RANGE/
/// MISMATCH -> invalid_argument, anything else -> unavailable.
Errc map_sqlite_error(int rc) noexcept;

/// True for failures that make the database file itself suspect (I/O errors, corruption): after
/// one of these the writer stops writing.
bool is_fatal_io_error(int rc) noexcept;

/// A prepared statement borrowed from a Connection's cache. Resets the statement (releasing any
/// read snapshot it holds) and clears its bindings when it goes out of scope. Binders keep no
/// copy: bound strings must outlive the last step().
class Statement {
 public:
  Statement() = default;
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&& other) noexcept;
  ~Statement() { reset(); }

  /// Binds a 1-based parameter. Returns an SQLite result code.
  int bind_text(int index, std::string_view text) noexcept;
  int bind_blob(int index, std::string_view bytes) noexcept;
  int bind_int64(int index, std::int64_t value) noexcept;
  int bind_null(int index) noexcept;

  /// Steps once: SQLITE_ROW, SQLITE_DONE or an error code.
  int step() noexcept { return sqlite3_step(stmt_); }

  /// Column readers for the current row (0-based). Text and blobs are copied.
  std::int64_t column_int64(int index) const noexcept { return sqlite3_column_int64(stmt_, index); }
  std::string column_text(int index) const;
  std::string column_blob(int index) const;
  bool column_is_null(int index) const noexcept {
    return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
  }

 private:
  void reset() noexcept;

  sqlite3_stmt* stmt_ = nullptr;
};

/// One SQLite connection with a cache of prepared statements. Not thread-safe: one thread uses it
/// at a time (connections are opened with SQLITE_OPEN_NOMUTEX).
class Connection {
 public:
  /// Opens `path` with `flags` (SQLITE_OPEN_*; NOMUTEX is added) through the VFS named `vfs`
  /// (nullptr: SQLite's default) and sets the busy timeout. On failure returns the SQLite result
  /// code in `rc_out` and nullptr.
  static std::unique_ptr<Connection> open(const std::string& path, int flags, int& rc_out,
                                          const char* vfs = nullptr);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  /// Runs one or more SQL statements that return no rows of interest. Returns an SQLite code.
  int exec(const char* sql) noexcept;

  /// Prepares `sql` once per connection and hands out the cached statement. `rc_out` receives
  /// the prepare result; on failure the returned Statement is empty and must not be stepped.
  Statement prepare(const char* sql, int& rc_out);

  /// Convenience: prepare and step a statement that takes no parameters and returns no rows.
  int run(const char* sql);

  /// True when no transaction is open (SQLite's autocommit mode).
  bool autocommit() const noexcept { return sqlite3_get_autocommit(db_) != 0; }

  sqlite3* handle() const noexcept { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
  };

  sqlite3* db_ = nullptr;
  // Keyed by the SQL text's address: every caller passes a string literal.
  std::unordered_map<const char*, std::unique_ptr<sqlite3_stmt, Finalizer>> cache_;
};

/// Marks a value to bind as a BLOB rather than TEXT.
struct Blob {
  std::string_view bytes;
};

inline int bind_one(Statement& stmt, int index, std::string_view text) noexcept {
  return stmt.bind_text(index, text);
}
inline int bind_one(Statement& stmt, int index, const std::string& text) noexcept {
  return stmt.bind_text(index, text);
}
inline int bind_one(Statement& stmt, int index, Blob blob) noexcept {
  return stmt.bind_blob(index, blob.bytes);
}
inline int bind_one(Statement& stmt, int index, std::int64_t value) noexcept {
  return stmt.bind_int64(index, value);
}
inline int bind_one(Statement& stmt, int index, const std::optional<std::string>& text) noexcept {
  return text ? stmt.bind_text(index, *text) : stmt.bind_null(index);
}
inline int bind_one(Statement& stmt, int index, std::optional<std::int64_t> value) noexcept {
  return value ? stmt.bind_int64(index, *value) : stmt.bind_null(index);
}

/// Binds `args` to parameters 1..N in order; stops at and returns the first failure.
template <class... Args>
int bind_all(Statement& stmt, const Args&... args) noexcept {
  int index = 0;
  int rc = SQLITE_OK;
  ((rc = rc == SQLITE_OK ? bind_one(stmt, ++index, args) : rc), ...);
  return rc;
}

}  // namespace oshin::storage::detail
