#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace oshin::testing {

/// A temporary directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// One line per thread of process `pid` (name, state, kernel wait channel, current system call),
/// read from /proc: what a test prints when a server does not stop in time.
std::string thread_report(pid_t pid);

/// The real oshin-server binary run as a child process, its stdout and stderr captured.
class ServerProcess {
 public:
  struct Options {
    std::vector<std::string> args;           ///< e.g. {"--listen", "127.0.0.1:0"}
    std::map<std::string, std::string> env;  ///< added to a minimal environment
    bool inherit_admin_password = true;      ///< sets OSHIN_ADMIN_PASSWORD=kAdminPassword
    /// Close the read end of the server's stdout once it is listening, as a log reader that
    /// goes away would (the server's next log write then fails with EPIPE).
    bool close_output_after_listening = false;
    /// Another server binary (the benchmark compares builds); empty: this tree's.
    std::string binary;
  };
  static constexpr const char* kAdminPassword = "admin-test-password-1";

  explicit ServerProcess(Options options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  /// Waits for the `listening on HOST:PORT` line; returns the port, nullopt when the process
  /// exited first or the deadline passed.
  std::optional<unsigned short> wait_listening(
      std::chrono::milliseconds deadline = std::chrono::seconds(30));
  /// Waits until some output line contains `text`.
  bool wait_output(const std::string& text,
                   std::chrono::milliseconds deadline = std::chrono::seconds(30));
  /// Waits for exit and returns the exit code (128 + signal when killed); nullopt on deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline = std::chrono::seconds(30));

  void kill_hard();  ///< SIGKILL
  void terminate();  ///< SIGTERM
  std::string output() const;
  int pid() const { return pid_; }

 private:
  void reader_loop(int fd, bool close_after_listening);
  void reap_locked_wait(std::chrono::milliseconds deadline);

  int pid_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string output_;
  bool eof_ = false;
  bool closed_early_ = false;  ///< the reader closed the pipe itself (not the child's exit)
  std::optional<int> exit_code_;
};

/// Starts a server on 127.0.0.1:0 with `data_dir` plus extra args, waits until it listens.
struct RunningServer {
  std::unique_ptr<ServerProcess> process;
  unsigned short port = 0;
};
RunningServer start_server(const std::filesystem::path& data_dir,
                           std::vector<std::string> extra_args = {},
                           std::map<std::string, std::string> env = {});

}  // namespace oshin::testing
