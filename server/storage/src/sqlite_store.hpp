#pragma once

// Private to oshin_storage: the embedded SQLite implementation of Store.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "oshin/storage/store.hpp"
#include "sqlite_connection.hpp"

namespace oshin::storage::detail {

/// SQLite in WAL mode with synchronous=FULL.
///
/// Writes: commit() queues; one writer thread owns the only read-write connection and commits
/// up to max_batch queued transactions per SQLite transaction (BEGIN IMMEDIATE ... COMMIT, one
/// fsync), each inside its own SAVEPOINT so a constraint failure rolls back that transaction
/// alone. Handlers run on the writer thread after COMMIT has returned.
///
/// Reads: a pool of read-only connections, taken by the calling thread for one call and put
/// back; WAL gives each read a consistent snapshot and reads never wait for the writer queue.
class SqliteStore final : public Store {
 public:
  /// See open_sqlite_store().
  static Result<std::unique_ptr<Store>> open(const SqliteOptions& options);

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;
  /// Calls close(). Must not run on the writer thread (i.e. inside a commit handler).
  ~SqliteStore() override;

  /// Any thread. After close(), on a read-only store, `done` runs inline on the calling thread
  /// with Errc::unavailable; otherwise it runs on the writer thread.
  void commit(Transaction tx, CommitHandler done) override;

  /// Any thread; each call borrows one pooled read connection. Errc::unavailable after close()
  /// or on an SQLite failure.
  Result<std::optional<Record>> get(const std::string& kind, const std::string& id) override;
  Result<std::vector<Record>> list(const std::string& kind) override;
  Result<std::vector<StoredEvent>> events_after(std::int64_t after_seq,
                                                const std::string& stream_key,
                                                std::size_t limit) override;
  Result<std::vector<StoredEvent>> events_for(std::int64_t after_seq,
                                              const std::vector<std::string>& stream_keys,
                                              std::size_t limit) override;
  Result<std::vector<AuditEntry>> audit_range(std::int64_t from_ms, std::int64_t to_ms,
                                              std::size_t limit) override;
  Result<AuditVerifyResult> verify_audit() override;

  /// Any thread.
  bool writable() const override;
  /// Any thread but the writer thread; idempotent. Called from a commit handler it only stops
  /// accepting new transactions (joining would deadlock); a later call finishes the job.
  void close() override;

 private:
  struct Pending {
    Transaction tx;
    CommitHandler done;
  };

  // A finished transaction whose handler has yet to run (on the completion thread).
  struct Completion {
    Completion(CommitHandler d, Result<CommitResult> r, Transaction t)
        : done(std::move(d)), result(std::move(r)), tx(std::move(t)) {}
    CommitHandler done;
    Result<CommitResult> result;
    // Freed on the completion thread too: freeing a batch's payloads was ~6% of the writer.
    Transaction tx;
  };

  // The writer's view of the logs' tails. Snapshotted per transaction and per batch so that a
  // rollback restores it.
  struct ChainState {
    std::int64_t last_event_seq = 0;
    std::int64_t last_audit_seq = 0;
    std::string last_audit_hash;
  };

  struct ReaderReturn {
    SqliteStore* store = nullptr;
    void operator()(Connection* conn) const noexcept;
  };
  using ReaderLease = std::unique_ptr<Connection, ReaderReturn>;

  explicit SqliteStore(const SqliteOptions& options);

  Result<void> open_writable();
  Result<void> open_read_only();
  Result<void> load_chain_state();

  // Reads: borrow a pooled connection (opening one when none is idle).
  Result<ReaderLease> acquire_reader();
  /// Appends the events of one stream (every stream when `stream_key` is empty) with seq >
  /// after_seq, ascending, at most `limit`, to `out`; returns SQLITE_DONE or the failing code.
  int read_events(Connection& db, std::int64_t after_seq, const std::string& stream_key,
                  std::size_t limit, std::vector<StoredEvent>& out);
  // read_events for one stream of a schema-4 store: bucket after bucket of 64 seqs up to the
  // newest seq, until `max_rows` (events_stream_bucket; see migrations.hpp).
  int read_stream_buckets(Connection& db, std::int64_t after_seq, const std::string& stream_key,
                          std::int64_t max_rows, std::vector<StoredEvent>& out);
  static int read_event_rows(Statement& stmt, std::vector<StoredEvent>& out);
  void return_reader(Connection* conn) noexcept;
  void close_readers() noexcept;

