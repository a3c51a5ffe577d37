#include "oshin/stream/stream_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "stream_test_support.hpp"

namespace oshin::stream::testing {
namespace {

// The seq of a JSON or binary frame (0 when it does not parse).
std::int64_t seq_of(const Frame& frame) {
  if (frame.binary) {
    v1::ServerEvent event;
    return event.ParseFromString(frame.data) ? event.seq() : 0;
  }
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(frame.data, ec);
  if (ec || !v.is_object() || !v.as_object().contains("seq") || !v.at("seq").is_string()) {
    return 0;
  }
  return std::stoll(std::string(v.at("seq").as_string()));
}

std::string visit_of(const Frame& frame) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(frame.data, ec);
  if (ec || !v.is_object() || !v.as_object().contains("offer")) {
    return {};
  }
  return std::string(v.at("offer").at("visitId").as_string());
}

std::string error_code_of(const std::string& body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) {
    return {};
  }
  return std::string(v.at("error").at("code").as_string());
}

using StreamServerTest = StreamFixture;

TEST_F(StreamServerTest, HeaderAuthStreamsLiveJsonFrames) {
  start();
  WsClient client;
  auto hs = client.connect(endpoint_, url(), kNurseA.token);
  ASSERT_FALSE(hs.ec) << hs.ec.message();
  EXPECT_EQ(hs.status, 101U);
  EXPECT_TRUE(hs.subprotocol.empty());
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));

  std::int64_t seq = commit_one(kNurseA.user_id, "visit-1");
  auto frame = client.read();
  ASSERT_TRUE(frame) << client.error().message();
  EXPECT_FALSE(frame->binary);

  // {"seq":"17","type":"offer","at":"...","offer":{...}}, default values printed.
  boost::json::value v = boost::json::parse(frame->data);
  ASSERT_TRUE(v.is_object()) << frame->data;
  const auto& o = v.as_object();
  ASSERT_TRUE(o.contains("seq") && o.at("seq").is_string()) << frame->data;
  EXPECT_EQ(o.at("seq").as_string(), std::to_string(seq));
  EXPECT_EQ(o.at("type").as_string(), "offer");
  EXPECT_EQ(o.at("at").as_string(), "2026-01-01T00:00:00Z");
  ASSERT_TRUE(o.contains("offer")) << frame->data;
  const auto& offer = o.at("offer").as_object();
  EXPECT_EQ(offer.at("id").as_string(), "offer-visit-1");
  EXPECT_EQ(offer.at("visitId").as_string(), "visit-1");
  EXPECT_EQ(offer.at("chiefComplaint").as_string(), "fever");
  EXPECT_TRUE(offer.contains("urgency")) << "default values are printed: " << frame->data;
  EXPECT_FALSE(o.contains("visitUpdated"));
  EXPECT_FALSE(client.close());
}

// A client acts on its 101 at once (a nurse posts a visit right after connecting): the
// session must already be subscribed when the 101 leaves, or that action's event is lost to
// the connection. Published straight to the hub (no commit in between) to keep the window
// as narrow as a fast server makes it; repeated, since the race is about scheduling.
TEST_F(StreamServerTest, AnEventPublishedRightAfterTheHandshakeReachesTheClient) {
  start();
  for (std::int64_t round = 1; round <= 40; ++round) {
    WsClient client;
    auto hs = client.connect(endpoint_, url(), kNurseA.token);
    ASSERT_FALSE(hs.ec) << hs.ec.message();
    v1::ServerEvent event = offer_event("visit-" + std::to_string(round));
    event.set_seq(round);
    hub_.publish(kNurseA.user_id, make_live_event(event));
    auto frame = client.read();
    ASSERT_TRUE(frame) << "round " << round << ": " << client.error().message();
    EXPECT_EQ(seq_of(*frame), round);
    EXPECT_FALSE(client.close());
    ASSERT_TRUE(hub_.wait_for_connections(0, kDeadline));
  }
}

