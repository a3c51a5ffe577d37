#include "migrations.hpp"

#include <array>

namespace oshin::storage::detail {
namespace {

// Version 1: documents and the append-only event log.
constexpr const char* kV1Records = R"sql(
CREATE TABLE records (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  body BLOB NOT NULL,
  unique_key TEXT,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) STRICT;
CREATE UNIQUE INDEX records_unique_key ON records (kind, unique_key)
  WHERE unique_key IS NOT NULL;
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  stream_key TEXT NOT NULL,
  payload BLOB NOT NULL,
  at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX events_stream ON events (stream_key, seq);
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
)sql";

// Version 2: the hash-chained audit log and its head (last seq and hash, so that truncating the
// tail of the chain is detected too).
constexpr const char* kV2Audit = R"sql(
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  actor_id TEXT NOT NULL,
  actor_role TEXT NOT NULL,
  action TEXT NOT NULL,
  patient_id TEXT NOT NULL,
  visit_id TEXT NOT NULL,
  outcome TEXT NOT NULL,
  request_id TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE INDEX audit_at ON audit (at_ms);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN
  SELECT RAISE(ABORT, 'audit head cannot be deleted');
END;
INSERT INTO audit_head (id, seq, hash)
  VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
)sql";

// Version 3: one event sent to several streams (a visit update to the requester, STAFF and the
// team) stores its payload once. The other rows name the row holding it in payload_seq and
// keep an empty payload; readers take the payload from that row.
constexpr const char* kV3SharedPayloads = R"sql(
ALTER TABLE events ADD COLUMN payload_seq INTEGER;
)sql";

// A stream's rows were indexed by (stream_key, seq): each commit's rows for N streams landed in
// N leaf pages far apart, half of every commit's WAL frames under load. Bucketed by seq first,
// the rows of recent commits share a leaf or two; a stream is read bucket by bucket
// (kSelectStreamBucketEvents). 64 seqs per bucket: see kStreamBucketBits.
constexpr const char* kV4BucketedStreams = R"sql(
DROP INDEX events_stream;
CREATE INDEX events_stream_bucket ON events (seq >> 6, stream_key);
)sql";

constexpr std::array<Migration, 4> kMigrations{{
    {1, kV1Records},
    {2, kV2Audit},
    {3, kV3SharedPayloads},
    {4, kV4BucketedStreams},
}};

constexpr const char* kCreateMigrations =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
constexpr const char* kSelectVersion = "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr const char* kInsertVersion =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)";

// Reads the recorded version inside whatever transaction is open; returns an SQLite code.
int read_version(Connection& db, std::int64_t& version) {
  int rc = SQLITE_OK;
  Statement stmt = db.prepare(kSelectVersion, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = stmt.step();
  if (rc != SQLITE_ROW) {
    return rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
  }
  version = stmt.column_int64(0);
  return SQLITE_OK;
}

// Applies the pending steps; the caller owns the transaction. Returns an SQLite code.
int apply_pending(Connection& db, std::int64_t now_ms, int& applied) {
  int rc = db.exec(kCreateMigrations);
  if (rc != SQLITE_OK) {
    return rc;
  }
  std::int64_t current = 0;
  rc = read_version(db, current);
  if (rc != SQLITE_OK) {
    return rc;
  }
  if (current > latest_schema_version()) {
    // Written by a newer build: refuse rather than guess at its schema.
    return SQLITE_ERROR;
  }
  for (const Migration& step : kMigrations) {
    if (step.version <= current) {
      continue;
    }
    rc = db.exec(step.sql);
    if (rc != SQLITE_OK) {
      return rc;
    }
    Statement insert = db.prepare(kInsertVersion, rc);
    if (rc != SQLITE_OK) {
      return rc;
    }
    insert.bind_int64(1, step.version);
    insert.bind_int64(2, now_ms);
    rc = insert.step();
    if (rc != SQLITE_DONE) {
      return rc;
    }
    ++applied;
  }
  return SQLITE_OK;
}

}  // namespace

std::span<const Migration> migrations() noexcept {
  return kMigrations;
}

std::int64_t latest_schema_version() noexcept {
  return kMigrations.back().version;
}

Result<int> apply_migrations(Connection& db, std::int64_t now_ms) {
  int rc = db.exec("BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) {
    return map_sqlite_error(rc) == Errc::storage_full ? Errc::storage_full : Errc::unavailable;
  }
  int applied = 0;
  rc = apply_pending(db, now_ms, applied);
  if (rc == SQLITE_OK) {
    rc = db.exec("COMMIT");
  }
  if (rc != SQLITE_OK) {
    if (!db.autocommit()) {
      db.exec("ROLLBACK");
    }
    return map_sqlite_error(rc) == Errc::storage_full ? Errc::storage_full : Errc::unavailable;
  }
  return applied;
}

Result<std::int64_t> schema_version(Connection& db) {
  std::int64_t version = 0;
  const int rc = read_version(db, version);
  if (rc != SQLITE_OK) {
    return Errc::unavailable;
  }
  return version;
}

}  // namespace oshin::storage::detail
