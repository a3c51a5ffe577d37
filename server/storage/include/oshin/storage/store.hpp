#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "oshin/common/errc.hpp"

namespace oshin::storage {

/// One stored document: a serialized protobuf message of some kind ("user", "organization",
/// "session", "patient", ...) under a string id. Backend-neutral: SQLite stores it as a BLOB,
/// PostgreSQL as bytea.
struct Record {
  std::string kind;
  std::string id;
  std::string body;  ///< serialized protobuf (binary)
  std::int64_t updated_at_ms = 0;
};

/// Insert or replace a record. When `unique_key` is set, no other record of the same kind may
/// hold the same unique key (e.g. a username); a clash fails the whole transaction with
/// Errc::already_exists. When `must_not_exist` is set, an existing record with that id fails the
/// transaction with Errc::already_exists.
struct PutRecord {
  Record record;
  std::optional<std::string> unique_key;
  bool must_not_exist = false;
};

/// Delete a record (and its unique key). Deleting a missing record is not an error.
struct EraseRecord {
  std::string kind;
  std::string id;
};

/// Append to the durable, append-only event log. The store assigns `seq` (rising, gap-free
/// within one store). `stream_key` names the stream the event belongs to (an account's, a group
/// of accounts' such as an organization's, or an internal one). An event appended to several
/// streams one after another with the same payload stores the payload once: the later rows point
/// at the first (StoredEvent::content_seq).
struct AppendEvent {
  std::string type;
  std::string stream_key;
  std::string payload;  ///< serialized protobuf
  std::int64_t at_ms = 0;
};

/// One audit entry as the caller describes it. The store assigns seq and computes the chain
/// hash inside the same transaction, so chain order equals commit order.
struct AuditEntry {
  std::int64_t seq = 0;  ///< assigned by the store
  std::int64_t at_ms = 0;
  std::string actor_id;
  std::string actor_role;
  std::string action;      ///< e.g. "login", "user.create", "patient.read"
  std::string patient_id;  ///< empty when no patient data was touched
  std::string visit_id;
  std::string outcome;  ///< "ok", "denied", "failed", ...
  std::string request_id;
  std::string detail;     ///< free text; never secrets or patient data
  std::string prev_hash;  ///< hex, assigned by the store ("" -> genesis of 64 zeros)
  std::string hash;       ///< hex SHA-256, assigned by the store
};

struct AppendAudit {
  AuditEntry entry;
};

using Mutation = std::variant<PutRecord, EraseRecord, AppendEvent, AppendAudit>;

/// A unit that commits all-or-nothing. Many transactions share one fsync (group commit).
struct Transaction {
  std::vector<Mutation> mutations;
};

/// What a committed transaction was assigned, in the order of its mutations.
struct CommitResult {
  std::vector<std::int64_t> event_seqs;  ///< one per AppendEvent
  std::vector<std::int64_t> audit_seqs;  ///< one per AppendAudit
};

/// Called exactly once, on the store's completion thread, after the transaction is durable
/// (committed and synced) or has failed. Handlers run one at a time in commit order (a handler
/// of an earlier transaction has returned before the next one starts), while the writer thread
/// already runs the next group commit. A handler must not block for long: every later
/// completion waits for it. Errors: Errc::already_exists (unique clash), Errc::storage_full (disk
/// full), Errc::unavailable (I/O error, store read-only or closed).
using CommitHandler = std::function<void(Result<CommitResult>)>;

/// An event read back from the log.
struct StoredEvent {
  std::int64_t seq = 0;
  std::string type;
  std::string stream_key;
  std::string payload;
  std::int64_t at_ms = 0;
  /// The seq of the row that holds the payload: the rows of one event appended to several
  /// streams in a row share it (see AppendEvent); a row with a payload of its own has its seq.
  std::int64_t content_seq = 0;
};

struct AuditVerifyResult {
  bool ok = false;
  std::int64_t entries = 0;
  std::int64_t first_bad_seq = 0;  ///< 0 when ok
};

/// Observer hooks for metrics; may be empty.
struct StoreObserver {
  std::function<void(std::chrono::nanoseconds commit_time, std::size_t transactions)> on_commit;
  /// After each checkpoint the store runs (copying the WAL into the database file), on the
  /// checkpointing thread; `restart` when it also started the WAL over.
  std::function<void(bool restart)> on_checkpoint;
};

/// Durable storage. Writes go through one writer thread with group commit; nothing is reported
/// committed before it is synced. Reads may be called from any thread and never wait for the
/// writer (WAL readers). Implementations: SqliteStore (embedded); later PostgreSQL, which must
/// pass the same test suite (tests/unit/storage).
class Store {
 public:
  virtual ~Store() = default;

