#pragma once

// Helpers shared by the stream tests: a real HttpServer + SQLite store + StreamServer in
// process, a fake authenticator, and WebSocket / HTTP clients whose every operation has a
// deadline.

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "oshin/common/clock.hpp"
#include "oshin/common/metrics.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "oshin/stream/stream_server.hpp"
#include "oshin/stream/ticket_service.hpp"

namespace oshin::stream::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

/// How long any test waits for anything before failing.
inline constexpr std::chrono::milliseconds kDeadline{10s};

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "oshin-stream-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) {
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// Maps fixed test tokens to principals.
class FakeAuthenticator final : public http::Authenticator {
 public:
  void add(std::string token, Principal principal) {
    std::lock_guard lock(mutex_);
    principals_[std::move(token)] = std::move(principal);
  }
  std::optional<Principal> authenticate(std::string_view bearer_token) override {
    std::lock_guard lock(mutex_);
    auto it = principals_.find(std::string(bearer_token));
    if (it == principals_.end()) {
      return std::nullopt;
    }
    return it->second;
  }
  /// Every account is active unless disabled here.
  void disable(std::string user_id) {
    std::lock_guard lock(mutex_);
    disabled_.insert(std::move(user_id));
  }
  /// The principal added for the account (by any of its tokens), or just its id.
  std::optional<Principal> active_account(std::string_view user_id) override {
    std::lock_guard lock(mutex_);
    if (disabled_.count(std::string(user_id)) != 0) {
      return std::nullopt;
    }
    for (const auto& [token, principal] : principals_) {
      if (principal.user_id == user_id) {
        return principal;
      }
    }
    Principal p;
    p.user_id = std::string(user_id);
    return p;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Principal> principals_;
  std::set<std::string> disabled_;
};

/// Runs async operations on a private io_context, each bounded by a deadline: a broken server
/// fails the test instead of hanging it.
class Driver {
 public:
  net::io_context& ioc() { return ioc_; }

