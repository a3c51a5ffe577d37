#include "wal_write_batching.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

namespace oshin::storage::detail {
namespace {

constexpr const char* kVfsName = "oshin-wal-batching";
// Pending bytes past which a write goes out at once (a large transaction's spilled pages).
constexpr std::size_t kMaxPending = std::size_t{8} << 20;
// The most one write below may carry: SQLite's unix VFS masks a write's length with 0x1ffff
// (its writes are pages), so a longer one would be cut short and reported as a full disk.
constexpr std::size_t kMaxWrite = 0x1F000;

std::atomic<long long> g_received{0};
std::atomic<long long> g_issued{0};

// What a WAL file has been given but not yet written: `bytes` belong at file offset `start`.
struct Pending {
  sqlite3_int64 start = 0;
  std::vector<char> bytes;
};

// Our file object. The file of the VFS below is a separate allocation (its size depends on
// which VFS is the default when the file is opened).
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  Pending* pending;  // WAL files only, else null
};

File* as_file(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}
sqlite3_file* real_of(sqlite3_file* f) {
  return as_file(f)->real;
}
const sqlite3_io_methods* below(sqlite3_file* f) {
  return real_of(f)->pMethods;
}

// Writes what is pending. On failure the pending bytes are dropped: SQLite rolls the
// transaction back and writes its frames again, and stale bytes must never reach the file later.
int flush(sqlite3_file* f) {
  Pending* p = as_file(f)->pending;
  if (p == nullptr || p->bytes.empty()) {
    return SQLITE_OK;
  }
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < p->bytes.size() && rc == SQLITE_OK;) {
    const std::size_t n = std::min(kMaxWrite, p->bytes.size() - done);
    rc = below(f)->xWrite(real_of(f), p->bytes.data() + done, static_cast<int>(n),
                          p->start + static_cast<sqlite3_int64>(done));
    g_issued.fetch_add(1, std::memory_order_relaxed);
    done += n;
  }
  p->bytes.clear();
  return rc;
}

int do_close(sqlite3_file* f) {
  // Nothing pending was synced, so nothing pending was committed: writing it is only tidy.
  flush(f);
  const int rc = below(f)->xClose(real_of(f));
  delete as_file(f)->pending;
  sqlite3_free(as_file(f)->real);
  as_file(f)->pending = nullptr;
  as_file(f)->real = nullptr;
  return rc;
}
int do_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (const int rc = flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return below(f)->xRead(real_of(f), buf, amount, offset);
}
int do_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  Pending* p = as_file(f)->pending;
  if (p == nullptr || amount <= 0) {
    return below(f)->xWrite(real_of(f), buf, amount, offset);
  }
  g_received.fetch_add(1, std::memory_order_relaxed);
  const auto n = static_cast<std::size_t>(amount);
  const char* bytes = static_cast<const char*>(buf);
  const auto end = p->start + static_cast<sqlite3_int64>(p->bytes.size());
  try {
    if (!p->bytes.empty() && offset >= p->start && offset + static_cast<sqlite3_int64>(n) <= end) {
      // A frame rewritten within the same transaction: in place.
      std::memcpy(p->bytes.data() + (offset - p->start), bytes, n);
      return SQLITE_OK;
    }
    if (!p->bytes.empty() && offset != end) {
      if (const int rc = flush(f); rc != SQLITE_OK) {
        return rc;
      }
    }
    if (p->bytes.empty()) {
      p->start = offset;
    }
    p->bytes.insert(p->bytes.end(), bytes, bytes + n);
  } catch (const std::bad_alloc&) {
    // Out of memory: write through, in order.
    if (const int rc = flush(f); rc != SQLITE_OK) {
      return rc;
    }
    return below(f)->xWrite(real_of(f), buf, amount, offset);
  }
  return p->bytes.size() >= kMaxPending ? flush(f) : SQLITE_OK;
}
int do_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return below(f)->xTruncate(real_of(f), size);
}
int do_sync(sqlite3_file* f, int flags) {
  if (const int rc = flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return below(f)->xSync(real_of(f), flags);
}
int do_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return below(f)->xFileSize(real_of(f), size);
}
int do_lock(sqlite3_file* f, int lock) {
  return below(f)->xLock(real_of(f), lock);
}
int do_unlock(sqlite3_file* f, int lock) {
  return below(f)->xUnlock(real_of(f), lock);
}
int do_check_reserved(sqlite3_file* f, int* out) {
  return below(f)->xCheckReservedLock(real_of(f), out);
}
int do_file_control(sqlite3_file* f, int op, void* arg) {
  return below(f)->xFileControl(real_of(f), op, arg);
}
int do_sector_size(sqlite3_file* f) {
  return below(f)->xSectorSize(real_of(f));
}
int do_device_characteristics(sqlite3_file* f) {
  return below(f)->xDeviceCharacteristics(real_of(f));
}
// Shared memory belongs to the database file; a VFS below of version 1 has none.
int do_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  if (below(f)->iVersion < 2) {
    return SQLITE_IOERR_SHMMAP;
  }
  return below(f)->xShmMap(real_of(f), page, size, extend, out);
}
int do_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  if (below(f)->iVersion < 2) {
    return SQLITE_IOERR_SHMLOCK;
  }
  return below(f)->xShmLock(real_of(f), offset, n, flags);
}
void do_shm_barrier(sqlite3_file* f) {
  if (below(f)->iVersion >= 2) {
    below(f)->xShmBarrier(real_of(f));
  }
}
int do_shm_unmap(sqlite3_file* f, int delete_flag) {
  if (below(f)->iVersion < 2) {
    return SQLITE_OK;
  }
  return below(f)->xShmUnmap(real_of(f), delete_flag);
}
// Memory-mapped reads would bypass what is pending: flush first.
int do_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;
  if (below(f)->iVersion < 3) {
    return SQLITE_OK;
  }
  if (const int rc = flush(f); rc != SQLITE_OK) {
    return rc;
  }
  return below(f)->xFetch(real_of(f), offset, amount, out);
}
int do_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  if (below(f)->iVersion < 3) {
    return SQLITE_OK;
  }
  return below(f)->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods kMethods = {
    3,
    do_close,
    do_read,
    do_write,
    do_truncate,
    do_sync,
    do_file_size,
    do_lock,
    do_unlock,
    do_check_reserved,
    do_file_control,
    do_sector_size,
    do_device_characteristics,
    do_shm_map,
    do_shm_lock,
    do_shm_barrier,
    do_shm_unmap,
    do_fetch,
    do_unfetch,
};

