#include "oshin/stream/stream_hub.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "oshin/http/codec.hpp"

namespace oshin::stream {
namespace {

using namespace std::chrono_literals;

class RecordingSink final : public StreamSink {
 public:
  void deliver(std::shared_ptr<const LiveEvent> event) override {
    std::lock_guard lock(mutex_);
    seqs_.push_back(event->seq);
    events_.push_back(std::move(event));
  }
  std::vector<std::shared_ptr<const LiveEvent>> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  void revoke() override {
    std::lock_guard lock(mutex_);
    ++revoked_;
  }
  int revoked() const {
    std::lock_guard lock(mutex_);
    return revoked_;
  }
  std::vector<std::int64_t> seqs() const {
    std::lock_guard lock(mutex_);
    return seqs_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::int64_t> seqs_;
  std::vector<std::shared_ptr<const LiveEvent>> events_;
  int revoked_ = 0;
};

std::shared_ptr<const v1::ServerEvent> event_with_seq(std::int64_t seq) {
  auto event = std::make_shared<v1::ServerEvent>();
  event->set_seq(seq);
  event->set_type("offer");
  return event;
}

TEST(StreamHubTest, PublishReachesOnlyTheAccountsSessions) {
  StreamHub hub;
  auto a1 = std::make_shared<RecordingSink>();
  auto a2 = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  hub.subscribe("a", a1);
  hub.subscribe("a", a2);
  hub.subscribe("b", b);
  EXPECT_EQ(hub.connections(), 3U);

  hub.publish("a", event_with_seq(1));
  hub.publish("b", event_with_seq(2));
  hub.publish("a", event_with_seq(3));
  hub.publish("nobody", event_with_seq(4));
  hub.publish("a", std::shared_ptr<const v1::ServerEvent>{});
  hub.publish("a", std::shared_ptr<const LiveEvent>{});

  EXPECT_EQ(a1->seqs(), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(a2->seqs(), (std::vector<std::int64_t>{1, 3}));
  EXPECT_EQ(b->seqs(), (std::vector<std::int64_t>{2}));
}

TEST(StreamHubTest, UnsubscribeAndExpiredSessions) {
  StreamHub hub;
  auto a1 = std::make_shared<RecordingSink>();
  auto a2 = std::make_shared<RecordingSink>();
  hub.subscribe("a", a1);
  hub.subscribe("a", a2);
  hub.unsubscribe("a", a1.get());
  hub.unsubscribe("a", a1.get());  // twice: no-op
  hub.unsubscribe("zzz", a1.get());
  EXPECT_EQ(hub.connections(), 1U);
  hub.publish("a", event_with_seq(7));
  EXPECT_TRUE(a1->seqs().empty());
  EXPECT_EQ(a2->seqs(), (std::vector<std::int64_t>{7}));

  // A session that died without unsubscribing is skipped (the hub holds weak references).
  const StreamSink* raw = a2.get();
  a2.reset();
  hub.publish("a", event_with_seq(8));
  hub.unsubscribe("a", raw);
  EXPECT_EQ(hub.connections(), 0U);
}

TEST(StreamHubTest, WaitForConnectionsHasADeadline) {
  StreamHub hub;
  auto sink = std::make_shared<RecordingSink>();
  EXPECT_FALSE(hub.wait_for_connections(1, 10ms));
  std::thread t([&] { hub.subscribe("a", sink); });
  EXPECT_TRUE(hub.wait_for_connections(1, 10s));
  t.join();
}

TEST(StreamHubTest, AddEventsMakesOneAppendPerRecipientWithSeqZero) {
  v1::ServerEvent offer;
  offer.set_type("offer");
  offer.mutable_offer()->set_id("o-1");
  auto update = std::make_shared<v1::ServerEvent>();
  update->set_type("visitUpdated");
  update->set_seq(99);  // a stale seq is never stored
  update->mutable_visit_updated()->set_id("v-1");
  const std::shared_ptr<const v1::ServerEvent> shared = update;
  std::vector<OutgoingEvent> events{
      {"u-1", offer}, {"u-2", shared}, {"u-3", shared}, {"u-4", nullptr}};

  storage::Transaction tx;
  tx.mutations.emplace_back(storage::EraseRecord{"x", "y"});
  add_events(tx, events, 1234);
  ASSERT_EQ(tx.mutations.size(), 5U);
  std::vector<const storage::AppendEvent*> appended;
  for (std::size_t i = 1; i < tx.mutations.size(); ++i) {
    appended.push_back(std::get_if<storage::AppendEvent>(&tx.mutations[i]));
    ASSERT_NE(appended.back(), nullptr);
  }
  EXPECT_EQ(appended[0]->type, "offer");
  EXPECT_EQ(appended[0]->stream_key, "u-1");
  EXPECT_EQ(appended[0]->at_ms, 1234);
  EXPECT_EQ(appended[0]->payload, offer.SerializeAsString());
  for (std::size_t i : {1U, 2U}) {
    EXPECT_EQ(appended[i]->type, "visitUpdated");
    EXPECT_EQ(appended[i]->stream_key, i == 1 ? "u-2" : "u-3");
    v1::ServerEvent stored;
    ASSERT_TRUE(stored.ParseFromString(appended[i]->payload));
    EXPECT_EQ(stored.seq(), 0);
    EXPECT_EQ(stored.visit_updated().id(), "v-1");
  }
  EXPECT_EQ(update->seq(), 99) << "the shared content is not changed";
  // No content reads as an empty event.
  EXPECT_EQ(appended[3]->type, "");
  EXPECT_EQ(appended[3]->stream_key, "u-4");
  EXPECT_EQ(appended[3]->payload, "");
}

TEST(StreamHubTest, PublishCommittedAssignsSeqsFromTheResult) {
  StreamHub hub;
  auto a = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  hub.subscribe("a", a);
  hub.subscribe("b", b);
  std::vector<OutgoingEvent> events{
      {"a", v1::ServerEvent{}}, {"b", v1::ServerEvent{}}, {"a", v1::ServerEvent{}}};
  storage::CommitResult result;
  result.event_seqs = {10, 11, 12, 13};  // 10 belongs to an AppendEvent added before them
  publish_committed(hub, events, result, 1);
  EXPECT_EQ(a->seqs(), (std::vector<std::int64_t>{11, 13}));
  EXPECT_EQ(b->seqs(), (std::vector<std::int64_t>{12}));

  // Too few seqs (a wiring bug): nothing is published.
  publish_committed(hub, events, result, 2);
  publish_committed(hub, events, result, 9);
  EXPECT_EQ(a->seqs().size(), 2U);
  EXPECT_EQ(b->seqs().size(), 1U);
}

v1::ServerEvent visit_event(const std::string& visit_id) {
  v1::ServerEvent event;
  event.set_type("visitUpdated");
  event.mutable_at()->set_seconds(1'800'000'000);
  event.mutable_visit_updated()->set_id(visit_id);
  event.mutable_visit_updated()->set_patient_id("p-1");
  return event;
}

TEST(StreamHubTest, OneUpdateToManyRecipientsSharesOneBody) {
  StreamHub hub;
  std::vector<std::shared_ptr<RecordingSink>> sinks;
  std::vector<OutgoingEvent> events;
  const auto update = std::make_shared<const v1::ServerEvent>(visit_event("v-1"));
  for (const char* account : {"nurse", "staff1", "staff2", "doctor", "driver"}) {
    sinks.push_back(std::make_shared<RecordingSink>());
    hub.subscribe(account, sinks.back());
    events.emplace_back(account, update);
  }
  events.emplace_back("nurse", visit_event("v-2"));  // other content: a body of its own
  storage::CommitResult result;
  result.event_seqs = {7, 8, 9, 10, 11, 12};
  publish_committed(hub, events, result);

  std::vector<std::shared_ptr<const LiveEvent>> got;
  for (const auto& sink : sinks) {
    for (const auto& e : sink->events()) {
      got.push_back(e);
    }
  }
  ASSERT_EQ(got.size(), 6U);
  const EventBody* shared = nullptr;
  int with_shared = 0;
  for (const auto& e : got) {
    if (e->body->content().visit_updated().id() == "v-1") {
      shared = shared ? shared : e->body.get();
      EXPECT_EQ(e->body.get(), shared);
      ++with_shared;
    } else {
      EXPECT_NE(e->body.get(), shared);
    }
  }
  EXPECT_EQ(with_shared, 5);

  // Each recipient's frames are exactly the encodings of its whole event with its own seq.
  for (const auto& e : got) {
    v1::ServerEvent whole = e->body->content();
    whole.set_seq(e->seq);
    EXPECT_EQ(e->json_frame(), http::to_json(whole));
    EXPECT_EQ(e->protobuf_frame(), whole.SerializeAsString());
  }
}

TEST(StreamHubTest, FramesMatchTheWholeEventForEverySeq) {
  for (std::int64_t seq : {0LL, 1LL, 127LL, 128LL, 300LL, 16'384LL, 9'007'199'254'740'993LL}) {
    v1::ServerEvent whole = visit_event("v-9");
    whole.set_seq(seq);
    auto live = make_live_event(whole);
    EXPECT_EQ(live->seq, seq);
    EXPECT_EQ(live->body->content().seq(), 0);
    EXPECT_EQ(live->json_frame(), http::to_json(whole)) << seq;
    EXPECT_EQ(live->protobuf_frame(), whole.SerializeAsString()) << seq;
    v1::ServerEvent parsed;
    ASSERT_TRUE(parsed.ParseFromString(live->protobuf_frame()));
    EXPECT_EQ(parsed.seq(), seq);
    EXPECT_EQ(parsed.visit_updated().id(), "v-9");
  }
}

}  // namespace
}  // namespace oshin::stream

namespace oshin::stream {
namespace {

TEST(StreamHubTest, RevokeReachesOnlyThatAccountsSessions) {
  StreamHub hub;
  auto a1 = std::make_shared<RecordingSink>();
  auto a2 = std::make_shared<RecordingSink>();
  auto b = std::make_shared<RecordingSink>();
  hub.subscribe("a", a1);
  hub.subscribe("a", a2);
  hub.subscribe("b", b);
  hub.revoke("a");
  hub.revoke("nobody");
  EXPECT_EQ(a1->revoked(), 1);
  EXPECT_EQ(a2->revoked(), 1);
  EXPECT_EQ(b->revoked(), 0);
}

}  // namespace
}  // namespace oshin::stream

namespace oshin::stream {
namespace {

TEST(StreamHubTest, AnAccountsStreamsAreItsOwnItsOrganizationsAndStaffs) {
  EXPECT_EQ(stream_keys_of(Principal{"u-1", "n", Role::nurse, "org-1", ""}),
            (std::vector<std::string>{"u-1", "org:org-1"}));
  EXPECT_EQ(stream_keys_of(Principal{"u-2", "s", Role::staff, "org-c", ""}),
            (std::vector<std::string>{"u-2", "org:org-c", std::string(kStaffStream)}));
  EXPECT_EQ(stream_keys_of(Principal{"u-3", "x", Role::doctor, "", ""}),
            (std::vector<std::string>{"u-3"}));
  EXPECT_EQ(stream_keys_of(Principal{"u-4", "a", Role::admin, "org-c", ""}),
            (std::vector<std::string>{"u-4"}));
  EXPECT_EQ(organization_stream("org-9"), "org:org-9");
}

TEST(StreamHubTest, ASessionOnSeveralStreamsIsOneConnectionAndHearsEach) {
  StreamHub hub;
  auto nurse = std::make_shared<RecordingSink>();
  auto other = std::make_shared<RecordingSink>();
  hub.subscribe(std::vector<std::string>{"n-1", "org:o-1"}, nurse);
  hub.subscribe(std::vector<std::string>{"n-2", "org:o-1"}, other);
  EXPECT_EQ(hub.connections(), 2U);
  hub.publish("org:o-1", event_with_seq(1));
  hub.publish("n-1", event_with_seq(2));
  hub.publish("org:o-2", event_with_seq(3));
  EXPECT_EQ(nurse->seqs(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(other->seqs(), (std::vector<std::int64_t>{1}));
  // Revoking an account reaches its sessions, not the organization's other members.
  hub.revoke("n-1");
  EXPECT_EQ(nurse->revoked(), 1);
  EXPECT_EQ(other->revoked(), 0);
  // Leaving takes the session off every stream at once; leaving twice is a no-op.
  hub.unsubscribe(std::vector<std::string>{"n-1", "org:o-1"}, nurse.get());
  hub.unsubscribe(std::vector<std::string>{"n-1", "org:o-1"}, nurse.get());
  EXPECT_EQ(hub.connections(), 1U);
  hub.publish("org:o-1", event_with_seq(4));
  EXPECT_EQ(nurse->seqs(), (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(other->seqs(), (std::vector<std::int64_t>{1, 4}));
}

TEST(StreamHubTest, CopiesOfOneEventShareTheFirstSeqAsContentSeq) {
  StreamHub hub;
  auto member = std::make_shared<RecordingSink>();
  hub.subscribe(std::vector<std::string>{"u-1", "org:o-1", std::string(kStaffStream)}, member);
  const auto update = std::make_shared<const v1::ServerEvent>(visit_event("v-1"));
  std::vector<OutgoingEvent> events{{"org:o-1", update},
                                    {std::string(kStaffStream), update},
                                    {"u-1", update},
                                    {"u-1", visit_event("v-2")}};
  storage::CommitResult result;
  result.event_seqs = {20, 21, 22, 23};
  publish_committed(hub, events, result);
  const auto got = member->events();
  ASSERT_EQ(got.size(), 4U);
  EXPECT_EQ(got[0]->content_seq, 20);
  EXPECT_EQ(got[1]->content_seq, 20);
  EXPECT_EQ(got[2]->content_seq, 20);
  EXPECT_EQ(got[3]->content_seq, 23);
  EXPECT_EQ(got[0]->body, got[2]->body);
}

}  // namespace
}  // namespace oshin::stream