  /// Starts an operation whose completion handler is passed to `start`, runs until it completes
  /// or `timeout` passes (then `cancel` is called and the operation is drained). Returns the
  /// operation's error, or beast::error::timeout.
  template <class Start, class Cancel>
  beast::error_code run(Start start, Cancel cancel, std::chrono::milliseconds timeout) {
    bool done = false;
    beast::error_code result;
    start([&done, &result](beast::error_code ec, auto&&...) {
      done = true;
      result = ec;
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (done) {
      return result;
    }
    cancel();
    ioc_.restart();
    ioc_.run_for(kDeadline);
    return beast::error::timeout;
  }

 private:
  net::io_context ioc_;
};

/// The outcome of a WebSocket opening handshake.
struct HandshakeResult {
  beast::error_code ec;
  unsigned status = 0;      ///< 101 on success, else the HTTP status the server answered
  std::string body;         ///< the refusal's body
  std::string subprotocol;  ///< Sec-WebSocket-Protocol of the answer
};

/// One frame received.
struct Frame {
  bool binary = false;
  std::string data;
};

/// A WebSocket client of /v1/stream.
class WsClient {
 public:
  WsClient() : ws_(driver_.ioc()) {}

  /// Connects and performs the handshake for `target`. `receive_buffer` shrinks the socket's
  /// receive buffer before connecting (a client that cannot take much).
  HandshakeResult connect(const tcp::endpoint& endpoint, const std::string& target,
                          const std::string& bearer = {}, const std::string& subprotocols = {},
                          std::optional<int> receive_buffer = std::nullopt) {
    HandshakeResult out;
    auto& socket = beast::get_lowest_layer(ws_).socket();
    if (receive_buffer) {
      socket.open(endpoint.protocol());
      socket.set_option(net::socket_base::receive_buffer_size(*receive_buffer));
    }
    out.ec = driver_.run(
        [&](auto handler) { beast::get_lowest_layer(ws_).async_connect(endpoint, handler); },
        [&] { beast::get_lowest_layer(ws_).close(); }, kDeadline);
    if (out.ec) {
      return out;
    }
    ws_.set_option(
        websocket::stream_base::decorator([bearer, subprotocols](websocket::request_type& req) {
          if (!bearer.empty()) {
            req.set(bh::field::authorization, "Bearer " + bearer);
          }
          if (!subprotocols.empty()) {
            req.set(bh::field::sec_websocket_protocol, subprotocols);
          }
        }));
    websocket::response_type res;
    out.ec =
        driver_.run([&](auto handler) { ws_.async_handshake(res, "127.0.0.1", target, handler); },
                    [&] { beast::get_lowest_layer(ws_).close(); }, kDeadline);
    out.status = res.result_int();
    out.body = res.body();
    out.subprotocol = std::string(res[bh::field::sec_websocket_protocol]);
    return out;
  }

  /// Reads one frame; nullopt on error (see error() and close_code()).
  std::optional<Frame> read(std::chrono::milliseconds timeout = kDeadline) {
    buffer_.clear();
    error_ = driver_.run([&](auto handler) { ws_.async_read(buffer_, handler); },
                         [&] { beast::get_lowest_layer(ws_).close(); }, timeout);
    if (error_) {
      return std::nullopt;
    }
    return Frame{ws_.got_binary(), beast::buffers_to_string(buffer_.data())};
  }

  /// Sends one text message.
  beast::error_code write_text(const std::string& data) {
    ws_.text(true);
    return driver_.run([&](auto handler) { ws_.async_write(net::buffer(data), handler); },
                       [&] { beast::get_lowest_layer(ws_).close(); }, kDeadline);
  }

  /// Closes normally (1000).
  beast::error_code close() {
    return driver_.run(
        [&](auto handler) { ws_.async_close(websocket::close_code::normal, handler); },
        [&] { beast::get_lowest_layer(ws_).close(); }, kDeadline);
  }

  beast::error_code error() const { return error_; }
  /// The close code the server sent (0 when none arrived).
  std::uint16_t close_code() const { return ws_.reason().code; }
  std::string close_reason() const { return std::string(ws_.reason().reason.c_str()); }

 private:
  Driver driver_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

/// One HTTP request on a fresh connection; nullopt on a transport error or timeout.
inline std::optional<bh::response<bh::string_body>> http_request(const tcp::endpoint& endpoint,
                                                                 bh::verb method,
                                                                 const std::string& target,
                                                                 const std::string& bearer,
                                                                 const std::string& body = {}) {
  Driver driver;
  beast::tcp_stream stream(driver.ioc());
  auto cancel = [&] { stream.close(); };
  if (driver.run([&](auto handler) { stream.async_connect(endpoint, handler); }, cancel,
                 kDeadline)) {
    return std::nullopt;
  }
  bh::request<bh::string_body> req{method, target, 11};
  req.set(bh::field::host, "127.0.0.1");
  if (!bearer.empty()) {
    req.set(bh::field::authorization, "Bearer " + bearer);
  }
  if (!body.empty()) {
    req.set(bh::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  if (driver.run([&](auto handler) { bh::async_write(stream, req, handler); }, cancel, kDeadline)) {
    return std::nullopt;
  }
  beast::flat_buffer buffer;
  bh::response<bh::string_body> res;
  if (driver.run([&](auto handler) { bh::async_read(stream, buffer, res, handler); }, cancel,
                 kDeadline)) {
    return std::nullopt;
  }
  return res;
}

/// A test account: token and principal.
struct Account {
  std::string token;
  std::string user_id;
};

inline const Account kNurseA{"tok-nurse-a", "u-nurse-a"};
inline const Account kDoctorB{"tok-doctor-b", "u-doctor-b"};

/// A real HttpServer on 127.0.0.1:0 with a SQLite store in a temp dir and a StreamServer on its
/// upgrade hook, served by two I/O threads. Call start() in each test (with its options).
class StreamFixture : public ::testing::Test {
 protected:
  void start(StreamOptions options = {}) {
    storage::SqliteOptions store_options;
    store_options.data_dir = dir_.path();
    auto opened = storage::open_sqlite_store(store_options);
    ASSERT_TRUE(opened.has_value()) << opened.error().message();
    store_ = std::move(*opened);

    auth_.add(kNurseA.token, Principal{kNurseA.user_id, "nurse-a", Role::nurse, "org-1", "h-a"});
    auth_.add(kDoctorB.token,
              Principal{kDoctorB.user_id, "doctor-b", Role::doctor, "org-2", "h-b"});

    tickets_ = std::make_unique<TicketService>(*store_, clock_);
    ASSERT_TRUE(tickets_->load().has_value());
    router_ = std::make_unique<http::Router>(&auth_);
    add_stream_routes(*router_, *tickets_);

    work_ = std::make_unique<net::thread_pool>(1);
    stream_ = std::make_unique<StreamServer>(hub_, *store_, auth_, *tickets_, metrics_,
                                             work_->get_executor(), options);
    http_ =
        std::make_unique<http::HttpServer>(ioc_, *router_, metrics_, http::HttpOptions{}, &clock_);
    http_->set_upgrade_handler(stream_->upgrade_handler());
    auto bound = http_->listen(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    ASSERT_TRUE(bound.has_value());
    endpoint_ = *bound;
    http_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void TearDown() override { stop(); }

  /// Graceful shutdown of everything start() started.
  void stop() {
    if (stream_ && !stream_shutdown_done_) {
      auto closed = std::make_shared<std::promise<void>>();
      auto future = closed->get_future();
      stream_->shutdown([closed] { closed->set_value(); });
      EXPECT_EQ(future.wait_for(kDeadline), std::future_status::ready)
          << "stream sessions did not close";
    }
    if (http_) {
      auto drained = std::make_shared<std::promise<void>>();
      auto drained_future = drained->get_future();
      http_->shutdown([drained] { drained->set_value(); });
      EXPECT_EQ(drained_future.wait_for(kDeadline), std::future_status::ready);
    }
    guard_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
    if (work_) {
      work_->join();
    }
    if (store_) {
      store_->close();
    }
    stream_.reset();
  }

  std::string url(const std::string& query = {}) const {
    return query.empty() ? "/v1/stream" : "/v1/stream?" + query;
  }

  /// An event as a service makes it (seq 0, `at` set).
  v1::ServerEvent offer_event(const std::string& visit_id, std::size_t filler = 0) {
    v1::ServerEvent event;
    event.set_type("offer");
    *event.mutable_at() =
        google::protobuf::util::TimeUtil::MillisecondsToTimestamp(to_unix_ms(clock_.now()));
    v1::Offer* offer = event.mutable_offer();
    offer->set_id("offer-" + visit_id);
    offer->set_visit_id(visit_id);
    offer->set_team_id("team-1");
    offer->set_chief_complaint(filler == 0 ? "fever" : std::string(filler, 'x'));
    return event;
  }

  /// Commits the events exactly as services do (add_events, commit, publish_committed from the
  /// commit handler) and returns their seqs once published.
  std::vector<std::int64_t> commit_events(std::vector<OutgoingEvent> events) {
    storage::Transaction tx;
    add_events(tx, events, to_unix_ms(clock_.now()));
    auto done = std::make_shared<std::promise<std::vector<std::int64_t>>>();
    auto future = done->get_future();
    store_->commit(std::move(tx), [this, done, events = std::move(events)](
                                      Result<storage::CommitResult> result) mutable {
      if (!result) {
        done->set_value({});
        return;
      }
      publish_committed(hub_, std::move(events), *result);
      done->set_value(result->event_seqs);
    });
    if (future.wait_for(kDeadline) != std::future_status::ready) {
      ADD_FAILURE() << "commit did not complete";
      return {};
    }
    return future.get();
  }

  std::int64_t commit_one(const std::string& account_id, const std::string& visit_id) {
    auto seqs = commit_events({OutgoingEvent{account_id, offer_event(visit_id)}});
    EXPECT_EQ(seqs.size(), 1U);
    return seqs.empty() ? 0 : seqs.front();
  }

  /// Seqs of every logged event of an account, ascending.
  std::vector<std::int64_t> logged_seqs(const std::string& account_id) {
    std::vector<std::int64_t> seqs;
    std::int64_t after = 0;
    while (true) {
      auto page = store_->events_after(after, account_id, 1000);
      EXPECT_TRUE(page.has_value());
      if (!page || page->empty()) {
        return seqs;
      }
      for (const auto& e : *page) {
        seqs.push_back(e.seq);
      }
      after = page->back().seq;
    }
  }

  /// A fresh ticket for an account via POST /v1/stream-tickets ("" on failure).
  std::string ticket_for(const Account& account) {
    auto res = http_request(endpoint_, bh::verb::post, "/v1/stream-tickets", account.token);
    EXPECT_TRUE(res.has_value());
    if (!res) {
      return {};
    }
    EXPECT_EQ(res->result_int(), 201U) << res->body();
    boost::system::error_code ec;
    boost::json::value body = boost::json::parse(res->body(), ec);
    if (ec || !body.is_object() || !body.as_object().contains("ticket")) {
      ADD_FAILURE() << "bad ticket answer: " << res->body();
      return {};
    }
    return std::string(body.at("ticket").as_string());
  }

  TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  ManualClock clock_{from_unix_ms(1'767'225'600'000)};  // 2026-01-01T00:00:00Z
  MetricsRegistry registry_;
  ServerMetrics metrics_{registry_};
  StreamHub hub_;
  FakeAuthenticator auth_;
  std::unique_ptr<TicketService> tickets_;
  std::unique_ptr<http::Router> router_;
  net::io_context ioc_{2};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard_{
      ioc_.get_executor()};
  std::unique_ptr<net::thread_pool> work_;
  std::unique_ptr<StreamServer> stream_;
  std::unique_ptr<http::HttpServer> http_;
  std::vector<std::thread> threads_;
  tcp::endpoint endpoint_;
  bool stream_shutdown_done_ = false;  ///< the test shut the StreamServer down itself
};

}  // namespace oshin::stream::testing