  /// Queues a transaction. Thread-safe. `done` runs on the completion thread (inline, before
  /// commit() returns, when the store is closed).
  virtual void commit(Transaction tx, CommitHandler done) = 0;

  /// Reads one record; empty optional when absent.
  virtual Result<std::optional<Record>> get(const std::string& kind, const std::string& id) = 0;
  /// All records of a kind, ordered by id.
  virtual Result<std::vector<Record>> list(const std::string& kind) = 0;
  /// Events with seq > after_seq, ascending, at most `limit`. When stream_key is non-empty only
  /// that stream's events.
  virtual Result<std::vector<StoredEvent>> events_after(std::int64_t after_seq,
                                                        const std::string& stream_key,
                                                        std::size_t limit) = 0;
  /// Events with seq > after_seq in any of `stream_keys` (one read snapshot for all of them),
  /// ascending, at most `limit`; no keys, no events.
  virtual Result<std::vector<StoredEvent>> events_for(std::int64_t after_seq,
                                                      const std::vector<std::string>& stream_keys,
                                                      std::size_t limit) = 0;
  /// Audit entries with at_ms in [from_ms, to_ms), ascending by seq, at most `limit`.
  virtual Result<std::vector<AuditEntry>> audit_range(std::int64_t from_ms, std::int64_t to_ms,
                                                      std::size_t limit) = 0;
  /// Recomputes the whole hash chain; detects edited, inserted or deleted rows (including rows
  /// cut off the end, against the recorded chain head). first_bad_seq is the first seq that is
  /// missing, out of order or fails its prev_hash link or hash; `entries` counts all rows.
  virtual Result<AuditVerifyResult> verify_audit() = 0;

  /// True while the store is open and accepting writes (for /readyz).
  virtual bool writable() const = 0;
  /// Completes every queued transaction, syncs and stops the writer. Idempotent.
  virtual void close() = 0;
};

struct SqliteOptions {
  std::string data_dir;  ///< directory; created when missing
  std::string file_name = "oshin.db";
  std::size_t max_batch = 512;  ///< transactions per group commit at most
  /// WAL frames (pages) past which the checkpointer starts the WAL over (a RESTART checkpoint,
  /// which holds new writes back for a moment), and the size the file is truncated to after.
  /// Under steady writes a PASSIVE checkpoint never copies the whole WAL, so without this the
  /// file grows for as long as the load lasts.
  std::size_t wal_restart_frames = 16000;
  bool read_only = false;  ///< open for reading only (oshin-sim replay)
  StoreObserver observer;
};

/// Opens (creating and migrating when needed) the SQLite store in options.data_dir.
/// A writable store takes an exclusive lock file (`<file_name>.lock`), so a second writable open
/// of the same data dir fails. Errors: Errc::invalid_argument (empty data_dir or file_name),
/// Errc::not_found (read_only and no database file), Errc::storage_full, Errc::unavailable
/// (cannot create or open, locked by another writer, not an oshin database, or written by a
/// newer build). Any thread.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

/// The audit chain hash: hex SHA-256 over prev_hash and the entry's fields (length-prefixed).
/// Shared by every backend so a chain verifies the same everywhere.
/// Exact input, each item as an 8-byte big-endian byte length followed by its bytes:
/// "oshin.audit.v1", prev_hash ("" means 64 '0'), decimal seq, decimal at_ms, actor_id,
/// actor_role, action, patient_id, visit_id, outcome, request_id, detail. entry.prev_hash and
/// entry.hash are ignored. Returns 64 lowercase hex digits ("" only if OpenSSL fails).
/// Pure; any thread.
std::string audit_chain_hash(const std::string& prev_hash, const AuditEntry& entry);

}  // namespace oshin::storage
