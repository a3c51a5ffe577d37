#include "sqlite_store.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <new>
#include <system_error>
#include <type_traits>
#include <utility>

#include "migrations.hpp"
#include "wal_write_batching.hpp"

namespace oshin::storage {
namespace detail {
namespace {

constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Idle read connections kept open; a burst beyond this opens extra ones and closes them after.
constexpr std::size_t kMaxIdleReaders = 8;

constexpr int kReaderFlags = SQLITE_OPEN_READONLY;
constexpr int kWriterFlags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;

constexpr const char* kBeginImmediate = "BEGIN IMMEDIATE";
// A WAL frame: one 4 KiB page and its 24-byte header.
constexpr std::size_t kWalFrameBytes = 4096 + 24;
// How long a RESTART checkpoint may hold new writes back waiting for the writer or a reader.
constexpr int kRestartWaitMs = 20;

// WAL frames past which the checkpointer starts the WAL over (a RESTART checkpoint).
std::size_t restart_frames(const SqliteOptions& options) {
  return std::max<std::size_t>(options.wal_restart_frames, 1);
}
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";
constexpr const char* kSavepoint = "SAVEPOINT tx";
constexpr const char* kRelease = "RELEASE tx";
constexpr const char* kRollbackTo = "ROLLBACK TO tx";

constexpr const char* kInsertRecord =
    "INSERT INTO records (kind, id, body, unique_key, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)";
constexpr const char* kUpsertRecord =
    "INSERT INTO records (kind, id, body, unique_key, updated_at_ms) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, "
    "unique_key = excluded.unique_key, updated_at_ms = excluded.updated_at_ms";
constexpr const char* kDeleteRecord = "DELETE FROM records WHERE kind = ?1 AND id = ?2";
constexpr const char* kInsertEvent =
    "INSERT INTO events (seq, type, stream_key, payload, at_ms, payload_seq) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
constexpr const char* kInsertAudit =
    "INSERT INTO audit (seq, at_ms, actor_id, actor_role, action, patient_id, visit_id, outcome, "
    "request_id, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "?12)";
constexpr const char* kUpsertAuditHead =
    "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) "
    "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash";

constexpr const char* kMaxEventSeq = "SELECT coalesce(max(seq), 0) FROM events";
constexpr const char* kSelectAuditHead = "SELECT seq, hash FROM audit_head WHERE id = 1";
constexpr const char* kSelectLastAudit = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1";

constexpr const char* kSelectRecord =
    "SELECT body, updated_at_ms FROM records WHERE kind = ?1 AND id = ?2";
constexpr const char* kSelectRecords =
    "SELECT id, body, updated_at_ms FROM records WHERE kind = ?1 ORDER BY id";
// A row whose payload_seq is set takes its payload from that row (schema version 3).
constexpr const char* kSelectEvents =
    "SELECT e.seq, e.type, e.stream_key, coalesce(p.payload, e.payload), e.at_ms, "
    "coalesce(e.payload_seq, e.seq) FROM events e "
    "LEFT JOIN events p ON p.seq = e.payload_seq WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2";
constexpr const char* kSelectStreamEvents =
    "SELECT e.seq, e.type, e.stream_key, coalesce(p.payload, e.payload), e.at_ms, "
    "coalesce(e.payload_seq, e.seq) FROM events e "
    "LEFT JOIN events p ON p.seq = e.payload_seq WHERE e.stream_key = ?1 AND e.seq > ?2 "
    "ORDER BY e.seq LIMIT ?3";
// Stores written before version 3 (opened read-only by an oshin-sim of this build).
constexpr const char* kSelectEventsV2 =
    "SELECT seq, type, stream_key, payload, at_ms, seq FROM events WHERE seq > ?1 ORDER BY seq "
    "LIMIT ?2";
constexpr const char* kSelectStreamEventsV2 =
    "SELECT seq, type, stream_key, payload, at_ms, seq FROM events "
    "WHERE stream_key = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3";
constexpr std::int64_t kSharedPayloadsVersion = 3;
constexpr const char* kSelectNewestSeq = "SELECT coalesce(max(seq), 0) FROM events";
constexpr const char* kSelectAuditRange =
    "SELECT seq, at_ms, actor_id, actor_role, action, patient_id, visit_id, outcome, request_id, "
    "detail, prev_hash, hash FROM audit WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY seq LIMIT ?3";
constexpr const char* kSelectAuditAll =
    "SELECT seq, at_ms, actor_id, actor_role, action, patient_id, visit_id, outcome, request_id, "
    "detail, prev_hash, hash FROM audit ORDER BY seq";
constexpr const char* kBeginRead = "BEGIN";

std::int64_t clamp_limit(std::size_t limit) {
  constexpr auto kMax = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(std::min(limit, kMax));
}

AuditEntry read_audit_row(const Statement& stmt) {
  AuditEntry entry;
  entry.seq = stmt.column_int64(0);
  entry.at_ms = stmt.column_int64(1);
  entry.actor_id = stmt.column_text(2);
  entry.actor_role = stmt.column_text(3);
  entry.action = stmt.column_text(4);
  entry.patient_id = stmt.column_text(5);
  entry.visit_id = stmt.column_text(6);
  entry.outcome = stmt.column_text(7);
  entry.request_id = stmt.column_text(8);
  entry.detail = stmt.column_text(9);
  entry.prev_hash = stmt.column_text(10);
  entry.hash = stmt.column_text(11);
  return entry;
}

// Ends whatever read transaction a reader left open, so it goes back to the pool clean.
class ReadTransaction {
 public:
  explicit ReadTransaction(Connection& db) : db_(db) {}
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
  ~ReadTransaction() {
    if (!db_.autocommit()) {
      db_.exec(kRollback);
    }
  }

