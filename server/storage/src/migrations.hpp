#pragma once

// Private to oshin_storage: the SQLite schema as an ordered list of versioned steps.

#include <cstdint>
#include <span>

#include "oshin/common/errc.hpp"
#include "sqlite_connection.hpp"

namespace oshin::storage::detail {

/// One schema step. Steps are applied in ascending version order, each exactly once; a step is
/// never edited after release: a change is a new step.
struct Migration {
  std::int64_t version = 0;
  const char* sql = nullptr;
};

/// Schema version 4 indexes a stream's events by (seq >> kStreamBucketBits, stream_key): the
/// rows of recent commits share a few leaf pages whatever their streams.
inline constexpr int kStreamBucketBits = 6;
inline constexpr std::int64_t kBucketedStreamsVersion = 4;

/// One bucket of one stream, oldest first: ?1 the bucket (seq >> kStreamBucketBits), ?2 the
/// stream key, ?3 the seq to read after, ?4 the row limit. Its `seq >> 6` must be the index's
/// expression, word for word, for SQLite to use the index (tested).
inline constexpr const char* kSelectStreamBucketEvents =
    "SELECT e.seq, e.type, e.stream_key, coalesce(p.payload, e.payload), e.at_ms, "
    "coalesce(e.payload_seq, e.seq) FROM events e "
    "LEFT JOIN events p ON p.seq = e.payload_seq "
    "WHERE e.seq >> 6 = ?1 AND e.stream_key = ?2 AND e.seq > ?3 ORDER BY e.seq LIMIT ?4";

/// Every step this build knows, ascending.
std::span<const Migration> migrations() noexcept;

/// The newest schema version this build knows.
std::int64_t latest_schema_version() noexcept;

/// Creates schema_migrations when missing and applies every step newer than the recorded
/// version, all in one IMMEDIATE transaction (all or nothing). `now_ms` is recorded as
/// applied_at. Returns the number of steps applied (0 for an up-to-date database);
/// Errc::unavailable when the database is newer than this build or on any SQLite failure,
/// Errc::storage_full on a full disk. Called once, before the writer thread starts.
Result<int> apply_migrations(Connection& db, std::int64_t now_ms);

/// The recorded schema version (0 when schema_migrations is empty); Errc::unavailable when the
/// database has no schema_migrations table (not an oshin database) or cannot be read.
Result<std::int64_t> schema_version(Connection& db);

}  // namespace oshin::storage::detail
