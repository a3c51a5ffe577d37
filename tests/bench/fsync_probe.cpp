// Baseline for "durable state changes per second": how many write + fdatasync pairs this disk
// completes per second, one after the other, in the directory given (the same file system as the
// server's data dir). Each iteration overwrites the next 4 KiB block of a preallocated 4 MiB file
// (as SQLite's WAL does once it has grown) and calls fdatasync().
//
// Usage: oshin_fsync_probe DIR [SECONDS]   prints {"fdatasyncPerSec": N, ...} on stdout.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIR [SECONDS]\n", argv[0]);
    return 2;
  }
  const std::string path = std::string(argv[1]) + "/fsync-probe.bin";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  constexpr std::size_t kBlock = 4096;
  constexpr std::size_t kBlocks = 1024;
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  std::vector<char> block(kBlock, 'x');
  for (std::size_t i = 0; i < kBlocks; ++i) {
    if (::write(fd, block.data(), kBlock) != static_cast<ssize_t>(kBlock)) {
      std::perror("write");
      return 1;
    }
  }
  if (::fsync(fd) != 0) {
    std::perror("fsync");
    return 1;
  }
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(seconds);
  std::size_t ops = 0;
  double worst_ms = 0;
  for (auto now = start; now < until;) {
    const auto off = static_cast<off_t>((ops % kBlocks) * kBlock);
    std::memset(block.data(), static_cast<int>('a' + ops % 26), 8);
    if (::pwrite(fd, block.data(), kBlock, off) != static_cast<ssize_t>(kBlock) ||
        ::fdatasync(fd) != 0) {
      std::perror("pwrite/fdatasync");
      return 1;
    }
    ++ops;
    const auto after = Clock::now();
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(after - now).count());
    now = after;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  std::printf("{\"fdatasyncPerSec\": %.1f, \"fdatasyncOps\": %zu, \"fdatasyncWorstMs\": %.3f}\n",
              static_cast<double>(ops) / elapsed, ops, worst_ms);
  return 0;
}