 private:
  Connection& db_;
};

void invoke(CommitHandler& done, Result<CommitResult> result) noexcept {
  if (!done) {
    return;
  }
  try {
    done(std::move(result));
  } catch (...) {
    // A handler broke its contract by throwing; the writer must keep serving everyone else.
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Opening and closing

SqliteStore::SqliteStore(const SqliteOptions& options)
    : options_(options),
      db_path_((std::filesystem::path(options.data_dir) / options.file_name).string()) {}

Result<std::unique_ptr<Store>> SqliteStore::open(const SqliteOptions& options) {
  try {
    if (options.data_dir.empty() || options.file_name.empty()) {
      return Errc::invalid_argument;
    }
    if (sqlite3_threadsafe() == 0) {
      return Errc::unavailable;
    }
    std::unique_ptr<SqliteStore> store(new SqliteStore(options));
    Result<void> opened = options.read_only ? store->open_read_only() : store->open_writable();
    if (!opened) {
      store->close();
      return opened.error();
    }
    return std::unique_ptr<Store>(std::move(store));
  } catch (const std::bad_alloc&) {
    return Errc::unavailable;
  } catch (...) {
    return Errc::internal;
  }
}

Result<void> SqliteStore::open_writable() {
  std::error_code ec;
  const std::filesystem::path dir(options_.data_dir);
  if (std::filesystem::create_directories(dir, ec)) {
    // A new data dir holds patient data: owner only.
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    return Errc::unavailable;
  }

  // One writing process per data dir: the writer caches the tails of the logs.
  const std::string lock_path = db_path_ + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Errc::unavailable;
  }

  // Create the file owner-only before SQLite does: its -wal and -shm files copy its mode.
  const int created = ::open(db_path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (created >= 0) {
    ::close(created);
  }

  int rc = SQLITE_OK;
  // The writer's WAL writes are gathered into one per commit (its connection is synchronous=FULL,
  // which that needs: see wal_write_batching.hpp).
  writer_db_ = Connection::open(db_path_, kWriterFlags, rc, wal_write_batching_vfs());
  if (!writer_db_) {
    return Errc::unavailable;
  }
  {
    Statement mode = writer_db_->prepare("PRAGMA journal_mode=WAL", rc);
    if (rc != SQLITE_OK || mode.step() != SQLITE_ROW || mode.column_text(0) != "wal") {
      return Errc::unavailable;
    }
  }
  if (writer_db_->exec(
          "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;") !=
      SQLITE_OK) {
    return Errc::unavailable;
  }
  // Checkpoints run on their own thread and connection (checkpoint_loop), not in COMMIT.
  if (writer_db_->exec("PRAGMA wal_autocheckpoint=0;") != SQLITE_OK) {
    return Errc::unavailable;
  }
  // After a RESTART checkpoint the next commit truncates the WAL file to this many bytes.
  const std::string size_limit =
      "PRAGMA journal_size_limit=" + std::to_string(restart_frames(options_) * kWalFrameBytes) +
      ";";
  if (writer_db_->exec(size_limit.c_str()) != SQLITE_OK) {
    return Errc::unavailable;
  }
  checkpoint_db_ = Connection::open(db_path_, SQLITE_OPEN_READWRITE, rc);
  if (!checkpoint_db_ || checkpoint_db_->exec("PRAGMA synchronous=FULL;") != SQLITE_OK) {
    return Errc::unavailable;
  }
  // RESTART waits (for the writer's transaction, then for readers) at most this long.
  sqlite3_busy_timeout(checkpoint_db_->handle(), kRestartWaitMs);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Result<int> migrated = apply_migrations(*writer_db_, static_cast<std::int64_t>(now_ms));
  if (!migrated) {
    return migrated.error();
  }
  schema_version_ = latest_schema_version();
  Result<void> chain = load_chain_state();
  if (!chain) {
    return chain;
  }
  // Fail now rather than on the first read if readers cannot open.
  Result<ReaderLease> reader = acquire_reader();
  if (!reader) {
    return reader.error();
  }
  reader->reset();

  {
    std::lock_guard lock(queue_mutex_);
    accepting_ = true;
  }
  accepting_flag_.store(true);
  try {
    checkpointer_ = std::thread([this] { checkpoint_loop(); });
    sqlite3_wal_hook(writer_db_->handle(), &SqliteStore::on_wal_commit, this);
    completer_ = std::thread([this] { completion_loop(); });
    completer_id_ = completer_.get_id();
    writer_ = std::thread([this] { writer_loop(); });
  } catch (const std::system_error&) {
    {
      std::lock_guard lock(queue_mutex_);
      accepting_ = false;
      accepting_flag_.store(false);
    }
    stop_checkpointer();
    if (completer_.joinable()) {
      {
        std::lock_guard lock(completions_mutex_);
        writer_done_ = true;
      }
      completions_cv_.notify_all();
      completer_.join();
    }
    return Errc::unavailable;
  }
  writer_id_ = writer_.get_id();
  return {};
}

Result<void> SqliteStore::open_read_only() {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_path_, ec)) {
    return Errc::not_found;
  }
  Result<ReaderLease> reader = acquire_reader();
  if (!reader) {
    return reader.error();
  }
  Result<std::int64_t> version = schema_version(**reader);
  if (!version || *version < 1 || *version > latest_schema_version()) {
    return Errc::unavailable;
  }
  schema_version_ = *version;
  return {};
}

Result<void> SqliteStore::load_chain_state() {
  Connection& db = *writer_db_;
  int rc = SQLITE_OK;
  {
    Statement stmt = db.prepare(kMaxEventSeq, rc);
    if (rc != SQLITE_OK || stmt.step() != SQLITE_ROW) {
      return Errc::unavailable;
    }
    chain_.last_event_seq = stmt.column_int64(0);
  }
  chain_.last_audit_seq = 0;
  chain_.last_audit_hash = std::string(kGenesisHash);
  {
    Statement stmt = db.prepare(kSelectAuditHead, rc);
    if (rc != SQLITE_OK) {
      return Errc::unavailable;
    }
    rc = stmt.step();
    if (rc == SQLITE_ROW) {
      chain_.last_audit_seq = stmt.column_int64(0);
      chain_.last_audit_hash = stmt.column_text(1);
    } else if (rc != SQLITE_DONE) {
      return Errc::unavailable;
    }
  }
  {
    // Rows past the head (which only tampering produces) must not make every later append
    // clash on seq: continue after whichever is further. verify_audit() reports the damage.
    Statement stmt = db.prepare(kSelectLastAudit, rc);
    if (rc != SQLITE_OK) {
      return Errc::unavailable;
    }
    rc = stmt.step();
    if (rc == SQLITE_ROW) {
      const std::int64_t seq = stmt.column_int64(0);
      if (seq > chain_.last_audit_seq) {
        chain_.last_audit_seq = seq;
        chain_.last_audit_hash = stmt.column_text(1);
      }
    } else if (rc != SQLITE_DONE) {
      return Errc::unavailable;
    }
  }
  return {};
}

SqliteStore::~SqliteStore() {
  close();
}

void SqliteStore::stop_accepting() noexcept {
  {
    std::lock_guard lock(queue_mutex_);
    accepting_ = false;
    stopping_ = true;
  }
  accepting_flag_.store(false);
  queue_cv_.notify_all();
}

void SqliteStore::close() {
  const std::thread::id self = std::this_thread::get_id();
  if ((writer_id_ != std::thread::id() && self == writer_id_) ||
      (completer_id_ != std::thread::id() && self == completer_id_)) {
    // From a commit handler: stop taking commits; the owner's close() joins the threads.
    stop_accepting();
    return;
  }
  std::lock_guard close_lock(close_mutex_);
  stop_accepting();
  if (writer_.joinable()) {
    // The writer drains the queue (handing every handler to the completion thread) first.
    writer_.join();
  }
  if (completer_.joinable()) {
    {
      std::lock_guard lock(completions_mutex_);
      writer_done_ = true;
    }
    completions_cv_.notify_all();
    // The completion thread runs every handler it was given before it returns.
    completer_.join();
  }
  stop_checkpointer();
  // Readers first: the last connection to close checkpoints the WAL, and only the writer can.
  close_readers();
  writer_db_.reset();
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
  }
}

bool SqliteStore::writable() const {
  return accepting_flag_.load() && !failed_.load();
}

// ---------------------------------------------------------------------------------------------
// Reads

void SqliteStore::ReaderReturn::operator()(Connection* conn) const noexcept {
  store->return_reader(conn);
}

Result<SqliteStore::ReaderLease> SqliteStore::acquire_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (readers_closed_) {
      return Errc::unavailable;
    }
    if (!idle_readers_.empty()) {
      Connection* conn = idle_readers_.back().release();
      idle_readers_.pop_back();
      return ReaderLease(conn, ReaderReturn{this});
    }
  }
  int rc = SQLITE_OK;
  std::unique_ptr<Connection> conn = Connection::open(db_path_, kReaderFlags, rc);
  if (!conn) {
    return Errc::unavailable;
  }
  return ReaderLease(conn.release(), ReaderReturn{this});
}