sqlite3_vfs g_vfs{};

// The VFS below: SQLite's default when asked (never this one, which is never the default).
sqlite3_vfs* below_vfs() {
  sqlite3_vfs* v = sqlite3_vfs_find(nullptr);
  return v == &g_vfs ? nullptr : v;
}

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = as_file(file);
  f->base.pMethods = nullptr;
  f->real = nullptr;
  f->pending = nullptr;
  sqlite3_vfs* vfs = below_vfs();
  if (vfs == nullptr) {
    return SQLITE_CANTOPEN;
  }
  f->real = static_cast<sqlite3_file*>(sqlite3_malloc(vfs->szOsFile));
  if (f->real == nullptr) {
    return SQLITE_NOMEM;
  }
  std::memset(f->real, 0, static_cast<std::size_t>(vfs->szOsFile));
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    f->pending = new (std::nothrow) Pending();
    if (f->pending == nullptr) {
      sqlite3_free(f->real);
      f->real = nullptr;
      return SQLITE_NOMEM;
    }
  }
  const int rc = vfs->xOpen(vfs, name, f->real, flags, out_flags);
  if (f->real->pMethods == nullptr) {
    // SQLite calls xClose only when pMethods is set: nothing to close below either.
    delete f->pending;
    f->pending = nullptr;
    sqlite3_free(f->real);
    f->real = nullptr;
    return rc == SQLITE_OK ? SQLITE_CANTOPEN : rc;
  }
  f->base.pMethods = &kMethods;
  return rc;
}
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xDelete(v, name, sync_dir) : SQLITE_IOERR_DELETE;
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xAccess(v, name, flags, out) : SQLITE_IOERR_ACCESS;
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xFullPathname(v, name, size, out) : SQLITE_CANTOPEN;
}
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xRandomness(v, size, out) : 0;
}
int vfs_sleep(sqlite3_vfs*, int microseconds) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xSleep(v, microseconds) : 0;
}
int vfs_current_time(sqlite3_vfs*, double* out) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xCurrentTime(v, out) : SQLITE_ERROR;
}
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
  sqlite3_vfs* v = below_vfs();
  return v ? v->xGetLastError(v, size, out) : 0;
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  sqlite3_vfs* v = below_vfs();
  if (v == nullptr) {
    return SQLITE_ERROR;
  }
  if (v->iVersion >= 2 && v->xCurrentTimeInt64 != nullptr) {
    return v->xCurrentTimeInt64(v, out);
  }
  double days = 0;
  const int rc = v->xCurrentTime(v, &days);
  *out = static_cast<sqlite3_int64>(days * 86'400'000.0);
  return rc;
}

}  // namespace

const char* wal_write_batching_vfs() noexcept {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
    if (base == nullptr) {
      return;
    }
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File));
    g_vfs.mxPathname = base->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.xOpen = vfs_open;
    g_vfs.xDelete = vfs_delete;
    g_vfs.xAccess = vfs_access;
    g_vfs.xFullPathname = vfs_full_pathname;
    // Extensions are never loaded through it.
    g_vfs.xDlOpen = nullptr;
    g_vfs.xDlError = nullptr;
    g_vfs.xDlSym = nullptr;
    g_vfs.xDlClose = nullptr;
    g_vfs.xRandomness = vfs_randomness;
    g_vfs.xSleep = vfs_sleep;
    g_vfs.xCurrentTime = vfs_current_time;
    g_vfs.xGetLastError = vfs_get_last_error;
    g_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    registered = sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
  });
  return registered ? kVfsName : nullptr;
}

WalBatchingCounts wal_batching_counts() noexcept {
  return {g_received.load(std::memory_order_relaxed), g_issued.load(std::memory_order_relaxed)};
}

}  // namespace oshin::storage::detail
