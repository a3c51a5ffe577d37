#include "sqlite_connection.hpp"

#include <utility>

namespace oshin::storage::detail {

Errc map_sqlite_error(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return Errc::already_exists;
    case SQLITE_FULL:
      return Errc::storage_full;
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
      return Errc::invalid_argument;
    default:
      return Errc::unavailable;
  }
}

bool is_fatal_io_error(int rc) noexcept {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return true;
    default:
      return false;
  }
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    reset();
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

void Statement::reset() noexcept {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    stmt_ = nullptr;
  }
}

int Statement::bind_text(int index, std::string_view text) noexcept {
  // A non-null pointer even for "" so SQLite stores an empty string, not NULL.
  const char* data = text.data() != nullptr ? text.data() : "";
  return sqlite3_bind_text64(stmt_, index, data, static_cast<sqlite3_uint64>(text.size()),
                             SQLITE_STATIC, SQLITE_UTF8);
}

int Statement::bind_blob(int index, std::string_view bytes) noexcept {
  const char* data = bytes.data() != nullptr ? bytes.data() : "";
  return sqlite3_bind_blob64(stmt_, index, data, static_cast<sqlite3_uint64>(bytes.size()),
                             SQLITE_STATIC);
}

int Statement::bind_int64(int index, std::int64_t value) noexcept {
  return sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(value));
}

int Statement::bind_null(int index) noexcept {
  return sqlite3_bind_null(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (text == nullptr || size <= 0) {
    return {};
  }
  return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::string Statement::column_blob(int index) const {
  const void* blob = sqlite3_column_blob(stmt_, index);
  const int size = sqlite3_column_bytes(stmt_, index);
  if (blob == nullptr || size <= 0) {
    return {};
  }
  return {static_cast<const char*>(blob), static_cast<std::size_t>(size)};
}

std::unique_ptr<Connection> Connection::open(const std::string& path, int flags, int& rc_out,
                                             const char* vfs) {
  sqlite3* db = nullptr;
  rc_out = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc_out != SQLITE_OK) {
    // sqlite3_open_v2 may hand back a handle even on failure; it must still be closed.
    sqlite3_close_v2(db);
    return nullptr;
  }
  sqlite3_extended_result_codes(db, 1);
  rc_out = sqlite3_busy_timeout(db, kBusyTimeoutMs);
  if (rc_out != SQLITE_OK) {
    sqlite3_close_v2(db);
    return nullptr;
  }
  return std::unique_ptr<Connection>(new Connection(db));
}

Connection::~Connection() {
  // Statements first: sqlite3_close_v2 would otherwise defer the close until they are finalized.
  cache_.clear();
  sqlite3_close_v2(db_);
}

int Connection::exec(const char* sql) noexcept {
  return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
}

Statement Connection::prepare(const char* sql, int& rc_out) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    rc_out = SQLITE_OK;
    return Statement(it->second.get());
  }
  sqlite3_stmt* stmt = nullptr;
  rc_out = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc_out != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Statement();
  }
  std::unique_ptr<sqlite3_stmt, Finalizer> owned(stmt);
  cache_.emplace(sql, std::move(owned));
  return Statement(stmt);
}

int Connection::run(const char* sql) {
  int rc = SQLITE_OK;
  Statement stmt = prepare(sql, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = stmt.step();
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

}  // namespace oshin::storage::detail
