// Disk faults: a shim VFS in front of SQLite's default one fails fsync (an I/O error) or writes
// (a full disk) on the WAL file on demand. Nothing may be reported committed that is not.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <string>

#include "store_test_support.hpp"

namespace oshin::storage::testing {
namespace {

std::atomic<bool> g_fail_wal_sync{false};
std::atomic<bool> g_fail_wal_write_full{false};
sqlite3_vfs* g_real_vfs = nullptr;
sqlite3_vfs g_fault_vfs{};

// Our file object followed, in the same allocation, by the real VFS's file object.
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real;
  bool is_wal;
};

FaultFile* as_fault(sqlite3_file* file) {
  return reinterpret_cast<FaultFile*>(file);
}
sqlite3_file* real_of(sqlite3_file* file) {
  return as_fault(file)->real;
}
const sqlite3_io_methods* methods_of(sqlite3_file* file) {
  return real_of(file)->pMethods;
}

int fault_close(sqlite3_file* f) {
  return methods_of(f)->xClose(real_of(f));
}
int fault_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  return methods_of(f)->xRead(real_of(f), buf, amount, offset);
}
int fault_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (as_fault(f)->is_wal && g_fail_wal_write_full.load()) {
    return SQLITE_FULL;
  }
  return methods_of(f)->xWrite(real_of(f), buf, amount, offset);
}
int fault_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return methods_of(f)->xTruncate(real_of(f), size);
}
int fault_sync(sqlite3_file* f, int flags) {
  if (as_fault(f)->is_wal && g_fail_wal_sync.load()) {
    return SQLITE_IOERR_FSYNC;
  }
  return methods_of(f)->xSync(real_of(f), flags);
}
int fault_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return methods_of(f)->xFileSize(real_of(f), size);
}
int fault_lock(sqlite3_file* f, int lock) {
  return methods_of(f)->xLock(real_of(f), lock);
}
int fault_unlock(sqlite3_file* f, int lock) {
  return methods_of(f)->xUnlock(real_of(f), lock);
}
int fault_check_reserved(sqlite3_file* f, int* out) {
  return methods_of(f)->xCheckReservedLock(real_of(f), out);
}
int fault_file_control(sqlite3_file* f, int op, void* arg) {
  return methods_of(f)->xFileControl(real_of(f), op, arg);
}
int fault_sector_size(sqlite3_file* f) {
  return methods_of(f)->xSectorSize(real_of(f));
}
int fault_device_characteristics(sqlite3_file* f) {
  return methods_of(f)->xDeviceCharacteristics(real_of(f));
}
int fault_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return methods_of(f)->xShmMap(real_of(f), page, size, extend, out);
}
int fault_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return methods_of(f)->xShmLock(real_of(f), offset, n, flags);
}
void fault_shm_barrier(sqlite3_file* f) {
  methods_of(f)->xShmBarrier(real_of(f));
}
int fault_shm_unmap(sqlite3_file* f, int delete_flag) {
  return methods_of(f)->xShmUnmap(real_of(f), delete_flag);
}
int fault_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  return methods_of(f)->xFetch(real_of(f), offset, amount, out);
}
int fault_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  return methods_of(f)->xUnfetch(real_of(f), offset, p);
}

const sqlite3_io_methods kFaultMethods = {
    3,
    fault_close,
    fault_read,
    fault_write,
    fault_truncate,
    fault_sync,
    fault_file_size,
    fault_lock,
    fault_unlock,
    fault_check_reserved,
    fault_file_control,
    fault_sector_size,
    fault_device_characteristics,
    fault_shm_map,
    fault_shm_lock,
    fault_shm_barrier,
    fault_shm_unmap,
    fault_fetch,
    fault_unfetch,
};

int fault_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  FaultFile* f = as_fault(file);
  f->real = static_cast<sqlite3_file*>(
      static_cast<void*>(static_cast<char*>(static_cast<void*>(file)) + sizeof(FaultFile)));
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = g_real_vfs->xOpen(g_real_vfs, name, f->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set; mirror the real file.
  f->base.pMethods = f->real->pMethods != nullptr ? &kFaultMethods : nullptr;
  return rc;
}
int fault_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real_vfs->xDelete(g_real_vfs, name, sync_dir);
}
int fault_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real_vfs->xAccess(g_real_vfs, name, flags, out);
}
int fault_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real_vfs->xFullPathname(g_real_vfs, name, size, out);
}