void SqliteStore::return_reader(Connection* conn) noexcept {
  std::unique_ptr<Connection> owned(conn);
  if (!owned) {
    return;
  }
  if (!owned->autocommit()) {
    owned->exec(kRollback);
  }
  std::lock_guard lock(readers_mutex_);
  if (!readers_closed_ && idle_readers_.size() < kMaxIdleReaders) {
    try {
      idle_readers_.push_back(std::move(owned));
    } catch (...) {
      // Out of memory: just close this connection.
    }
  }
}

void SqliteStore::close_readers() noexcept {
  std::vector<std::unique_ptr<Connection>> idle;
  {
    std::lock_guard lock(readers_mutex_);
    readers_closed_ = true;
    idle.swap(idle_readers_);
  }
}

Result<std::optional<Record>> SqliteStore::get(const std::string& kind, const std::string& id) {
  try {
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    int rc = SQLITE_OK;
    Statement stmt = (*reader)->prepare(kSelectRecord, rc);
    if (rc != SQLITE_OK || bind_all(stmt, kind, id) != SQLITE_OK) {
      return Errc::unavailable;
    }
    rc = stmt.step();
    if (rc == SQLITE_DONE) {
      return std::optional<Record>();
    }
    if (rc != SQLITE_ROW) {
      return Errc::unavailable;
    }
    Record record;
    record.kind = kind;
    record.id = id;
    record.body = stmt.column_blob(0);
    record.updated_at_ms = stmt.column_int64(1);
    return std::optional<Record>(std::move(record));
  } catch (...) {
    return Errc::internal;
  }
}

