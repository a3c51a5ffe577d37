/* An LD_PRELOAD shim that injects storage faults into a real oshin-server process.
 *
 * Armed by a file appearing, so a test decides the moment without timing guesses:
 * - OSHIN_FAULT_FSYNC_EIO=PATH: once PATH exists, fsync, fdatasync and sync_file_range fail
 *   with EIO (and keep failing: a disk that lost a write does not come back by itself).
 * - OSHIN_FAULT_ENOSPC=PATH: while PATH exists, writes to regular files (write, pwrite,
 *   pwrite64, writev, pwritev, fallocate, posix_fallocate) fail with ENOSPC; removing PATH
 *   "frees the space". The fallback when the disk-full test cannot mount a small tmpfs.
 * Each injected failure is counted in OSHIN_FAULT_COUNT_FILE (when set) by appending one line,
 * so a test can prove the fault was actually hit. Nothing else changes: unarmed, every call goes
 * straight to libc. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int path_exists(const char* env_name) {
  const char* path = getenv(env_name);
  struct stat st;
  return path != NULL && path[0] != '\0' && stat(path, &st) == 0;
}

static void count_fault(const char* what) {
  const char* path = getenv("OSHIN_FAULT_COUNT_FILE");
  if (path == NULL || path[0] == '\0') {
    return;
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return;
  }
  static ssize_t (*real_write)(int, const void*, size_t) = NULL;
  if (real_write == NULL) {
    real_write = (ssize_t(*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  }
  size_t n = strlen(what);
  if (real_write != NULL && real_write(fd, what, n) == (ssize_t)n) {
    (void)real_write(fd, "\n", 1);
  }
  close(fd);
}

static int fsync_armed(const char* what) {
  if (!path_exists("OSHIN_FAULT_FSYNC_EIO")) {
    return 0;
  }
  count_fault(what);
  errno = EIO;
  return 1;
}

static int regular_file(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

static int disk_full(int fd, const char* what) {
  if (!path_exists("OSHIN_FAULT_ENOSPC") || !regular_file(fd)) {
    return 0;
  }
  count_fault(what); /* writes through libc directly, never through this wrapper */
  errno = ENOSPC;
  return 1;
}

/* The next definition of `name` (libc's), looked up once. */
#define REAL(name)                                            \
  static __typeof__(name)* real_##name = NULL;                \
  if (real_##name == NULL) {                                  \
    real_##name = (__typeof__(name)*)dlsym(RTLD_NEXT, #name); \
  }

int fsync(int fd) {
  REAL(fsync);
  if (fsync_armed("fsync")) {
    return -1;
  }
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  if (fsync_armed("fdatasync")) {
    return -1;
  }
  return real_fdatasync(fd);
}

int sync_file_range(int fd, off64_t offset, off64_t nbytes, unsigned int flags) {
  REAL(sync_file_range);
  if (fsync_armed("sync_file_range")) {
    return -1;
  }
  return real_sync_file_range(fd, offset, nbytes, flags);
}

ssize_t write(int fd, const void* buf, size_t count) {
  REAL(write);
  if (disk_full(fd, "write")) {
    return -1;
  }
  return real_write(fd, buf, count);
}

ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  REAL(pwrite);
  if (disk_full(fd, "pwrite")) {
    return -1;
  }
  return real_pwrite(fd, buf, count, offset);
}

ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  REAL(pwrite64);
  if (disk_full(fd, "pwrite64")) {
    return -1;
  }
  return real_pwrite64(fd, buf, count, offset);
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  REAL(writev);
  if (disk_full(fd, "writev")) {
    return -1;
  }
  return real_writev(fd, iov, iovcnt);
}

ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  REAL(pwritev);
  if (disk_full(fd, "pwritev")) {
    return -1;
  }
  return real_pwritev(fd, iov, iovcnt, offset);
}

int fallocate(int fd, int mode, off_t offset, off_t len) {
  REAL(fallocate);
  if (disk_full(fd, "fallocate")) {
    return -1;
  }
  return real_fallocate(fd, mode, offset, len);
}

int posix_fallocate(int fd, off_t offset, off_t len) {
  REAL(posix_fallocate);
  if (path_exists("OSHIN_FAULT_ENOSPC") && regular_file(fd)) {
    count_fault("posix_fallocate");
    return ENOSPC; /* posix_fallocate returns the error instead of setting errno */
  }
  return real_posix_fallocate(fd, offset, len);
}