// Makes the shim SQLite's default VFS for the duration of a test.
class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_real_vfs = sqlite3_vfs_find(nullptr);
    ASSERT_NE(g_real_vfs, nullptr);
    ASSERT_GE(g_real_vfs->iVersion, 2);
    std::memcpy(&g_fault_vfs, g_real_vfs, sizeof(sqlite3_vfs));
    g_fault_vfs.pNext = nullptr;
    g_fault_vfs.zName = "oshin-fault";
    g_fault_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real_vfs->szOsFile;
    g_fault_vfs.xOpen = fault_open;
    g_fault_vfs.xDelete = fault_delete;
    g_fault_vfs.xAccess = fault_access;
    g_fault_vfs.xFullPathname = fault_full_pathname;
    ASSERT_EQ(sqlite3_vfs_register(&g_fault_vfs, 1), SQLITE_OK);
    g_fail_wal_sync = false;
    g_fail_wal_write_full = false;
    store_ = open_or_fail(options_in(dir_));
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    g_fail_wal_sync = false;
    g_fail_wal_write_full = false;
    if (store_) {
      store_->close();
    }
    store_.reset();
    sqlite3_vfs_register(g_real_vfs, 1);
    sqlite3_vfs_unregister(&g_fault_vfs);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(FaultInjectionTest, FsyncFailureOnCommitMakesTheStoreReadOnly) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({put("item", "before", "x"), audit("a", 1)})));
  EXPECT_TRUE(store_->writable());

  g_fail_wal_sync = true;
  auto failed = commit_and_wait(*store_, tx({put("item", "lost", "x"), audit("b", 2)}));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), make_error_code(Errc::unavailable));
  EXPECT_FALSE(store_->writable());

  // Even with the disk healthy again, the store refuses writes until reopened.
  g_fail_wal_sync = false;
  auto later = commit_and_wait(*store_, tx({put("item", "later", "x")}));
  ASSERT_FALSE(later);
  EXPECT_EQ(later.error(), make_error_code(Errc::unavailable));

  // Reads still work; what was acknowledged is there.
  auto before = store_->get("item", "before");
  ASSERT_TRUE(before);
  EXPECT_TRUE(before.value().has_value());
  auto lost = store_->get("item", "lost");
  ASSERT_TRUE(lost);
  EXPECT_FALSE(lost.value().has_value());

  store_->close();
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(store_->writable());
  auto reopened = store_->get("item", "before");
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened.value().has_value());
  auto verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
  EXPECT_TRUE(commit_and_wait(*store_, tx({put("item", "after", "x"), audit("c", 3)})));
  verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
}

TEST_F(FaultInjectionTest, FullDiskFailsTheBatchButNotTheStore) {
  ASSERT_TRUE(commit_and_wait(*store_, tx({event("t", "", "1"), audit("a", 1)})));

  g_fail_wal_write_full = true;
  auto full =
      commit_and_wait(*store_, tx({put("item", "big", "x"), event("t", "", "2"), audit("b", 2)}));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error(), make_error_code(Errc::storage_full));
  g_fail_wal_write_full = false;

  // Space came back: the store goes on, and the failed batch left no seq behind.
  EXPECT_TRUE(store_->writable());
  auto next = commit_and_wait(*store_, tx({event("t", "", "3"), audit("c", 3)}));
  ASSERT_TRUE(next);
  EXPECT_EQ(next.value().event_seqs, std::vector<std::int64_t>{2});
  EXPECT_EQ(next.value().audit_seqs, std::vector<std::int64_t>{2});
  auto big = store_->get("item", "big");
  ASSERT_TRUE(big);
  EXPECT_FALSE(big.value().has_value());
  auto verify = store_->verify_audit();
  ASSERT_TRUE(verify);
  EXPECT_TRUE(verify.value().ok);
  EXPECT_EQ(verify.value().entries, 2);
}

}  // namespace
}  // namespace oshin::storage::testing