TEST_F(StreamServerTest, ProtobufSubprotocolSendsBinaryFrames) {
  start();
  WsClient client;
  auto hs = client.connect(endpoint_, url(), kNurseA.token, "oshin.v1.proto");
  ASSERT_FALSE(hs.ec) << hs.ec.message();
  EXPECT_EQ(hs.subprotocol, "oshin.v1.proto");
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));

  std::int64_t seq = commit_one(kNurseA.user_id, "visit-2");
  auto frame = client.read();
  ASSERT_TRUE(frame) << client.error().message();
  EXPECT_TRUE(frame->binary);
  v1::ServerEvent event;
  ASSERT_TRUE(event.ParseFromString(frame->data));
  EXPECT_EQ(event.seq(), seq);
  EXPECT_EQ(event.type(), "offer");
  EXPECT_EQ(event.offer().visit_id(), "visit-2");
}

TEST_F(StreamServerTest, JsonSubprotocolIsEchoedWhenOffered) {
  start();
  WsClient client;
  auto hs = client.connect(endpoint_, url(), kNurseA.token, "chat, oshin.v1.json");
  ASSERT_FALSE(hs.ec) << hs.ec.message();
  EXPECT_EQ(hs.subprotocol, "oshin.v1.json");
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));
  commit_one(kNurseA.user_id, "visit-3");
  auto frame = client.read();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->binary);
  EXPECT_EQ(visit_of(*frame), "visit-3");
}

TEST_F(StreamServerTest, MissingOrBadCredentialsFailTheHandshakeWith401) {
  start();
  for (const std::string& token : {std::string(), std::string("tok-unknown")}) {
    WsClient client;
    auto hs = client.connect(endpoint_, url(), token);
    EXPECT_EQ(hs.ec, websocket::error::upgrade_declined) << hs.ec.message();
    EXPECT_EQ(hs.status, 401U);
    EXPECT_EQ(error_code_of(hs.body), "UNAUTHENTICATED") << hs.body;
  }
  EXPECT_EQ(hub_.connections(), 0U);
}

TEST_F(StreamServerTest, BadSinceFailsTheHandshakeWith400) {
  start();
  for (std::string since : {"abc", "-1", "1.5", "99999999999999999999", ""}) {
    WsClient client;
    auto hs = client.connect(endpoint_, url("since=" + since), kNurseA.token);
    EXPECT_EQ(hs.status, 400U) << since;
    EXPECT_EQ(error_code_of(hs.body), "INVALID_ARGUMENT") << hs.body;
  }
}

TEST_F(StreamServerTest, TicketEndpointIssuesSingleUseTickets) {
  start();
  auto anonymous = http_request(endpoint_, bh::verb::post, "/v1/stream-tickets", "");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->result_int(), 401U);

  auto res = http_request(endpoint_, bh::verb::post, "/v1/stream-tickets", kNurseA.token);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->result_int(), 201U) << res->body();
  EXPECT_EQ((*res)[bh::field::cache_control], "no-store");
  boost::json::value body = boost::json::parse(res->body());
  std::string ticket(body.at("ticket").as_string());
  EXPECT_EQ(ticket.size(), 43U);  // 256 bits, base64url
  EXPECT_EQ(body.at("expiresAt").as_string(), "2026-01-01T00:00:30Z");

  // Only the hash is stored.
  auto stored = store_->list(std::string(kStreamTicketKind));
  ASSERT_TRUE(stored.has_value());
  ASSERT_EQ(stored->size(), 1U);
  EXPECT_EQ(stored->front().body.find(ticket), std::string::npos);
  EXPECT_NE(stored->front().id, ticket);

  auto unknown_field =
      http_request(endpoint_, bh::verb::post, "/v1/stream-tickets", kNurseA.token, "{\"x\":1}");
  ASSERT_TRUE(unknown_field);
  EXPECT_EQ(unknown_field->result_int(), 400U);

  WsClient first;
  auto hs = first.connect(endpoint_, url("ticket=" + ticket));
  ASSERT_FALSE(hs.ec) << hs.ec.message() << " " << hs.body;
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));
  commit_one(kNurseA.user_id, "visit-t");
  auto frame = first.read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(visit_of(*frame), "visit-t");

  // Marked used durably.
  auto after = store_->list(std::string(kStreamTicketKind));
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->size(), 1U);
  v1::StoredStreamTicket record;
  ASSERT_TRUE(record.ParseFromString(after->front().body));
  EXPECT_TRUE(record.used());
  EXPECT_EQ(record.user_id(), kNurseA.user_id);

  WsClient second;
  auto again = second.connect(endpoint_, url("ticket=" + ticket));
  EXPECT_EQ(again.status, 401U);
  EXPECT_EQ(error_code_of(again.body), "UNAUTHENTICATED");
}