Result<std::vector<Record>> SqliteStore::list(const std::string& kind) {
  try {
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    int rc = SQLITE_OK;
    Statement stmt = (*reader)->prepare(kSelectRecords, rc);
    if (rc != SQLITE_OK || bind_all(stmt, kind) != SQLITE_OK) {
      return Errc::unavailable;
    }
    std::vector<Record> records;
    while ((rc = stmt.step()) == SQLITE_ROW) {
      Record record;
      record.kind = kind;
      record.id = stmt.column_text(0);
      record.body = stmt.column_blob(1);
      record.updated_at_ms = stmt.column_int64(2);
      records.push_back(std::move(record));
    }
    if (rc != SQLITE_DONE) {
      return Errc::unavailable;
    }
    return records;
  } catch (...) {
    return Errc::internal;
  }
}

Result<std::vector<StoredEvent>> SqliteStore::events_after(std::int64_t after_seq,
                                                           const std::string& stream_key,
                                                           std::size_t limit) {
  try {
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    std::vector<StoredEvent> events;
    if (read_events(**reader, after_seq, stream_key, limit, events) != SQLITE_DONE) {
      return Errc::unavailable;
    }
    return events;
  } catch (...) {
    return Errc::internal;
  }
}

Result<std::vector<StoredEvent>> SqliteStore::events_for(
    std::int64_t after_seq, const std::vector<std::string>& stream_keys, std::size_t limit) {
  try {
    std::vector<StoredEvent> events;
    if (stream_keys.empty() || limit == 0) {
      return events;
    }
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    Connection& db = **reader;
    // One snapshot for every stream: a merge of reads taken at different moments could skip an
    // event committed between them.
    ReadTransaction read_tx(db);
    if (db.exec(kBeginRead) != SQLITE_OK) {
      return Errc::unavailable;
    }
    for (const std::string& key : stream_keys) {
      // An empty key would read every stream.
      if (key.empty()) {
        continue;
      }
      if (read_events(db, after_seq, key, limit, events) != SQLITE_DONE) {
        return Errc::unavailable;
      }
    }
    // Each stream's rows came in seq order; together, the first `limit` of them (a key named
    // twice gave its rows twice: a seq is one row).
    std::sort(events.begin(), events.end(),
              [](const StoredEvent& a, const StoredEvent& b) { return a.seq < b.seq; });
    events.erase(
        std::unique(events.begin(), events.end(),
                    [](const StoredEvent& a, const StoredEvent& b) { return a.seq == b.seq; }),
        events.end());
    if (events.size() > limit) {
      events.resize(limit);
    }
    return events;
  } catch (...) {
    return Errc::internal;
  }
}

int SqliteStore::read_events(Connection& db, std::int64_t after_seq, const std::string& stream_key,
                             std::size_t limit, std::vector<StoredEvent>& out) {
  const std::int64_t max_rows = clamp_limit(limit);
  if (!stream_key.empty() && schema_version_ >= kBucketedStreamsVersion) {
    return read_stream_buckets(db, after_seq, stream_key, max_rows, out);
  }
  int rc = SQLITE_OK;
  Statement stmt;
  const bool shared = schema_version_ >= kSharedPayloadsVersion;
  if (stream_key.empty()) {
    stmt = db.prepare(shared ? kSelectEvents : kSelectEventsV2, rc);
    if (rc == SQLITE_OK) {
      rc = bind_all(stmt, after_seq, max_rows);
    }
  } else {
    stmt = db.prepare(shared ? kSelectStreamEvents : kSelectStreamEventsV2, rc);
    if (rc == SQLITE_OK) {
      rc = bind_all(stmt, stream_key, after_seq, max_rows);
    }
  }
  if (rc != SQLITE_OK) {
    return rc;
  }
  return read_event_rows(stmt, out);
}

