// Delivery that outlives the process: signed webhooks retried across a restart, the ackOverdue
// escalation armed again from storage after kill -9, and a stuck stream client dropped without
// holding anyone else back — over real sockets against the real server.
#include <gtest/gtest.h>

#include <chrono>
#include <ctime>
#include <set>
#include <sstream>
#include <thread>

#include "night.hpp"
#include "webhook_receiver.hpp"
#include "ws_client.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

json::object summary_body() {
  return json::object{
      {"findings", "fever 38.9, clear lungs"},
      {"diagnoses", json::array{"urinary tract infection"}},
      {"treatment", "fluids"},
      {"prescriptions",
       json::array{json::object{{"drug", "cefalexin"}, {"dose", "250mg x4"}, {"days", 5}}}},
      {"disposition", "STAYED_HOME"},
      {"instructionsForCareTeam", "fluids, temperature every 4 hours"},
      {"followUpForPrimaryDoctor", "urine culture result on Monday"}};
}

// Requests a visit as nurse1 for a patient near the center, has doctor1's team accept it and
// reach the patient; returns the visit id (ON_SITE).
std::string visit_on_site(Night& night, StreamClient& doctor_stream, const std::string& patient) {
  auto created = night.request_visit("nurse1", patient);
  EXPECT_EQ(created.status, 201u) << created.body;
  std::string visit_id = str(created.json().at("id"));
  auto offer = doctor_stream.wait_for([&](const json::object& e) {
    return e.at("type").as_string() == "offer" &&
           e.at("offer").at("visitId").as_string() == visit_id;
  });
  EXPECT_TRUE(offer) << night.process().output();
  if (!offer) {
    return visit_id;
  }
  auto accepted =
      night.post_empty("doctor1", "/v1/offers/" + str(offer->at("offer").at("id")) + "/accept");
  EXPECT_EQ(accepted.status, 200u) << accepted.body;
  for (const char* step : {"depart", "arrive"}) {
    auto r = night.post_empty("doctor1", "/v1/visits/" + visit_id + "/" + step);
    EXPECT_EQ(r.status, 200u) << step << r.body;
  }
  return visit_id;
}

// The one inbox item of `who` for `visit_id` ("" when none).
std::string inbox_item(Night& night, const std::string& who, const std::string& visit_id) {
  auto inbox = night.get(who, "/v1/inbox");
  for (const auto& item : inbox.json().at("items").as_array()) {
    if (item.at("visitId").as_string() == visit_id) {
      return str(item.at("id"));
    }
  }
  return {};
}

json::object inbox_entry(Night& night, const std::string& who, const std::string& item_id) {
  auto inbox = night.get(who, "/v1/inbox");
  for (const auto& item : inbox.json().at("items").as_array()) {
    if (item.at("id").as_string() == item_id) {
      return item.as_object();
    }
  }
  return {};
}

TEST(Delivery, SignedWebhookIsRetriedUntil2xxAcrossARestart) {
  // The station's receiver refuses the first two attempts.
  WebhookReceiver receiver(/*failures=*/2);
  TempDir dir;
  Night night(dir.path(),
              json::object{{"webhooks", json::object{{"initialBackoffSeconds", 1},
                                                     {"maxBackoffSeconds", 1},
                                                     {"allowPrivateAddresses", true},
                                                     {"timeoutSeconds", 5}}}},
              {{"station", receiver.url()}});
  receiver.set_secret(night.webhook_secret("station"));
  std::string patient =
      night.make_patient("Ume Sato", Night::kCenterLat + 0.01, Night::kCenterLon + 0.01);
  auto doctor_stream = StreamClient::connect(night.port(), night.token("doctor1"));
  ASSERT_TRUE(doctor_stream);
  std::string visit_id = visit_on_site(night, *doctor_stream, patient);
  auto posted = night.post("doctor1", "/v1/visits/" + visit_id + "/summary", summary_body());
  ASSERT_EQ(posted.status, 201u) << posted.body;
  auto posted_at = std::time(nullptr);

  // The first attempt fails; the server is killed right after it.
  auto first = receiver.wait_attempts(1, 30s);
  ASSERT_GE(first.size(), 1u) << night.process().output();
  EXPECT_EQ(first[0].answered, 503u);
  night.kill_server();
  std::size_t before_restart = receiver.attempts().size();  // all from the killed process
  night.start_server();

  // The restarted server resumes the delivery and the third attempt succeeds.
  auto all = receiver.wait_attempts(3, 60s);
  ASSERT_GE(all.size(), 3u) << night.process().output();
  EXPECT_EQ(all[0].answered, 503u);
  EXPECT_EQ(all[1].answered, 503u);
  EXPECT_EQ(all[2].answered, 200u);
  EXPECT_LE(before_restart, 2u) << "the successful attempt came from the restarted server";

  std::string station_item = inbox_item(night, "nurse1", visit_id);
  ASSERT_FALSE(station_item.empty());
  for (const auto& a : all) {
    EXPECT_EQ(a.target, "/hook");
    EXPECT_TRUE(a.signature_ok) << a.signature;
    EXPECT_GE(a.signed_at, posted_at - 5);
    EXPECT_LE(a.signed_at, std::time(nullptr) + 5);
    // Every attempt carries the same event: the station's inbox item for this visit.
    EXPECT_EQ(a.body, all[0].body);
    auto event = json::parse(a.body).as_object();
    EXPECT_EQ(str(event.at("type")), "visitSummary");
    EXPECT_EQ(str(event.at("visitSummary").at("visitId")), visit_id);
    EXPECT_EQ(str(event.at("visitSummary").at("id")), station_item);
    EXPECT_EQ(str(event.at("visitSummary").at("summary").at("findings")),
              "fever 38.9, clear lungs");
  }
  // A signature made with another secret does not verify (the receiver's check can fail).
  EXPECT_NE(WebhookReceiver::hmac_hex("another secret", "1." + all[0].body),
            WebhookReceiver::hmac_hex(night.webhook_secret("station"), "1." + all[0].body));
}