TEST_F(StreamServerTest, ExpiredAndUnknownTicketsFailWith401) {
  start();
  std::string ticket = ticket_for(kNurseA);
  ASSERT_FALSE(ticket.empty());
  clock_.advance(31s);
  WsClient expired;
  EXPECT_EQ(expired.connect(endpoint_, url("ticket=" + ticket)).status, 401U);

  WsClient unknown;
  EXPECT_EQ(
      unknown.connect(endpoint_, url("ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status,
      401U);
  WsClient empty;
  EXPECT_EQ(empty.connect(endpoint_, url("ticket=")).status, 401U);
  WsClient huge;
  EXPECT_EQ(huge.connect(endpoint_, url("ticket=" + std::string(1000, 'A'))).status, 401U);

  // A fresh ticket still works after the clock moved.
  std::string fresh = ticket_for(kNurseA);
  WsClient ok;
  EXPECT_FALSE(ok.connect(endpoint_, url("ticket=" + fresh)).ec);
}

TEST_F(StreamServerTest, ATicketOfADisabledAccountFailsWith401) {
  start();
  std::string ticket = ticket_for(kNurseA);
  ASSERT_FALSE(ticket.empty());
  auth_.disable(kNurseA.user_id);
  WsClient client;
  EXPECT_EQ(client.connect(endpoint_, url("ticket=" + ticket)).status, 401U);
}

TEST_F(StreamServerTest, RevokingAnAccountClosesItsSessionsWith1008) {
  start();
  WsClient mine;
  ASSERT_FALSE(mine.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));
  hub_.revoke(kNurseA.user_id);
  EXPECT_FALSE(mine.read());
  EXPECT_EQ(mine.close_code(), 1008);
  EXPECT_EQ(mine.close_reason(), "access revoked");
  EXPECT_TRUE(hub_.wait_for_connections(0, kDeadline));
}

TEST_F(StreamServerTest, TicketsSurviveARestartOfTheService) {
  start();
  std::string ticket = ticket_for(kNurseA);
  std::string used = ticket_for(kNurseA);
  {
    WsClient client;
    ASSERT_FALSE(client.connect(endpoint_, url("ticket=" + used)).ec);
  }
  // A new service over the same store knows both: the unused one works once, the used one not.
  TicketService reloaded(*store_, clock_);
  ASSERT_TRUE(reloaded.load().has_value());
  auto redeem = [&](const std::string& t) {
    auto p = std::make_shared<std::promise<std::optional<std::string>>>();
    auto f = p->get_future();
    reloaded.redeem(t, [p](std::optional<std::string> user) { p->set_value(std::move(user)); });
    EXPECT_EQ(f.wait_for(kDeadline), std::future_status::ready);
    return f.get();
  };
  EXPECT_EQ(redeem(used), std::nullopt);
  EXPECT_EQ(redeem(ticket), std::optional<std::string>(kNurseA.user_id));
  EXPECT_EQ(redeem(ticket), std::nullopt);
}

TEST_F(StreamServerTest, TooManyLiveTicketsPerUserAreRefused) {
  start();
  for (std::size_t i = 0; i < TicketOptions{}.max_live_per_user; ++i) {
    ASSERT_FALSE(ticket_for(kNurseA).empty());
  }
  auto res = http_request(endpoint_, bh::verb::post, "/v1/stream-tickets", kNurseA.token);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 429U);
  // Another user is not affected; expiry frees the slots (and erases the stored records).
  EXPECT_FALSE(ticket_for(kDoctorB).empty());
  clock_.advance(31s);
  EXPECT_FALSE(ticket_for(kNurseA).empty());
  auto stored = store_->list(std::string(kStreamTicketKind));
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->size(), 1U);
}