int SqliteStore::read_stream_buckets(Connection& db, std::int64_t after_seq,
                                     const std::string& stream_key, std::int64_t max_rows,
                                     std::vector<StoredEvent>& out) {
  // Up to the newest seq now: one committed later has a higher seq and is read by the next
  // call, which starts after the last seq this one returned.
  int rc = SQLITE_OK;
  Statement newest = db.prepare(kSelectNewestSeq, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = newest.step();
  if (rc != SQLITE_ROW) {
    return rc;
  }
  const std::int64_t last = newest.column_int64(0);
  const std::int64_t after = std::max<std::int64_t>(after_seq, 0);
  if (after >= last) {
    return SQLITE_DONE;
  }
  std::int64_t left = max_rows;
  for (std::int64_t bucket = (after + 1) >> kStreamBucketBits;
       left > 0 && bucket <= (last >> kStreamBucketBits); ++bucket) {
    // The connection's cached statement, reset and unbound by the previous bucket's.
    Statement stmt = db.prepare(kSelectStreamBucketEvents, rc);
    if (rc == SQLITE_OK) {
      rc = bind_all(stmt, bucket, stream_key, after, left);
    }
    if (rc != SQLITE_OK) {
      return rc;
    }
    const std::size_t before = out.size();
    rc = read_event_rows(stmt, out);
    if (rc != SQLITE_DONE) {
      return rc;
    }
    left -= static_cast<std::int64_t>(out.size() - before);
  }
  return SQLITE_DONE;
}

int SqliteStore::read_event_rows(Statement& stmt, std::vector<StoredEvent>& out) {
  int rc = SQLITE_OK;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    StoredEvent event;
    event.seq = stmt.column_int64(0);
    event.type = stmt.column_text(1);
    event.stream_key = stmt.column_text(2);
    event.payload = stmt.column_blob(3);
    event.at_ms = stmt.column_int64(4);
    event.content_seq = stmt.column_int64(5);
    out.push_back(std::move(event));
  }
  return rc;
}

Result<std::vector<AuditEntry>> SqliteStore::audit_range(std::int64_t from_ms, std::int64_t to_ms,
                                                         std::size_t limit) {
  try {
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    int rc = SQLITE_OK;
    Statement stmt = (*reader)->prepare(kSelectAuditRange, rc);
    if (rc != SQLITE_OK || bind_all(stmt, from_ms, to_ms, clamp_limit(limit)) != SQLITE_OK) {
      return Errc::unavailable;
    }
    std::vector<AuditEntry> entries;
    while ((rc = stmt.step()) == SQLITE_ROW) {
      entries.push_back(read_audit_row(stmt));
    }
    if (rc != SQLITE_DONE) {
      return Errc::unavailable;
    }
    return entries;
  } catch (...) {
    return Errc::internal;
  }
}

Result<AuditVerifyResult> SqliteStore::verify_audit() {
  try {
    Result<ReaderLease> reader = acquire_reader();
    if (!reader) {
      return reader.error();
    }
    Connection& db = **reader;
    // One read transaction: the rows and the head come from the same snapshot.
    ReadTransaction read_tx(db);
    if (db.exec(kBeginRead) != SQLITE_OK) {
      return Errc::unavailable;
    }
    int rc = SQLITE_OK;
    bool have_head = false;
    std::int64_t head_seq = 0;
    std::string head_hash;
    {
      Statement head = db.prepare(kSelectAuditHead, rc);
      if (rc != SQLITE_OK) {
        return Errc::unavailable;
      }
      rc = head.step();
      if (rc == SQLITE_ROW) {
        have_head = true;
        head_seq = head.column_int64(0);
        head_hash = head.column_text(1);
      } else if (rc != SQLITE_DONE) {
        return Errc::unavailable;
      }
    }

    AuditVerifyResult result;
    std::int64_t expected_seq = 1;
    std::string prev_hash(kGenesisHash);
    Statement rows = db.prepare(kSelectAuditAll, rc);
    if (rc != SQLITE_OK) {
      return Errc::unavailable;
    }
    while ((rc = rows.step()) == SQLITE_ROW) {
      ++result.entries;
      if (result.first_bad_seq != 0) {
        continue;  // keep counting entries
      }
      const AuditEntry entry = read_audit_row(rows);
      if (entry.seq != expected_seq) {
        // A deleted row leaves a gap (reported at the missing seq); an inserted one a repeat.
        result.first_bad_seq = std::min(entry.seq, expected_seq);
      } else if (entry.prev_hash != prev_hash || audit_chain_hash(prev_hash, entry) != entry.hash) {
        result.first_bad_seq = entry.seq;
      } else {
        prev_hash = entry.hash;
        ++expected_seq;
      }
    }
    if (rc != SQLITE_DONE) {
      return Errc::unavailable;
    }
    const std::int64_t last_seq = expected_seq - 1;
    if (result.first_bad_seq == 0) {
      // The head records the tail of the chain: rows cut off the end are detected too.
      if (!have_head) {
        result.first_bad_seq = last_seq + 1;
      } else if (head_seq != last_seq || head_hash != prev_hash) {
        result.first_bad_seq = std::min(head_seq, last_seq) + 1;
      }
    }
    result.ok = result.first_bad_seq == 0;
    return result;
  } catch (...) {
    return Errc::internal;
  }
}