  // Writer thread only.
  void writer_loop() noexcept;
  void run_batch(std::vector<Pending>& batch);
  int apply_transaction(const Transaction& tx, CommitResult& out);
  int apply(const PutRecord& put);
  int apply(const EraseRecord& erase);
  int apply(const AppendEvent& event, CommitResult& out);
  int apply(const AppendAudit& audit, CommitResult& out);
  void enter_read_only() noexcept;
  void notify_observer(std::chrono::nanoseconds elapsed, std::size_t transactions) noexcept;
  // Hands a batch's handlers to the completion thread, in commit order.
  void complete(std::vector<Pending>& batch, std::vector<Result<CommitResult>>& results) noexcept;

  // Completion thread only: runs handlers in the order their transactions committed, so the
  // writer can start the next group commit while they run.
  void completion_loop() noexcept;

  // Stops accepting commits and wakes the writer so it drains and exits.
  void stop_accepting() noexcept;

  // Checkpointer thread: copies the WAL back into the database file on its own connection each
  // time the writer's WAL hook finds kCheckpointFrames more frames in the WAL, so that no group
  // commit waits for a checkpoint (SQLite's automatic checkpoint ran inside the committing
  // COMMIT).
  void checkpoint_loop() noexcept;
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames) noexcept;
  void stop_checkpointer() noexcept;
  void notify_checkpoint(bool restart) noexcept;
  // Checkpointer: one RESTART attempt, announced to the writer for its duration.
  void attempt_restart() noexcept;
  // Writer, before a batch: waits (bounded) while a RESTART attempt is under way.
  void let_restart_in() noexcept;

  // Writer only: the WAL's length in frames when the checkpointer was last woken.
  int checkpoint_woken_at_ = 0;
  // Writer only, within one transaction: the last event stored with its payload, and its seq.
  const AppendEvent* shared_payload_ = nullptr;
  std::int64_t shared_payload_seq_ = 0;
  // The store's schema version (the latest once a writable open has migrated it).
  std::int64_t schema_version_ = 0;

  const SqliteOptions options_;
  const std::string db_path_;
  int lock_fd_ = -1;

  // Opened by open(); used only by the writer thread from then on.
  std::unique_ptr<Connection> writer_db_;
  ChainState chain_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;                // guarded by queue_mutex_
  bool accepting_ = false;                   // guarded by queue_mutex_
  bool stopping_ = false;                    // guarded by queue_mutex_
  std::atomic<bool> accepting_flag_{false};  // mirror of accepting_ for writable()
  std::atomic<bool> failed_{false};          // an I/O error made the store read-only

  std::thread writer_;
  std::thread::id writer_id_;  // set once in open(), read-only afterwards

  std::mutex completions_mutex_;
  std::condition_variable completions_cv_;
  std::deque<Completion> completions_;  // guarded by completions_mutex_
  bool writer_done_ = false;            // guarded by completions_mutex_
  std::thread completer_;
  std::thread::id completer_id_;  // set once in open(), read-only afterwards

  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_wanted_ = false;  // guarded by checkpoint_mutex_
  bool checkpoint_stop_ = false;    // guarded by checkpoint_mutex_
  // Set while a RESTART checkpoint is being attempted; the writer holds its next batch back
  // until it is cleared (restart_cv_), so that the RESTART gets the write lock between two
  // batches instead of polling for a gap that back-to-back commits never leave.
  // Changed under checkpoint_mutex_ (so restart_cv_ misses no change); read without it too.
  std::atomic<bool> restart_attempt_{false};
  std::condition_variable restart_cv_;
  std::unique_ptr<Connection> checkpoint_db_;  // the checkpointer thread's only
  std::thread checkpointer_;

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;  // guarded by readers_mutex_
  bool readers_closed_ = false;                            // guarded by readers_mutex_

  std::mutex close_mutex_;  // serializes close()
};

}  // namespace oshin::storage::detail
