// fsync EIO against the real server (issue 7): an LD_PRELOAD shim (fault_shim.c) makes fsync
// and fdatasync fail once a file appears. Under concurrent load the disk "breaks"; from then on
// no write may be answered 2xx, the server turns read-only (/readyz 503) but keeps serving
// reads that write nothing (a patient-data read, which must write its audit entry, is refused), and
// after a restart without the fault everything answered 2xx is there, retries of the refused
// requests (same Idempotency-Key) create each record once, and writes work again.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
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
using Clock = std::chrono::steady_clock;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

struct Answer {
  std::string key;
  bool sent_after_arming = false;
  unsigned status = 0;
  std::string code;
  std::string id;
};

json::object visit_body(const std::string& patient, const std::string& key) {
  return {{"patientId", patient},
          {"urgency", "URGENT"},
          {"reason", "ACUTE_CHANGE"},
          {"chiefComplaint", key},
          {"lifeThreatening", false}};
}

TEST(FsyncFault, NoWriteIsAcknowledgedAfterFsyncFailsAndRestartRecovers) {
  TempDir dir;
  const auto arm = dir.path() / "arm-fsync-eio";
  const auto count = dir.path() / "injected-faults";
  Night night(
      dir.path(),
      {{"serviceHours", {{"always", true}}},
       {"limits", {{"requestsPerSecondPerAddress", 0}, {"requestsPerSecondPerAccount", 0}}}},
      {},
      shim_env(
          {{"OSHIN_FAULT_FSYNC_EIO", arm.string()}, {"OSHIN_FAULT_COUNT_FILE", count.string()}}));
  const std::string patient =
      night.make_patient("Fsync Patient", Night::kCenterLat, Night::kCenterLon);
  ASSERT_EQ(count_lines(count), 0u) << "the shim failed a call before it was armed";
  const unsigned short port = night.port();
  const std::vector<std::string> accounts = {"nurse1", "nurse2", "cm1"};
  std::vector<std::string> tokens;
  for (const auto& a : accounts) {
    tokens.push_back(night.token(a));
  }

  // Three writers post visits; the disk breaks once each has had 5 answered, and they go on
  // until each has had 5 answers to requests sent after that.
  std::atomic<bool> armed{false};
  std::mutex m;
  std::condition_variable cv;
  std::vector<Answer> answers;
  std::vector<int> before(accounts.size(), 0), after(accounts.size(), 0);
  std::vector<std::thread> writers;
  for (std::size_t w = 0; w < accounts.size(); ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0;; ++i) {
        Answer a;
        a.key = "eio-" + std::to_string(w) + "-" + std::to_string(i);
        a.sent_after_arming = armed.load();
        auto r =
            http_call(port, verb::post, "/v1/visits", json::serialize(visit_body(patient, a.key)),
                      tokens[w], {{"Idempotency-Key", a.key}});
        a.status = r.status;
        a.code = r.error_code();
        if (r.status == 201) {
          a.id = str(r.json().at("id"));
        }
        std::lock_guard lock(m);
        answers.push_back(a);
        (a.sent_after_arming ? after : before)[w]++;
        cv.notify_all();
        if (after[w] >= 5 || r.status == 0 || answers.size() > 2000) {
          return;
        }
      }
    });
  }
  bool warmed_up = false;
  {
    std::unique_lock lock(m);
    warmed_up = cv.wait_for(lock, std::chrono::seconds(60), [&] {
      return std::all_of(before.begin(), before.end(), [](int n) { return n >= 5; });
    });
  }
  std::ofstream(arm) << "armed\n";
  armed = true;
  for (auto& t : writers) {
    t.join();
  }
  ASSERT_TRUE(warmed_up) << "the writers did not get 5 writes each through before arming";

  int acknowledged = 0;
  int refused_after = 0;
  for (const Answer& a : answers) {
    if (a.sent_after_arming) {
      // The heart of it: nothing sent after the disk broke is answered 2xx.
      EXPECT_EQ(a.status, 503u) << a.key << " answered " << a.status << " after fsync failed";
      EXPECT_EQ(a.code, "UNAVAILABLE") << a.key;
      ++refused_after;
    } else {
      // In flight while the disk broke: either answer, but a 201 must hold (checked below).
      EXPECT_TRUE(a.status == 201 || a.status == 503) << a.key << " " << a.status;
    }
    acknowledged += a.status == 201 ? 1 : 0;
  }
  EXPECT_GE(count_lines(count), 1u) << "the shim never failed an fsync";
  // Read-only now: not ready, writes refused, reads still served.
  EXPECT_EQ(http_call(port, verb::get, "/readyz").status, 503u);
  auto late_write = night.post("nurse1", "/v1/visits", visit_body(patient, "eio-late"));
  EXPECT_EQ(late_write.status, 503u) << late_write.body;
  // Reads that need no write go on; a read of patient data needs its audit entry, which
  // cannot be written now, so it is refused too (never served unaudited).
  auto me = night.get("staff1", "/v1/me");
  EXPECT_EQ(me.status, 200u) << me.body;
  auto teams = night.get("staff1", "/v1/teams");
  EXPECT_EQ(teams.status, 200u) << teams.body;
  auto patient_read = night.get("staff1", "/v1/visits");
  EXPECT_EQ(patient_read.status, 503u) << patient_read.body;

  // Restart on a sound disk: no shim.
  night.kill_server();
  night.set_server_env({});
  night.start_server();
  EXPECT_EQ(http_call(night.port(), verb::get, "/readyz").status, 200u);
  // Retry every refused request with its key (as a client would): each makes one record.
  std::map<std::string, std::string> id_of_key;
  for (Answer& a : answers) {
    if (a.status == 201) {
      id_of_key[a.key] = a.id;
      continue;
    }
    const auto w = static_cast<std::size_t>(a.key[4] - '0');
    auto r = night.post(accounts[w], "/v1/visits", visit_body(patient, a.key),
                        {{"Idempotency-Key", a.key}});
    ASSERT_EQ(r.status, 201u) << a.key << ": " << r.body;
    id_of_key[a.key] = str(r.json().at("id"));
  }
  auto visits = night.get("staff1", "/v1/visits");
  ASSERT_EQ(visits.status, 200u) << visits.body;
  std::map<std::string, int> per_key;
  std::set<std::string> ids;
  for (const auto& v : visits.json().at("visits").as_array()) {
    const std::string key = str(v.at("chiefComplaint"));
    if (key.rfind("eio-", 0) == 0 && key != "eio-late") {
      ++per_key[key];
      ids.insert(str(v.at("id")));
      EXPECT_EQ(id_of_key[key], str(v.at("id"))) << key;
    }
  }
  for (const Answer& a : answers) {
    if (a.status == 201) {
      EXPECT_TRUE(ids.count(a.id)) << a.key << " was answered 201 but is gone";
    }
    EXPECT_EQ(per_key[a.key], 1) << a.key;
  }
  auto verify = night.get("admin", "/v1/audit/verify");
  EXPECT_TRUE(verify.json().at("ok").as_bool()) << verify.body;
  night.process().terminate();
  ASSERT_EQ(night.process().wait_exit(), 0) << night.process().output();
  EXPECT_EQ(integrity_check(dir.path() / "data" / "oshin.db"), "ok");
  std::cout << "[fsync-eio] writes=" << answers.size() << " acknowledged_before=" << acknowledged
            << " refused_after_arming=" << refused_after
            << " injected_fsync_failures=" << count_lines(count)
            << " retried_after_restart=" << answers.size() - static_cast<std::size_t>(acknowledged)
            << std::endl;
}

}  // namespace
}  // namespace oshin::testing