// ---------------------------------------------------------------------------------------------
// Writes

void SqliteStore::commit(Transaction tx, CommitHandler done) {
  Pending pending{std::move(tx), std::move(done)};
  bool queued = false;
  try {
    std::lock_guard lock(queue_mutex_);
    if (accepting_) {
      queue_.push_back(std::move(pending));
      queued = true;
    }
  } catch (...) {
    // Out of memory: `pending` is intact (the strong guarantee of push_back); refuse below.
  }
  if (!queued) {
    invoke(pending.done, Errc::unavailable);
    return;
  }
  queue_cv_.notify_one();
}

void SqliteStore::writer_loop() noexcept {
  // Named for top(1) and debuggers; at most 15 characters.
  pthread_setname_np(pthread_self(), "oshin-db-writer");
  const std::size_t max_batch = std::max<std::size_t>(options_.max_batch, 1);
  std::vector<Pending> batch;
  for (;;) {
    try {
      {
        std::unique_lock lock(queue_mutex_);
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
          return;  // stopping and drained
        }
        const std::size_t take = std::min(max_batch, queue_.size());
        batch.reserve(take);
        for (std::size_t i = 0; i < take; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      run_batch(batch);
    } catch (...) {
      // Only allocation can throw here, and never after COMMIT: undo the batch, resync the
      // cached tails from the file, and report nothing as committed.
      try {
        if (!writer_db_->autocommit() && writer_db_->exec(kRollback) != SQLITE_OK) {
          enter_read_only();
        } else if (!load_chain_state()) {
          enter_read_only();
        }
      } catch (...) {
        enter_read_only();
      }
      std::vector<Result<CommitResult>> failed;
      try {
        failed.assign(batch.size(), Result<CommitResult>(Errc::internal));
        complete(batch, failed);
      } catch (...) {
        for (Pending& pending : batch) {
          invoke(pending.done, Errc::internal);
        }
      }
    }
    batch.clear();
  }
}

void SqliteStore::complete(std::vector<Pending>& batch,
                           std::vector<Result<CommitResult>>& results) noexcept {
  std::size_t handed = 0;
  try {
    {
      std::lock_guard lock(completions_mutex_);
      for (; handed < batch.size(); ++handed) {
        // emplace_back allocates before it moves from its arguments: if it throws, this
        // handler is still in the batch.
        completions_.emplace_back(std::move(batch[handed].done), std::move(results[handed]),
                                  std::move(batch[handed].tx));
      }
    }
    completions_cv_.notify_one();
  } catch (...) {
    // Out of memory: whatever was not handed over runs here, still exactly once (after the
    // ones handed over only if the completion thread gets to them first; an allocation failure
    // here is the one case where order is not kept).
    completions_cv_.notify_one();
    for (std::size_t i = handed; i < batch.size(); ++i) {
      invoke(batch[i].done, std::move(results[i]));
    }
  }
  // Nothing left to report: clear so the writer loop's failure path cannot call twice.
  batch.clear();
}

void SqliteStore::completion_loop() noexcept {
  pthread_setname_np(pthread_self(), "oshin-db-done");
  std::deque<Completion> ready;
  for (;;) {
    {
      std::unique_lock lock(completions_mutex_);
      completions_cv_.wait(lock, [this] { return writer_done_ || !completions_.empty(); });
      if (completions_.empty()) {
        return;  // the writer has stopped and every handler has run
      }
      ready.swap(completions_);
    }
    for (Completion& c : ready) {
      invoke(c.done, std::move(c.result));
    }
    ready.clear();
  }
}

// WAL frames after which the checkpointer copies the WAL into the database file (SQLite's
// default automatic checkpoint threshold), and again after each this many more.
constexpr int kCheckpointFrames = 1000;

int SqliteStore::on_wal_commit(void* self, sqlite3* /*db*/, const char* /*name*/,
                               int frames) noexcept {
  // On the writer thread, inside COMMIT: only wake the checkpointer. Not after every commit once
  // the WAL is long (it stays long under steady writes until a RESTART): each checkpoint syncs
  // the database file, and a sync after every commit competes with the commits' own syncs for
  // the disk. `frames` falls when the WAL has started over.
  auto* store = static_cast<SqliteStore*>(self);
  if (frames < store->checkpoint_woken_at_) {
    store->checkpoint_woken_at_ = 0;
  }
  // Past the restart length, though, after every commit: a RESTART gives up when it cannot get
  // in between the writer's commits within its short wait, and must then be tried again soon.
  const bool restart_due = static_cast<std::size_t>(frames) >= restart_frames(store->options_);
  if (frames >= kCheckpointFrames &&
      (restart_due || frames - store->checkpoint_woken_at_ >= kCheckpointFrames)) {
    store->checkpoint_woken_at_ = frames;
    {
      std::lock_guard lock(store->checkpoint_mutex_);
      store->checkpoint_wanted_ = true;
    }
    store->checkpoint_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteStore::checkpoint_loop() noexcept {
  pthread_setname_np(pthread_self(), "oshin-db-ckpt");
  for (;;) {
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_cv_.wait(lock, [this] { return checkpoint_stop_ || checkpoint_wanted_; });
      if (checkpoint_stop_) {
        return;
      }
      checkpoint_wanted_ = false;
    }
    // PASSIVE: copies what no reader still needs, never blocks the writer or readers. A failure
    // (busy, or an I/O error on the database file) leaves the frames in the WAL, which stays
    // synced and is tried again after the next commits; SQLite's automatic checkpoint ignored
    // its errors the same way.
    int wal_frames = 0;
    int copied = 0;
    sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                              &wal_frames, &copied);
    notify_checkpoint(false);
    // The writer appends while PASSIVE copies, so under steady load the WAL is never wholly
    // copied and never starts over: it grew by every page ever committed (570 MB after 3,000
    // visits of the benchmark). Once it is long, RESTART copies the few frames PASSIVE left
    // and waits for readers to leave the WAL, holding new writes back meanwhile, so that the
    // next commit writes from the start of the file (truncated to journal_size_limit). The
    // connection's short busy timeout bounds that pause; a busy result just tries again later.
    if (wal_frames >= 0 && static_cast<std::size_t>(wal_frames) >= restart_frames(options_)) {
      attempt_restart();
    }
  }
}

void SqliteStore::attempt_restart() noexcept {
  // The writer starts no new batch while the flag is up (let_restart_in), so the RESTART waits
  // at most for the batch in progress; without that it polled for a gap between back-to-back
  // commits and, when the disk synced fast, found none for tens of megabytes of WAL.
  {
    std::lock_guard lock(checkpoint_mutex_);
    restart_attempt_.store(true);
  }
  int wal_frames = 0;
  int copied = 0;
  sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, SQLITE_CHECKPOINT_RESTART,
                            &wal_frames, &copied);
  {
    std::lock_guard lock(checkpoint_mutex_);
    restart_attempt_.store(false);
  }
  restart_cv_.notify_all();
  notify_checkpoint(true);
}

