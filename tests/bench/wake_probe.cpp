// Baseline for the server's thread hand-offs: how long one thread takes to wake another through
// a mutex and condition variable (what the store's queues use; Asio's scheduler wakes its threads
// the same way, through a futex) and to be woken back. A POST's way to the doctor's socket passes
// several such hand-offs (I/O thread → visit strand → store writer → completion thread → I/O
// thread), so their cost is part of the machine's own limits, like the fdatasync rate.
//
// Two cases, each as the median and p99 of a round trip (ping, then pong):
// - busy: back to back, so the other thread has just gone to sleep when it is woken;
// - idle: the pinging thread first spins for 1 ms, so the other thread's CPU has gone idle (on a
//   virtual machine a halted virtual CPU must be woken by the host, which is the expensive part).
//
// Usage: oshin_wake_probe [ROUNDS]   prints {"wakeRoundTripBusyUs": N, ...} on stdout.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Percentiles {
  double p50 = 0;
  double p99 = 0;
};

Percentiles percentiles(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  // Nearest rank.
  const auto rank = [&](double q) {
    const auto k = static_cast<std::size_t>(q * static_cast<double>(us.size()) + 0.999999);
    return us[std::min(us.size(), std::max<std::size_t>(k, 1)) - 1];
  };
  return {rank(0.50), rank(0.99)};
}

// Round trips between this thread and a partner; `gap` spun before each one.
Percentiles measure(int rounds, std::chrono::microseconds gap) {
  std::mutex m;
  std::condition_variable cv;
  int turn = 0;  // 0: this thread's, 1: the partner's; guarded by m
  bool stop = false;
  std::thread partner([&] {
    std::unique_lock lock(m);
    for (;;) {
      cv.wait(lock, [&] { return turn == 1 || stop; });
      if (stop) {
        return;
      }
      turn = 0;
      cv.notify_all();
    }
  });
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(rounds));
  for (int i = 0; i < rounds; ++i) {
    for (const auto until = Clock::now() + gap; Clock::now() < until;) {
      // Busy, so that only the partner's CPU goes idle.
    }
    const auto start = Clock::now();
    std::unique_lock lock(m);
    turn = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return turn == 0; });
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  {
    std::lock_guard lock(m);
    stop = true;
  }
  cv.notify_all();
  partner.join();
  return percentiles(us);
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
  const Percentiles busy = measure(rounds * 5, std::chrono::microseconds(0));
  const Percentiles idle = measure(rounds, std::chrono::microseconds(1000));
  std::printf(
      "{\"wakeRoundTripBusyUs\": %.1f, \"wakeRoundTripBusyP99Us\": %.1f, "
      "\"wakeRoundTripIdleUs\": %.1f, \"wakeRoundTripIdleP99Us\": %.1f}\n",
      busy.p50, busy.p99, idle.p50, idle.p99);
  return 0;
}
