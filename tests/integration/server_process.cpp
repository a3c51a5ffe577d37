#include "server_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>

#ifndef OSHIN_SERVER_PATH
#error "OSHIN_SERVER_PATH must name the oshin-server binary"
#endif

namespace oshin::testing {

TempDir::TempDir() {
  std::random_device rd;
  auto base = std::filesystem::temp_directory_path();
  for (int i = 0; i < 100; ++i) {
    auto p = base / ("oshin-test-" + std::to_string(rd()));
    std::error_code ec;
    if (std::filesystem::create_directory(p, ec)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temp dir");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

std::string read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

std::string thread_report(pid_t pid) {
  std::string report;
  std::error_code ec;
  auto tasks = std::filesystem::path("/proc") / std::to_string(pid) / "task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    // stat's third field is the state (R, S, D, Z...); wchan names the kernel wait, syscall the
    // system call the thread is blocked in (its number first).
    std::string stat = read_small_file(task.path() / "stat");
    auto close = stat.rfind(')');
    std::string state = close == std::string::npos ? "?" : stat.substr(close + 2, 1);
    report += "  " + task.path().filename().string() + " " + read_small_file(task.path() / "comm") +
              " state " + state + " wchan " + read_small_file(task.path() / "wchan") + " syscall " +
              read_small_file(task.path() / "syscall") + "\n";
  }
  return report;
}

ServerProcess::ServerProcess(Options options) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<std::string> args{options.binary.empty() ? std::string(OSHIN_SERVER_PATH)
                                                       : options.binary};
  args.insert(args.end(), options.args.begin(), options.args.end());
  std::vector<std::string> env{"PATH=/usr/bin:/bin", "TZ=UTC"};
  if (options.inherit_admin_password) {
    env.emplace_back(std::string("OSHIN_ADMIN_PASSWORD=") + kAdminPassword);
  }
  for (const auto& [k, v] : options.env) {
    env.push_back(k + "=" + v);
  }
  // Sanitizer settings pass through so sanitized builds report from the child too.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) {
      env.push_back(std::string(name) + "=" + v);
    }
  }
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    // A test process that dies (a crash, an abort) takes its server with it.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
      _exit(127);
    }
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0], close_early = options.close_output_after_listening] {
    reader_loop(fd, close_early);
  });
}

ServerProcess::~ServerProcess() {
  {
    std::unique_lock lock(mutex_);
    if (!exit_code_) {
      lock.unlock();
      kill_hard();
      wait_exit(std::chrono::seconds(10));
    }
  }
  if (reader_.joinable()) {
    reader_.join();
  }
}

void ServerProcess::reader_loop(int fd, bool close_after_listening) {
  char buf[4096];
  bool early = false;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    std::lock_guard lock(mutex_);
    output_.append(buf, static_cast<std::size_t>(n));
    cv_.notify_all();
    if (close_after_listening && output_.find("listening on ") != std::string::npos &&
        output_.find('\n', output_.find("listening on ")) != std::string::npos) {
      early = true;
      break;
    }
  }
  close(fd);
  std::lock_guard lock(mutex_);
  eof_ = true;
  closed_early_ = early;
  cv_.notify_all();
}

std::optional<unsigned short> ServerProcess::wait_listening(std::chrono::milliseconds deadline) {
  static const std::string kNeedle = "listening on ";
  std::unique_lock lock(mutex_);
  std::optional<unsigned short> port;
  cv_.wait_for(lock, deadline, [&] {
    auto pos = output_.find(kNeedle);
    if (pos != std::string::npos) {
      auto eol = output_.find('\n', pos);
      if (eol != std::string::npos) {
        auto line = output_.substr(pos + kNeedle.size(), eol - pos - kNeedle.size());
        // HOST:PORT ends at the first space (a TLS server adds " (https://...)").
        line = line.substr(0, line.find(' '));
        auto colon = line.rfind(':');
        if (colon != std::string::npos) {
          port = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
          return true;
        }
      }
    }
    return eof_;
  });
  return port;
}

bool ServerProcess::wait_output(const std::string& text, std::chrono::milliseconds deadline) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, deadline, [&] {
    return output_.find(text) != std::string::npos || eof_;
  }) && output_.find(text) != std::string::npos;
}

std::optional<int> ServerProcess::wait_exit(std::chrono::milliseconds deadline) {
  {
    std::lock_guard lock(mutex_);
    if (exit_code_) {
      return exit_code_;
    }
  }
  auto until = std::chrono::steady_clock::now() + deadline;
  // waitpid has no timeout: poll the child with WNOHANG, waiting on the output pipe's EOF
  // (which comes when the child exits) between polls.
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      std::lock_guard lock(mutex_);
      exit_code_ = code;
      return code;
    }
    if (std::chrono::steady_clock::now() >= until) {
      // Say where the server is stuck, for the log of a run that cannot be repeated at will.
      std::cerr << "server pid " << pid_ << " did not exit in "
                << std::chrono::duration_cast<std::chrono::milliseconds>(deadline).count()
                << " ms; its threads:\n"
                << thread_report(pid_) << "its output:\n"
                << output() << "\n";
      return std::nullopt;
    }
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return eof_ && !closed_early_; });
  }
}

void ServerProcess::kill_hard() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
  }
}

void ServerProcess::terminate() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
  }
}

std::string ServerProcess::output() const {
  std::lock_guard lock(mutex_);
  return output_;
}

RunningServer start_server(const std::filesystem::path& data_dir,
                           std::vector<std::string> extra_args,
                           std::map<std::string, std::string> env) {
  ServerProcess::Options o;
  o.args = {"--listen", "127.0.0.1:0", "--data-dir", data_dir.string()};
  o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
  o.env = std::move(env);
  RunningServer s;
  s.process = std::make_unique<ServerProcess>(std::move(o));
  auto port = s.process->wait_listening();
  if (!port) {
    throw std::runtime_error("server did not start:\n" + s.process->output());
  }
  s.port = *port;
  return s;
}

}  // namespace oshin::testing