void SqliteStore::let_restart_in() noexcept {
  if (!restart_attempt_.load()) {
    return;
  }
  // Bounded: the RESTART gives up after its busy timeout (for the last batch, then readers)
  // and copies what PASSIVE left, a few milliseconds; past this the batch goes ahead and its
  // BEGIN IMMEDIATE waits for the lock like any writer.
  constexpr auto kMaxWait = std::chrono::milliseconds(4 * kRestartWaitMs);
  std::unique_lock lock(checkpoint_mutex_);
  restart_cv_.wait_for(lock, kMaxWait, [this] { return !restart_attempt_.load(); });
}

void SqliteStore::stop_checkpointer() noexcept {
  if (checkpointer_.joinable()) {
    {
      std::lock_guard lock(checkpoint_mutex_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }
  checkpoint_db_.reset();
}

void SqliteStore::enter_read_only() noexcept {
  failed_.store(true);
}

void SqliteStore::notify_checkpoint(bool restart) noexcept {
  if (!options_.observer.on_checkpoint) {
    return;
  }
  try {
    options_.observer.on_checkpoint(restart);
  } catch (...) {
    // Metrics must never affect checkpoints.
  }
}

void SqliteStore::notify_observer(std::chrono::nanoseconds elapsed,
                                  std::size_t transactions) noexcept {
  if (!options_.observer.on_commit) {
    return;
  }
  try {
    options_.observer.on_commit(elapsed, transactions);
  } catch (...) {
    // Metrics must never affect commits.
  }
}

void SqliteStore::run_batch(std::vector<Pending>& batch) {
  std::vector<Result<CommitResult>> results(batch.size(), Result<CommitResult>(Errc::unavailable));
  const auto finish = [&] { complete(batch, results); };
  if (failed_.load()) {
    finish();
    return;
  }

  let_restart_in();
  Connection& db = *writer_db_;
  const auto started = std::chrono::steady_clock::now();
  const ChainState batch_start = chain_;
  int batch_rc = db.run(kBeginImmediate);
  if (batch_rc == SQLITE_OK) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const ChainState tx_start = chain_;
      int rc = db.run(kSavepoint);
      CommitResult out;
      if (rc == SQLITE_OK) {
        rc = apply_transaction(batch[i].tx, out);
      }
      if (rc == SQLITE_OK) {
        rc = db.run(kRelease);
        if (rc == SQLITE_OK) {
          results[i] = std::move(out);
          continue;
        }
      }
      const Errc tx_error = map_sqlite_error(rc);
      const bool tx_only =
          (tx_error == Errc::already_exists || tx_error == Errc::invalid_argument) &&
          !db.autocommit();
      if (tx_only && db.run(kRollbackTo) == SQLITE_OK && db.run(kRelease) == SQLITE_OK) {
        // This transaction alone fails; the rest of the batch goes on.
        chain_ = tx_start;
        results[i] = tx_error;
        continue;
      }
      batch_rc = rc;
      break;
    }
  }
  if (batch_rc == SQLITE_OK) {
    batch_rc = db.run(kCommit);
    if (batch_rc == SQLITE_OK) {
      notify_observer(std::chrono::steady_clock::now() - started, batch.size());
      finish();
      return;
    }
  }

  // The whole batch failed: undo it, and never report any of it as committed.
  chain_ = batch_start;
  bool rolled_back = db.autocommit();
  if (!rolled_back) {
    rolled_back = db.run(kRollback) == SQLITE_OK;
  }
  if (!rolled_back || is_fatal_io_error(batch_rc)) {
    // The file's state is in doubt: stop writing rather than risk acknowledging a lost write.
    enter_read_only();
  }
  const Errc error =
      map_sqlite_error(batch_rc) == Errc::storage_full ? Errc::storage_full : Errc::unavailable;
  for (Result<CommitResult>& result : results) {
    result = error;
  }
  finish();
}