TEST_F(StreamServerTest, ReplaysFromTheLogAfterADisconnect) {
  start();
  std::vector<std::int64_t> first;
  for (int i = 0; i < 3; ++i) {
    first.push_back(commit_one(kNurseA.user_id, "a-" + std::to_string(i)));
    commit_one(kDoctorB.user_id, "b-" + std::to_string(i));
  }
  std::int64_t last = 0;
  {
    WsClient client;
    ASSERT_FALSE(client.connect(endpoint_, url("since=0"), kNurseA.token).ec);
    for (int i = 0; i < 3; ++i) {
      auto frame = client.read();
      ASSERT_TRUE(frame) << client.error().message();
      EXPECT_EQ(seq_of(*frame), first[static_cast<std::size_t>(i)]);
      EXPECT_EQ(visit_of(*frame), "a-" + std::to_string(i));
      last = seq_of(*frame);
    }
    EXPECT_FALSE(client.close());
  }
  ASSERT_TRUE(hub_.wait_for_connections(0, kDeadline));
  // Committed while disconnected.
  std::int64_t missed1 = commit_one(kNurseA.user_id, "a-3");
  commit_one(kDoctorB.user_id, "b-3");
  std::int64_t missed2 = commit_one(kNurseA.user_id, "a-4");

  WsClient client;
  ASSERT_FALSE(client.connect(endpoint_, url("since=" + std::to_string(last)), kNurseA.token).ec);
  auto f1 = client.read();
  auto f2 = client.read();
  ASSERT_TRUE(f1 && f2);
  EXPECT_EQ(seq_of(*f1), missed1);
  EXPECT_EQ(seq_of(*f2), missed2);
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));
  std::int64_t live = commit_one(kNurseA.user_id, "a-5");
  auto f3 = client.read();
  ASSERT_TRUE(f3);
  EXPECT_EQ(seq_of(*f3), live);
  EXPECT_EQ(visit_of(*f3), "a-5");
}

TEST_F(StreamServerTest, ReplayRacingLiveEventsHasNoGapsOrDuplicates) {
  StreamOptions options;
  options.replay_page_size = 7;  // many pages, so live events land mid-replay
  start(options);
  constexpr int kBefore = 120;
  constexpr int kDuring = 120;
  for (int i = 0; i < kBefore; ++i) {
    commit_events({OutgoingEvent{kNurseA.user_id, offer_event("pre-" + std::to_string(i))},
                   OutgoingEvent{kDoctorB.user_id, offer_event("other")}});
  }
  std::atomic<bool> go{false};
  std::thread writer([&] {
    while (!go.load()) {
      std::this_thread::yield();
    }
    for (int i = 0; i < kDuring; ++i) {
      // Several recipients per transaction, as services commit them.
      commit_events({OutgoingEvent{kDoctorB.user_id, offer_event("other")},
                     OutgoingEvent{kNurseA.user_id, offer_event("live-" + std::to_string(i))}});
    }
  });
  WsClient client;
  go.store(true);
  auto hs = client.connect(endpoint_, url("since=0"), kNurseA.token);
  std::vector<std::int64_t> received;
  if (!hs.ec) {
    while (received.size() < static_cast<std::size_t>(kBefore + kDuring)) {
      auto frame = client.read();
      if (!frame) {
        ADD_FAILURE() << "read failed after " << received.size() << ": "
                      << client.error().message();
        break;
      }
      received.push_back(seq_of(*frame));
    }
  } else {
    ADD_FAILURE() << hs.ec.message();
  }
  writer.join();
  // Exactly the account's logged events, in order: no gap, no duplicate.
  EXPECT_EQ(received, logged_seqs(kNurseA.user_id));

  // Nothing more arrives except what is committed next.
  std::int64_t next = commit_one(kNurseA.user_id, "after");
  auto frame = client.read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(seq_of(*frame), next);
}

