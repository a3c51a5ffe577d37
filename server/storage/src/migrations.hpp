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