int SqliteStore::apply_transaction(const Transaction& tx, CommitResult& out) {
  shared_payload_ = nullptr;
  for (const Mutation& mutation : tx.mutations) {
    const int rc = std::visit(
        [&](const auto& m) -> int {
          using M = std::decay_t<decltype(m)>;
          if constexpr (std::is_same_v<M, AppendEvent> || std::is_same_v<M, AppendAudit>) {
            return apply(m, out);
          } else {
            return apply(m);
          }
        },
        mutation);
    if (rc != SQLITE_OK) {
      return rc;
    }
  }
  return SQLITE_OK;
}

int SqliteStore::apply(const PutRecord& put) {
  int rc = SQLITE_OK;
  Statement stmt = writer_db_->prepare(put.must_not_exist ? kInsertRecord : kUpsertRecord, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  const Record& record = put.record;
  rc = bind_all(stmt, record.kind, record.id, Blob{record.body}, put.unique_key,
                record.updated_at_ms);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = stmt.step();
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int SqliteStore::apply(const EraseRecord& erase) {
  int rc = SQLITE_OK;
  Statement stmt = writer_db_->prepare(kDeleteRecord, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = bind_all(stmt, erase.kind, erase.id);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = stmt.step();
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int SqliteStore::apply(const AppendEvent& event, CommitResult& out) {
  int rc = SQLITE_OK;
  Statement stmt = writer_db_->prepare(kInsertEvent, rc);
  if (rc != SQLITE_OK) {
    return rc;
  }
  const std::int64_t seq = chain_.last_event_seq + 1;
  // The same event appended to the next recipient's stream (same payload, another stream):
  // point at the row that holds the payload instead of storing it again.
  const bool same_as_previous = shared_payload_ != nullptr && !event.payload.empty() &&
                                event.stream_key != shared_payload_->stream_key &&
                                event.payload == shared_payload_->payload;
  std::optional<std::int64_t> payload_seq;
  if (same_as_previous) {
    payload_seq = shared_payload_seq_;
  }
  rc = bind_all(stmt, seq, event.type, event.stream_key,
                Blob{same_as_previous ? std::string_view() : std::string_view(event.payload)},
                event.at_ms, payload_seq);
  if (rc != SQLITE_OK) {
    return rc;
  }
  rc = stmt.step();
  if (rc != SQLITE_DONE) {
    return rc;
  }
  if (!same_as_previous) {
    shared_payload_ = &event;
    shared_payload_seq_ = seq;
  }
  chain_.last_event_seq = seq;
  out.event_seqs.push_back(seq);
  return SQLITE_OK;
}

int SqliteStore::apply(const AppendAudit& audit, CommitResult& out) {
  AuditEntry entry = audit.entry;
  entry.seq = chain_.last_audit_seq + 1;
  entry.prev_hash = chain_.last_audit_hash;
  entry.hash = audit_chain_hash(entry.prev_hash, entry);
  if (entry.hash.empty()) {
    return SQLITE_ERROR;  // the hash could not be computed (OpenSSL failure)
  }
  int rc = SQLITE_OK;
  {
    Statement stmt = writer_db_->prepare(kInsertAudit, rc);
    if (rc != SQLITE_OK) {
      return rc;
    }
    rc = bind_all(stmt, entry.seq, entry.at_ms, entry.actor_id, entry.actor_role, entry.action,
                  entry.patient_id, entry.visit_id, entry.outcome, entry.request_id, entry.detail,
                  entry.prev_hash, entry.hash);
    if (rc != SQLITE_OK) {
      return rc;
    }
    rc = stmt.step();
    if (rc != SQLITE_DONE) {
      return rc;
    }
  }
  {
    Statement head = writer_db_->prepare(kUpsertAuditHead, rc);
    if (rc != SQLITE_OK) {
      return rc;
    }
    rc = bind_all(head, entry.seq, entry.hash);
    if (rc != SQLITE_OK) {
      return rc;
    }
    rc = head.step();
    if (rc != SQLITE_DONE) {
      return rc;
    }
  }
  chain_.last_audit_seq = entry.seq;
  chain_.last_audit_hash = std::move(entry.hash);
  out.audit_seqs.push_back(chain_.last_audit_seq);
  return SQLITE_OK;
}

}  // namespace detail

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  return detail::SqliteStore::open(options);
}

}  // namespace oshin::storage