// HH:MM, center time (+09:00), of the first whole minute at least `ahead` from now.
std::string center_hhmm_ahead(std::chrono::seconds ahead) {
  auto t = std::chrono::system_clock::now() + ahead + std::chrono::hours(9);
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[8];
  // Round up to the next minute so the deadline is at least `ahead` away.
  tm.tm_min += 1;
  tm.tm_sec = 0;
  timegm(&tm);  // normalizes minute/hour overflow
  std::strftime(buf, sizeof buf, "%H:%M", &tm);
  return buf;
}

TEST(Delivery, UnacknowledgedSummaryIsEscalatedToStaffEvenAfterAKill) {
  TempDir dir;
  Night night(dir.path());
  std::string patient =
      night.make_patient("Kiku Ito", Night::kCenterLat - 0.01, Night::kCenterLon + 0.01);
  auto doctor_stream = StreamClient::connect(night.port(), night.token("doctor1"));
  ASSERT_TRUE(doctor_stream);
  std::string visit_id = visit_on_site(night, *doctor_stream, patient);

  // Move the acknowledgement deadline to within the next minute or two, then post the summary.
  night.restart_with_config({{"summaryAckDeadline", center_hhmm_ahead(15s)}});
  auto posted = night.post("doctor1", "/v1/visits/" + visit_id + "/summary", summary_body());
  ASSERT_EQ(posted.status, 201u) << posted.body;
  std::string primary_item = inbox_item(night, "primary1", visit_id);
  std::string station_item = inbox_item(night, "nurse1", visit_id);
  ASSERT_FALSE(primary_item.empty());
  ASSERT_FALSE(station_item.empty());
  // The station acknowledges in time; the primary doctor does not.
  ASSERT_EQ(night.post_empty("nurse2", "/v1/inbox/" + station_item + "/ack").status, 204u);

  // The deadline must survive a crash: it is re-armed from storage.
  night.restart_after_kill();
  auto staff_stream = StreamClient::connect(night.port(), night.token("staff1"), "?since=0");
  ASSERT_TRUE(staff_stream);
  auto overdue = staff_stream->wait_type("ackOverdue", 150s);
  ASSERT_TRUE(overdue) << night.process().output();
  const auto& body = overdue->at("ackOverdue");
  EXPECT_EQ(str(body.at("inboxItemId")), primary_item);
  EXPECT_EQ(str(body.at("visitId")), visit_id);
  EXPECT_EQ(str(body.at("recipientId")), night.id("primary1"));

  // Only the unacknowledged item was escalated, and it can still be acknowledged.
  EXPECT_TRUE(inbox_entry(night, "primary1", primary_item).contains("escalatedAt"));
  auto station = inbox_entry(night, "nurse1", station_item);
  EXPECT_TRUE(station.contains("acknowledgedAt"));
  EXPECT_FALSE(station.contains("escalatedAt"));

  // STAFF list what is overdue, with whom to call: the primary doctor's item only.
  auto listed = night.get("staff1", "/v1/inbox/overdue");
  ASSERT_EQ(listed.status, 200u) << listed.body;
  const auto& items = listed.json().at("items").as_array();
  ASSERT_EQ(items.size(), 1u) << listed.body;
  EXPECT_EQ(str(items[0].at("id")), primary_item);
  EXPECT_EQ(str(items[0].at("recipientId")), night.id("primary1"));
  EXPECT_EQ(str(items[0].at("recipientName")), "primary1");  // its displayName
  EXPECT_TRUE(items[0].as_object().contains("escalatedAt"));
  EXPECT_EQ(night.get("nurse1", "/v1/inbox/overdue").status, 403u);
  auto audit = night.get("admin", "/v1/audit?action=inbox.overdue.read");
  ASSERT_EQ(audit.status, 200u) << audit.body;
  EXPECT_EQ(audit.json().at("entries").as_array().size(), 1u) << audit.body;

  EXPECT_EQ(night.post_empty("primary1", "/v1/inbox/" + primary_item + "/ack").status, 204u);
  auto after = night.get("staff1", "/v1/inbox/overdue");
  ASSERT_EQ(after.status, 200u);
  EXPECT_TRUE(after.json().at("items").as_array().empty()) << after.body;
}

