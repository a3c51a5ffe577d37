// A full disk under load (issue 7). The data dir is a small tmpfs (mounted here when the test
// runs as root and may mount; otherwise the LD_PRELOAD shim fails writes to regular files with
// ENOSPC, and the test says which ran). Writers post visits while a ballast file fills the disk:
// writes are answered 503 UNAVAILABLE and nothing else goes wrong (no 2xx that is lost, no 500,
// no dropped connection, no read-only store); reads that write nothing keep working; once the
// ballast is deleted writes succeed again without a restart; afterwards every 2xx is present,
// each refused request retried with its key makes one record, and SQLite's integrity check passes.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_support.hpp"
#include "night.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using bhttp::verb;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

/// A small tmpfs mounted on `dir` for the object's life (only when we may mount).
class TmpfsMount {
 public:
  static std::unique_ptr<TmpfsMount> try_mount(const std::filesystem::path& dir,
                                               const std::string& size, std::string& why_not) {
    if (::mount("oshin-test", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV,
                ("size=" + size + ",mode=0700").c_str()) != 0) {
      why_not = std::string("mount tmpfs: ") + std::strerror(errno);
      return nullptr;
    }
    return std::unique_ptr<TmpfsMount>(new TmpfsMount(dir));
  }
  ~TmpfsMount() { ::umount2(dir_.c_str(), MNT_DETACH); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

 private:
  explicit TmpfsMount(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

/// Writes `file` until the file system has no space left; returns the bytes written.
std::size_t fill_disk(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return 0;
  }
  std::vector<char> chunk(64 * 1024, 'x');
  std::size_t total = 0;
  for (std::size_t size = chunk.size(); size >= 1;) {
    ssize_t n = ::write(fd, chunk.data(), size);
    if (n > 0) {
      total += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != ENOSPC) {
      break;
    } else {
      size /= 2;  // full at this size: fill the remainder with smaller writes
    }
  }
  ::close(fd);
  return total;
}

enum class Phase { before, filling, full, freed };

struct Answer {
  std::string key;
  std::size_t writer = 0;
  Phase phase = Phase::before;     ///< when it was sent
  Phase answered = Phase::before;  ///< when its answer came
  unsigned status = 0;
  std::string code;
  std::string id;
};

json::object visit_body(const std::string& patient, const std::string& key) {
  return {{"patientId", patient},
          {"urgency", "SOON"},
          {"reason", "ACUTE_CHANGE"},
          {"chiefComplaint", key},
          {"lifeThreatening", false}};
}

void run_disk_full(bool allow_tmpfs) {
  TempDir outer;
  const auto disk = outer.path() / "disk";
  std::filesystem::create_directory(disk);
  std::string why_not = "the shim mode was asked for";
  std::unique_ptr<TmpfsMount> mount;
  if (allow_tmpfs) {
    mount = TmpfsMount::try_mount(disk, "8m", why_not);
  }
  const bool tmpfs = mount != nullptr;
  const auto ballast = disk / "ballast";
  const auto flag = outer.path() / "disk-is-full";
  const auto count = outer.path() / "injected-faults";
  std::cout << "[disk-full] mode=" << (tmpfs ? "tmpfs 8 MiB" : "LD_PRELOAD ENOSPC shim")
            << (tmpfs ? "" : " (" + why_not + ")") << std::endl;
  std::map<std::string, std::string> env;
  if (!tmpfs) {
    env = shim_env(
        {{"OSHIN_FAULT_ENOSPC", flag.string()}, {"OSHIN_FAULT_COUNT_FILE", count.string()}});
  }
  Night night(
      disk,
      {{"serviceHours", {{"always", true}}},
       {"limits", {{"requestsPerSecondPerAddress", 0}, {"requestsPerSecondPerAccount", 0}}}},
      {}, env);
  const std::string patient =
      night.make_patient("Full Disk Patient", Night::kCenterLat, Night::kCenterLon);
  const unsigned short port = night.port();
  const std::vector<std::string> accounts = {"nurse1", "nurse2"};
  std::vector<std::string> tokens;
  for (const auto& a : accounts) {
    tokens.push_back(night.token(a));
  }

  std::atomic<Phase> phase{Phase::before};
  std::atomic<bool> stop{false};
  std::mutex m;
  std::condition_variable cv;
  std::vector<Answer> answers;
  std::map<Phase, int> refused, accepted;
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < accounts.size(); ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load() && i < 5000; ++i) {
        Answer a;
        a.key = "full-" + std::to_string(w) + "-" + std::to_string(i);
        a.writer = w;
        a.phase = phase.load();
        auto r =
            http_call(port, verb::post, "/v1/visits", json::serialize(visit_body(patient, a.key)),
                      tokens[w], {{"Idempotency-Key", a.key}});
        a.answered = phase.load();
        a.status = r.status;
        a.code = r.error_code();
        if (r.status == 201) {
          a.id = str(r.json().at("id"));
        }
        std::lock_guard lock(m);
        (r.status == 201 ? accepted : refused)[a.phase]++;
        answers.push_back(a);
        cv.notify_all();
        if (r.status == 0) {
          return;  // the server is gone; the checks below say so
        }
      }
    });
  }
  auto wait_for = [&](auto done) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, std::chrono::seconds(60), done);
  };

  // Let some writes through, then fill the disk under load.
  if (!wait_for([&] { return accepted[Phase::before] >= 10; })) {
    stop = true;
    for (auto& t : writers) {
      t.join();
    }
    FAIL() << "writes did not get through before the disk was filled";
  }
  std::size_t ballast_bytes = 0;
  phase = Phase::filling;  // requests sent from now on may meet a full disk
  if (tmpfs) {
    ballast_bytes = fill_disk(ballast);
  } else {
    std::ofstream(flag) << "full\n";
  }
  phase = Phase::full;
  const bool saw_refusals = wait_for([&] { return refused[Phase::full] >= 5; });
  // Reads that write nothing go on while the disk is full.
  auto me = night.get("staff1", "/v1/me");
  auto teams = night.get("staff1", "/v1/teams");
  auto ready_while_full = http_call(port, verb::get, "/readyz");

  // Space comes back: no restart, the next write succeeds.
  if (tmpfs) {
    std::filesystem::remove(ballast);
  } else {
    std::filesystem::remove(flag);
  }
  phase = Phase::freed;
  auto first_after = night.post("nurse1", "/v1/visits", visit_body(patient, "full-first-after"),
                                {{"Idempotency-Key", "full-first-after"}});
  const bool writers_recovered = wait_for([&] { return accepted[Phase::freed] >= 10; });
  stop = true;
  for (auto& t : writers) {
    t.join();
  }
  ASSERT_TRUE(saw_refusals) << "the full disk never refused a write; ballast " << ballast_bytes
                            << " bytes\n"
                            << night.process().output();
  EXPECT_EQ(me.status, 200u) << me.body;
  EXPECT_EQ(teams.status, 200u) << teams.body;
  EXPECT_EQ(first_after.status, 201u) << first_after.body;
  EXPECT_TRUE(writers_recovered);
  EXPECT_EQ(http_call(port, verb::get, "/readyz").status, 200u) << "a full disk is not fatal";

  for (const Answer& a : answers) {
    if (a.status == 201) {
      continue;
    }
    // A refusal is a 503 UNAVAILABLE while the disk is full, and nothing else ever.
    EXPECT_EQ(a.status, 503u) << a.key;
    EXPECT_EQ(a.code, "UNAVAILABLE") << a.key;
    EXPECT_NE(a.answered, Phase::before) << a.key << " refused before the disk was full";
    EXPECT_NE(a.phase, Phase::freed) << a.key << " refused after space came back";
  }

  // Every 2xx is there; every refused request retried with its key makes exactly one visit.
  std::map<std::string, std::string> id_of_key;
  for (const Answer& a : answers) {
    if (a.status == 201) {
      id_of_key[a.key] = a.id;
      continue;
    }
    auto r = night.post(accounts[a.writer], "/v1/visits", visit_body(patient, a.key),
                        {{"Idempotency-Key", a.key}});
    ASSERT_EQ(r.status, 201u) << a.key << ": " << r.body;
    id_of_key[a.key] = str(r.json().at("id"));
  }
  night.restart_after_kill();
  auto visits = night.get("staff1", "/v1/visits");
  ASSERT_EQ(visits.status, 200u) << visits.body;
  std::map<std::string, int> per_key;
  for (const auto& v : visits.json().at("visits").as_array()) {
    const std::string key = str(v.at("chiefComplaint"));
    if (id_of_key.count(key)) {
      ++per_key[key];
      EXPECT_EQ(id_of_key[key], str(v.at("id"))) << key;
    }
  }
  for (const auto& [key, id] : id_of_key) {
    EXPECT_EQ(per_key[key], 1) << key << " (" << id << ")";
  }
  auto verify = night.get("admin", "/v1/audit/verify");
  EXPECT_TRUE(verify.json().at("ok").as_bool()) << verify.body;
  night.process().terminate();
  ASSERT_EQ(night.process().wait_exit(), 0) << night.process().output();
  EXPECT_EQ(integrity_check(disk / "data" / "oshin.db"), "ok");
  std::cout << "[disk-full] mode=" << (tmpfs ? "tmpfs" : "shim") << " writes=" << answers.size()
            << " acknowledged_before=" << accepted[Phase::before]
            << " refused_while_full=" << refused[Phase::full]
            << " acknowledged_sent_while_full=" << accepted[Phase::full]
            << " (in flight when space returned: "
            << std::count_if(answers.begin(), answers.end(),
                             [](const Answer& a) {
                               return a.status == 201 && a.phase == Phase::full &&
                                      a.answered != Phase::full;
                             })
            << ")"
            << " acknowledged_after_space_returned=" << accepted[Phase::freed]
            << " ready_while_full=" << ready_while_full.status << " ballast_bytes=" << ballast_bytes
            << " shim_faults=" << count_lines(count) << std::endl;
}

TEST(DiskFull, WritesAre503UntilSpaceReturnsAndNothingIsLostOrCorrupted) {
  run_disk_full(/*allow_tmpfs=*/true);
}

// The same checks through the shim, so the fallback that runs where mounting is not allowed
// is itself known to work.
TEST(DiskFull, ShimModeGivesTheSameAnswers) {
  run_disk_full(/*allow_tmpfs=*/false);
}

}  // namespace
}  // namespace oshin::testing
