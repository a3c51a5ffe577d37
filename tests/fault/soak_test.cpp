// Crash soak (issue 7): client threads create visits and patients with Idempotency-Keys while a
// killer thread kill -9s the real server at random moments and restarts it on the same data
// dir. A request that got no answer is retried with the same key until it is answered. Then:
// every 2xx is present exactly once, no key made two records, visits and offers are in
// consistent states, the audit chain verifies, and SQLite's integrity check passes.
//
// OSHIN_SOAK_SECONDS (default 20) sets the duration, OSHIN_SOAK_SEED the killer's seed (printed
// either way, so a failing run can be repeated), OSHIN_SOAK_CLIENTS the client threads (4).
// `make soak SOAK_SECONDS=600` runs the long version.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
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

/// Where the server listens now. Each restart publishes a new port and generation, so a client
/// whose request found no server waits for the next one instead of spinning.
class Live {
 public:
  explicit Live(unsigned short port) : port_(port) {}

  std::pair<unsigned short, int> current() {
    std::lock_guard lock(m_);
    return {port_, generation_};
  }
  void publish(unsigned short port) {
    {
      std::lock_guard lock(m_);
      port_ = port;
      ++generation_;
    }
    cv_.notify_all();
  }
  /// Waits until a generation after `seen` is published, at most `deadline`.
  void wait_newer(int seen, std::chrono::milliseconds deadline) {
    std::unique_lock lock(m_);
    cv_.wait_for(lock, deadline, [&] { return generation_ != seen; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned short port_;
  int generation_ = 0;
};

struct Outcome {
  std::string kind;  ///< "visit" or "patient"
  unsigned status = 0;
  std::string id;
  std::string body;
  int attempts = 0;
};

TEST(Soak, KillNineAtRandomMomentsLosesAndDuplicatesNothing) {
  const std::uint64_t seconds = env_number("OSHIN_SOAK_SECONDS", 20);
  const std::uint64_t seed = env_number("OSHIN_SOAK_SEED", std::random_device{}());
  const std::uint64_t clients = std::max<std::uint64_t>(env_number("OSHIN_SOAK_CLIENTS", 4), 1);
  std::cout << "[soak] seed=" << seed << " seconds=" << seconds << " clients=" << clients
            << " (repeat with OSHIN_SOAK_SEED=" << seed << ")" << std::endl;

  TempDir dir;
  // Rate limits off: the clients are deliberately faster than any one person. Offers expire
  // after the default 60 s (OSHIN_SOAK_OFFER_TIMEOUT overrides), so expiries, re-offers and
  // their replay after kill -9 are part of the run.
  const std::uint64_t offer_timeout = env_number("OSHIN_SOAK_OFFER_TIMEOUT", 60);
  Night night(
      dir.path(),
      {{"serviceHours", {{"always", true}}},
       {"offerTimeoutSeconds", offer_timeout},
       {"limits", {{"requestsPerSecondPerAddress", 0}, {"requestsPerSecondPerAccount", 0}}}});
  std::vector<std::string> patients;
  for (int i = 0; i < 3; ++i) {
    patients.push_back(night.make_patient("Soak Patient " + std::to_string(i),
                                          Night::kCenterLat + 0.01 * i, Night::kCenterLon));
  }
  const std::vector<std::string> accounts = {"nurse1", "nurse2", "cm1"};
  std::map<std::string, std::string> tokens;
  for (const auto& a : accounts) {
    tokens[a] = night.token(a);
  }
  const std::string primary = night.id("primary1");
  const json::array care_team{night.org("station"), night.org("office")};

  Live live(night.port());
  std::mutex results_mutex;
  std::map<std::string, Outcome> outcomes;  // by Idempotency-Key
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> acknowledged{0};
  std::atomic<std::uint64_t> retries{0};
  std::mutex progress_mutex;
  std::condition_variable progress_cv;

  auto client = [&](std::uint64_t w) {
    const std::string& account = accounts[w % accounts.size()];
    const std::string& token = tokens.at(account);
    for (std::uint64_t i = 0; !stop.load(); ++i) {
      const std::string key = "soak-" + std::to_string(w) + "-" + std::to_string(i);
      const bool patient = i % 4 == 3;
      std::string target;
      json::object body;
      if (patient) {
        target = "/v1/patients";
        body = {{"name", key},
                {"birthDate", "1940-01-01"},
                {"sex", "MALE"},
                {"address", "Hino-shi 4-5-6"},
                {"location", {{"lat", Night::kCenterLat}, {"lon", Night::kCenterLon + 0.01}}},
                {"primaryDoctorId", primary},
                {"careTeamOrganizationIds", care_team},
                {"sharingConsent", true}};
      } else {
        target = "/v1/visits";
        body = {{"patientId", patients[i % patients.size()]},
                {"urgency", i % 2 == 0 ? "URGENT" : "SOON"},
                {"reason", "ACUTE_CHANGE"},
                {"chiefComplaint", key},
                {"lifeThreatening", false}};
      }
      const std::string text = json::serialize(body);
      Outcome out;
      out.kind = patient ? "patient" : "visit";
      // Retry with the same key until the server answers; give up only when no server
      // answers for two minutes (then the outcome records status 0 and the test fails).
      const auto give_up = Clock::now() + std::chrono::minutes(2);
      for (;;) {
        auto [port, generation] = live.current();
        ++out.attempts;
        HttpResult r;
        try {
          r = http_call(port, verb::post, target, text, token, {{"Idempotency-Key", key}});
        } catch (const std::exception&) {
          r.status = 0;  // no server there (connection refused): same as no answer
        }
        if (r.status != 0 || Clock::now() > give_up) {
          out.status = r.status;
          out.body = r.body;
          if (r.status == 201) {
            out.id = str(r.json().at("id"));
          }
          break;
        }
        retries.fetch_add(1);
        live.wait_newer(generation, std::chrono::seconds(1));
      }
      const bool ok = out.status == 201;
      {
        std::lock_guard lock(results_mutex);
        outcomes[key] = std::move(out);
      }
      if (ok) {
        {
          // Under the killer's mutex, so its wait cannot miss this between check and sleep.
          std::lock_guard lock(progress_mutex);
          acknowledged.fetch_add(1);
        }
        progress_cv.notify_all();
      }
    }
  };

  std::vector<std::thread> threads;
  for (std::uint64_t w = 0; w < clients; ++w) {
    threads.emplace_back(client, w);
  }

  // The killer: after a random number of acknowledged writes plus a random 0-20 ms, kill -9
  // (whatever is in flight then), restart on the same data dir, publish the new port.
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> writes_between(3, 40);
  std::uniform_int_distribution<int> jitter_us(0, 20000);
  int kills = 0;
  std::string killer_error;
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < end) {
    const std::uint64_t target =
        acknowledged.load() + static_cast<std::uint64_t>(writes_between(rng));
    const auto jitter = std::chrono::microseconds(jitter_us(rng));
    {
      std::unique_lock lock(progress_mutex);
      if (!progress_cv.wait_for(lock, std::chrono::seconds(60),
                                [&] { return acknowledged.load() >= target; })) {
        killer_error = "no progress for 60 s after " + std::to_string(kills) + " kills";
        break;
      }
      // The random moment: a timed wait that nothing signals.
      progress_cv.wait_for(lock, jitter, [] { return false; });
    }
    night.kill_server();
    ++kills;
    try {
      night.start_server();
    } catch (const std::exception& e) {
      killer_error = std::string("restart failed: ") + e.what();
      break;
    }
    live.publish(night.port());
  }
  stop = true;
  for (auto& t : threads) {
    t.join();
  }
  ASSERT_TRUE(killer_error.empty()) << killer_error << "\n" << night.process().output();

  // Every request was answered in the end: 201, or the test names the key and answer.
  std::map<std::string, std::string> acked_visits;    // id -> key
  std::map<std::string, std::string> acked_patients;  // id -> key
  int answered_after_retry = 0;
  for (const auto& [key, out] : outcomes) {
    ASSERT_EQ(out.status, 201u) << key << " (" << out.kind << "): " << out.body;
    auto& into = out.kind == "visit" ? acked_visits : acked_patients;
    EXPECT_TRUE(into.emplace(out.id, key).second) << "two keys answered with id " << out.id;
    answered_after_retry += out.attempts > 1 ? 1 : 0;
  }

  // One more kill with nothing in flight, then read everything back from the restarted server.
  // Offers keep expiring and being made again while the state is read (at once after the
  // restart, for those that expired while the server was down), and the visit list and each
  // team's offers are separate reads. So: the doctors' offers, the visits, the doctors' offers
  // again, until both offer reads agree. Offer ids are never reused and an offer lives
  // offer_timeout seconds, far longer than the reads, so the visits read in between saw exactly
  // those offers pending.
  night.restart_after_kill();
  auto doctors_offers = [&night] {
    std::map<std::string, std::string> bodies;
    for (const std::string doctor : {"doctor1", "doctor2"}) {
      auto offers = night.get(doctor, "/v1/offers");
      EXPECT_EQ(offers.status, 200u) << offers.body;
      bodies[doctor] = offers.body;
    }
    return bodies;
  };
  HttpResult visits;
  std::map<std::string, std::string> offer_bodies;
  int snapshot_reads = 0;
  for (const auto give_up = Clock::now() + std::chrono::seconds(30);;) {
    auto before = doctors_offers();
    visits = night.get("staff1", "/v1/visits");
    offer_bodies = doctors_offers();
    ++snapshot_reads;
    if (before == offer_bodies) {
      break;
    }
    ASSERT_LT(Clock::now(), give_up) << "the offers never stood still for one read of the visits";
  }
  ASSERT_EQ(visits.status, 200u) << visits.body;
  std::map<std::string, int> visits_by_key;
  std::set<std::string> visit_ids;
  std::map<std::string, std::string> offered;  // offer id -> visit id
  for (const auto& v : visits.json().at("visits").as_array()) {
    const std::string id = str(v.at("id"));
    const std::string key = str(v.at("chiefComplaint"));
    EXPECT_TRUE(visit_ids.insert(id).second) << "visit " << id << " listed twice";
    if (key.rfind("soak-", 0) != 0) {
      continue;
    }
    ++visits_by_key[key];
    auto acked = acked_visits.find(id);
    EXPECT_TRUE(acked != acked_visits.end() && acked->second == key)
        << "visit " << id << " for key " << key << " is not the one that key was answered with";
    // Nobody accepts offers here: each visit is waiting for a team or offered to one, and its
    // history starts at REQUESTED and ends at its status.
    const std::string status = str(v.at("status"));
    EXPECT_TRUE(status == "REQUESTED" || status == "OFFERED") << id << " " << status;
    const auto& history = v.at("history").as_array();
    ASSERT_FALSE(history.empty()) << id;
    EXPECT_EQ(str(history.front().at("status")), "REQUESTED") << id;
    EXPECT_EQ(str(history.back().at("status")), status) << id;
    if (status == "OFFERED") {
      ASSERT_TRUE(v.as_object().contains("offerId")) << id;
      EXPECT_TRUE(offered.emplace(str(v.at("offerId")), id).second) << "offer shared: " << id;
    }
  }
  for (const auto& [id, key] : acked_visits) {
    EXPECT_TRUE(visit_ids.count(id)) << "visit " << id << " (" << key << ") answered 201, gone";
  }
  for (const auto& [key, n] : visits_by_key) {
    EXPECT_EQ(n, 1) << "key " << key << " made " << n << " visits";
  }
  EXPECT_EQ(visits_by_key.size(), acked_visits.size());
  // A team holds at most one pending offer, and it is the one its visit names.
  EXPECT_LE(offered.size(), 2u);
  for (const auto& [doctor, body] : offer_bodies) {
    const auto list = json::parse(body).at("offers").as_array();
    EXPECT_LE(list.size(), 1u) << doctor << ": " << body;
    for (const auto& o : list) {
      auto it = offered.find(str(o.at("id")));
      ASSERT_NE(it, offered.end())
          << "offer " << o.at("id") << " has no OFFERED visit: " << o
          << "\nthe visit: " << night.get("staff1", "/v1/visits/" + str(o.at("visitId"))).body;
      EXPECT_EQ(it->second, str(o.at("visitId")));
    }
  }

  auto patient_list = night.get("staff1", "/v1/patients");
  ASSERT_EQ(patient_list.status, 200u) << patient_list.body;
  std::map<std::string, int> patients_by_key;
  std::set<std::string> patient_ids;
  for (const auto& p : patient_list.json().at("patients").as_array()) {
    const std::string id = str(p.at("id"));
    const std::string key = str(p.at("name"));
    EXPECT_TRUE(patient_ids.insert(id).second) << "patient " << id << " listed twice";
    if (key.rfind("soak-", 0) == 0) {
      ++patients_by_key[key];
      auto acked = acked_patients.find(id);
      EXPECT_TRUE(acked != acked_patients.end() && acked->second == key) << id << " " << key;
    }
  }
  for (const auto& [id, key] : acked_patients) {
    EXPECT_TRUE(patient_ids.count(id)) << "patient " << id << " (" << key << ") answered 201, gone";
  }
  for (const auto& [key, n] : patients_by_key) {
    EXPECT_EQ(n, 1) << "key " << key << " made " << n << " patients";
  }
  EXPECT_EQ(patients_by_key.size(), acked_patients.size());

  auto verify = night.get("admin", "/v1/audit/verify");
  ASSERT_EQ(verify.status, 200u) << verify.body;
  EXPECT_TRUE(verify.json().at("ok").as_bool()) << verify.body;

  // A clean stop, then SQLite's own check of the file.
  night.process().terminate();
  ASSERT_EQ(night.process().wait_exit(), 0) << night.process().output();
  EXPECT_EQ(integrity_check(dir.path() / "data" / "oshin.db"), "ok");

  EXPECT_GE(kills, 1);
  std::cout << "[soak] kills=" << kills << " requests=" << outcomes.size()
            << " acknowledged=" << acknowledged.load() << " (visits " << acked_visits.size()
            << ", patients " << acked_patients.size() << ") retried_attempts=" << retries.load()
            << " answered_after_retry=" << answered_after_retry
            << " offer_timeout_s=" << offer_timeout << " final_reads=" << snapshot_reads
            << " checked_present_once=" << visits_by_key.size() + patients_by_key.size()
            << " audit_entries=" << verify.json().at("entries") << " integrity=ok" << std::endl;
}

}  // namespace
}  // namespace oshin::testing