// The value of an unlabelled series in /metrics; -1 when absent.
double metric_value(Night& night, const std::string& series) {
  auto r = http_call(night.port(), bhttp::verb::get, "/metrics", {}, {});
  std::istringstream lines(r.body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0) {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

// Polls /metrics until `series` has `value` or the deadline passes.
bool wait_metric(Night& night, const std::string& series, double value,
                 std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (metric_value(night, series) == value) {
      return true;
    }
    std::this_thread::sleep_for(50ms);  // polling interval, not a synchronization stand-in
  }
  return false;
}

TEST(Delivery, AStuckStreamClientIsDroppedWithoutHoldingOthersBack) {
  TempDir dir;
  Night night(dir.path(), json::object{{"limits", json::object{{"streamQueueEvents", 8},
                                                               {"streamSendBufferBytes", 4096}}}});
  std::string patient =
      night.make_patient("Fumi Kato", Night::kCenterLat + 0.02, Night::kCenterLon - 0.01);
  // Two connections of the same STAFF account: one never reads (a tiny receive buffer), one does.
  auto stuck = StreamClient::connect(night.port(), night.token("staff1"), "", nullptr, "", 4096);
  auto live = StreamClient::connect(night.port(), night.token("staff1"));
  ASSERT_TRUE(stuck && live);

  // Each request and each cancellation is a visitUpdated event to STAFF. The reading client
  // reads on its own thread while the requests go in, as a phone would.
  constexpr int kVisits = 30;
  std::set<std::string> cancelled;
  int received = 0;
  bool in_order = true;
  bool stalled = false;
  std::thread reader([&] {
    long long last_seq = 0;
    while (cancelled.size() < static_cast<std::size_t>(kVisits)) {
      auto ev = live->next(30s);
      if (!ev) {
        stalled = true;
        return;
      }
      ++received;
      long long seq = std::stoll(str(ev->at("seq")));
      in_order = in_order && seq > last_seq;
      last_seq = seq;
      if (ev->at("type").as_string() == "visitUpdated" &&
          ev->at("visitUpdated").at("status").as_string() == "CANCELLED") {
        cancelled.insert(str(ev->at("visitUpdated").at("id")));
      }
    }
  });
  std::set<std::string> ids;
  for (int i = 0; i < kVisits; ++i) {
    auto created = night.request_visit("nurse1", patient, i % 2 == 0 ? "URGENT" : "SOON");
    EXPECT_EQ(created.status, 201u) << created.body;
    if (created.status != 201u) {
      break;
    }
    std::string id = str(created.json().at("id"));
    auto c = night.post("nurse1", "/v1/visits/" + id + "/cancel",
                        json::object{{"reason", "family reports she is better"}});
    EXPECT_EQ(c.status, 200u) << c.body;
    ids.insert(id);
  }
  reader.join();
  // The reading client got every cancellation, in seq order, while the other one was stuck.
  ASSERT_FALSE(stalled) << "the reading client stalled after " << received << " events";
  EXPECT_TRUE(in_order);
  EXPECT_EQ(cancelled, ids);

  // The stuck one was dropped: the server counts one stream connection left, the reading one,
  // and draining the stuck one ends short of the events.
  EXPECT_TRUE(wait_metric(night, "oshin_ws_connections", 1, 20s))
      << metric_value(night, "oshin_ws_connections");
  int stuck_got = 0;
  while (stuck->next(10s)) {
    ++stuck_got;
  }
  EXPECT_LT(stuck_got, received);
  if (auto code = stuck->close_code()) {
    EXPECT_EQ(*code, 1013u);
  }
  // And the dropped device misses nothing: it reconnects with ?since= and gets the rest.
  auto again = StreamClient::connect(night.port(), night.token("staff1"), "?since=0");
  ASSERT_TRUE(again);
  std::set<std::string> replayed;
  while (replayed.size() < cancelled.size()) {
    auto ev = again->next(30s);
    ASSERT_TRUE(ev);
    if (ev->at("type").as_string() == "visitUpdated" &&
        ev->at("visitUpdated").at("status").as_string() == "CANCELLED") {
      replayed.insert(str(ev->at("visitUpdated").at("id")));
    }
  }
  EXPECT_EQ(replayed, cancelled);
}

}  // namespace
}  // namespace oshin::testing
