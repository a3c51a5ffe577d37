#pragma once

namespace oshin::storage::detail {

/// The name of a SQLite VFS that gathers the writes SQLite makes to a WAL file into one. SQLite
/// writes each WAL frame as two `pwrite`s (its 24-byte header, then its page), so a commit of
/// 40 pages was 80 system calls; through this VFS it is one per 124 KiB, issued when the file is
/// next synced, read, truncated, sized or closed, or when 8 MiB are pending. Every other file, and
/// every other operation on a WAL file, goes straight to the VFS that is SQLite's default at the
/// time the file is opened (so a test's fault-injecting default VFS still sees every write).
///
/// Only for a connection with `synchronous=FULL` (or EXTRA): readers in other connections see a
/// commit's frames only after its WAL sync, which is what writes the gathered frames; with
/// NORMAL a commit would be published to readers before its frames reached the file.
///
/// Registered (never as the default VFS) on the first call; nullptr if registration failed, in
/// which case the caller opens with the default VFS. Thread-safe.
const char* wal_write_batching_vfs() noexcept;

/// Writes handed to WAL files through the VFS, and writes it issued to the file below. For tests
/// and diagnostics; both only grow. Thread-safe.
struct WalBatchingCounts {
  long long writes_received = 0;
  long long writes_issued = 0;
};
WalBatchingCounts wal_batching_counts() noexcept;

}  // namespace oshin::storage::detail