TEST_F(StreamServerTest, AccountsAreIsolated) {
  start();
  WsClient a;
  WsClient b;
  ASSERT_FALSE(a.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_FALSE(b.connect(endpoint_, url(), kDoctorB.token, "oshin.v1.proto").ec);
  ASSERT_TRUE(hub_.wait_for_connections(2, kDeadline));
  for (int i = 0; i < 5; ++i) {
    commit_events({OutgoingEvent{kNurseA.user_id, offer_event("a-" + std::to_string(i))},
                   OutgoingEvent{kDoctorB.user_id, offer_event("b-" + std::to_string(i))}});
  }
  for (int i = 0; i < 5; ++i) {
    auto fa = a.read();
    ASSERT_TRUE(fa);
    EXPECT_EQ(visit_of(*fa), "a-" + std::to_string(i));
    auto fb = b.read();
    ASSERT_TRUE(fb);
    v1::ServerEvent event;
    ASSERT_TRUE(event.ParseFromString(fb->data));
    EXPECT_EQ(event.offer().visit_id(), "b-" + std::to_string(i));
  }
  // A replay is scoped to the account too.
  WsClient replay;
  ASSERT_FALSE(replay.connect(endpoint_, url("since=0"), kDoctorB.token).ec);
  for (int i = 0; i < 5; ++i) {
    auto frame = replay.read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(visit_of(*frame), "b-" + std::to_string(i));
  }
}

// A visit update is written once to the requester's organization's stream, once to STAFF's and
// once per team member, however many accounts read them: each member hears it once, live and on
// replay, even when it reaches the account through two of its streams.
TEST_F(StreamServerTest, MembersHearTheirOrganizationsAndStaffsStreamsEachEventOnce) {
  start();
  auth_.add("tok-staff-c", Principal{"u-staff-c", "staff-c", Role::staff, "org-3", "h-c"});
  WsClient nurse;
  WsClient staff;
  WsClient doctor;
  ASSERT_FALSE(nurse.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_FALSE(staff.connect(endpoint_, url(), "tok-staff-c").ec);
  ASSERT_FALSE(doctor.connect(endpoint_, url(), kDoctorB.token).ec);
  ASSERT_TRUE(hub_.wait_for_connections(3, kDeadline));

  const auto both = std::make_shared<const v1::ServerEvent>(offer_event("both"));
  const auto first = commit_events(
      {{"org:org-1", both}, {std::string(kStaffStream), both}, {kNurseA.user_id, both}});
  ASSERT_EQ(first.size(), 3U);
  commit_events({{"org:org-2", offer_event("other-org")}});
  const auto only = commit_events({{"org:org-1", offer_event("org-only")}});
  ASSERT_EQ(only.size(), 1U);

  auto n1 = nurse.read();
  auto n2 = nurse.read();
  ASSERT_TRUE(n1 && n2);
  EXPECT_EQ(visit_of(*n1), "both");
  EXPECT_EQ(seq_of(*n1), first[0]);
  EXPECT_EQ(visit_of(*n2), "org-only");
  auto s1 = staff.read();
  ASSERT_TRUE(s1);
  EXPECT_EQ(visit_of(*s1), "both");
  EXPECT_EQ(seq_of(*s1), first[1]);
  auto d1 = doctor.read();
  ASSERT_TRUE(d1);
  EXPECT_EQ(visit_of(*d1), "other-org");

  // The replay is the same: the organization's events and the account's, the shared one once.
  WsClient replay;
  ASSERT_FALSE(replay.connect(endpoint_, url("since=0"), kNurseA.token).ec);
  auto r1 = replay.read();
  auto r2 = replay.read();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(seq_of(*r1), first[0]);
  EXPECT_EQ(visit_of(*r2), "org-only");
  EXPECT_EQ(seq_of(*r2), only[0]);
  ASSERT_TRUE(hub_.wait_for_connections(4, kDeadline));
  // Nothing else is in between: the next frame is the next event.
  const std::int64_t next = commit_one(kNurseA.user_id, "after");
  auto r3 = replay.read();
  ASSERT_TRUE(r3);
  EXPECT_EQ(seq_of(*r3), next);
  auto n3 = nurse.read();
  ASSERT_TRUE(n3);
  EXPECT_EQ(seq_of(*n3), next);
}

TEST_F(StreamServerTest, SlowConsumerIsDroppedWithoutHoldingUpOthers) {
  StreamOptions options;
  options.max_queued_events = 8;
  options.close_timeout = 500ms;
  options.socket_send_buffer = 16 * 1024;
  start(options);
  WsClient slow;
  ASSERT_FALSE(slow.connect(endpoint_, url(), kNurseA.token, "oshin.v1.proto", 4096).ec);
  WsClient fast;
  ASSERT_FALSE(fast.connect(endpoint_, url(), kNurseA.token, "oshin.v1.proto").ec);
  ASSERT_TRUE(hub_.wait_for_connections(2, kDeadline));

  // Live events of 8 KiB each: far more than the slow client's socket buffers hold.
  constexpr int kEvents = 200;
  auto started = std::chrono::steady_clock::now();
  for (int i = 1; i <= kEvents; ++i) {
    auto event = std::make_shared<v1::ServerEvent>(offer_event("v", 8 * 1024));
    event->set_seq(i);
    hub_.publish(kNurseA.user_id, std::move(event));
    auto frame = fast.read();
    ASSERT_TRUE(frame) << "fast client failed at " << i << ": " << fast.error().message();
    ASSERT_EQ(seq_of(*frame), i);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, kDeadline);
  // The slow one was dropped; the fast one is still there.
  EXPECT_TRUE(hub_.wait_for_connections(1, kDeadline));
  EXPECT_EQ(metrics_.ws_connections.value(), 1);

  int got = 0;
  while (slow.read()) {
    ++got;
  }
  EXPECT_LT(got, kEvents);
  EXPECT_NE(slow.error(), beast::error::timeout) << "the slow client was not disconnected";
  if (slow.close_code() != 0) {
    EXPECT_EQ(slow.close_code(), 1013);
    EXPECT_EQ(slow.close_reason(), "slow consumer");
  }
}

TEST_F(StreamServerTest, OversizedClientMessageClosesWith1009) {
  start();
  WsClient client;
  ASSERT_FALSE(client.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));
  // A small message is read and ignored.
  EXPECT_FALSE(client.write_text("hello"));
  commit_one(kNurseA.user_id, "still-here");
  auto frame = client.read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(visit_of(*frame), "still-here");

  (void)client.write_text(std::string(65 * 1024, 'a'));
  EXPECT_FALSE(client.read());
  EXPECT_EQ(client.error(), websocket::error::closed) << client.error().message();
  EXPECT_EQ(client.close_code(), 1009);
  EXPECT_TRUE(hub_.wait_for_connections(0, kDeadline));
}

TEST_F(StreamServerTest, ConnectionsGaugeFollowsSessions) {
  start();
  WsClient a1;
  WsClient a2;
  WsClient b;
  ASSERT_FALSE(a1.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_FALSE(a2.connect(endpoint_, url("since=0"), kNurseA.token).ec);
  ASSERT_FALSE(b.connect(endpoint_, url(), kDoctorB.token).ec);
  ASSERT_TRUE(hub_.wait_for_connections(3, kDeadline));
  EXPECT_EQ(metrics_.ws_connections.value(), 3);
  EXPECT_NE(registry_.render().find("oshin_ws_connections 3"), std::string::npos);
  EXPECT_FALSE(a2.close());
  ASSERT_TRUE(hub_.wait_for_connections(2, kDeadline));
  EXPECT_EQ(metrics_.ws_connections.value(), 2);
}

TEST_F(StreamServerTest, ShutdownClosesSessionsWith1001) {
  start();
  WsClient client;
  ASSERT_FALSE(client.connect(endpoint_, url(), kNurseA.token).ec);
  ASSERT_TRUE(hub_.wait_for_connections(1, kDeadline));

  auto closed = std::make_shared<std::promise<void>>();
  auto future = closed->get_future();
  stream_->shutdown([closed] { closed->set_value(); });
  EXPECT_FALSE(client.read());
  EXPECT_EQ(client.close_code(), 1001);
  EXPECT_EQ(future.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(stream_->session_count(), 0U);
  EXPECT_EQ(metrics_.ws_connections.value(), 0);

  WsClient late;
  EXPECT_EQ(late.connect(endpoint_, url(), kNurseA.token).status, 503U);
  stream_shutdown_done_ = true;
}

}  // namespace
}  // namespace oshin::stream::testing
