// g++ 12 at -O2 reports -Wnull-dereference false positives inside Asio's strand and scheduler
// code inlined into this file (system headers, not our pointers).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "oshin/http/http_server.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "oshin/http/codec.hpp"

namespace oshin::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using ClientResponse = bh::response<bh::string_body>;

constexpr auto kDeadline = 5s;

// A client on its own io_context; every operation has a deadline, so a broken server fails the
// test instead of hanging it.
class TestClient {
 public:
  // `from`: the local address to connect from (any of 127.0.0.0/8 works on loopback).
  explicit TestClient(const tcp::endpoint& endpoint, std::optional<net::ip::address> from = {}) {
    if (from) {
      stream_.socket().open(tcp::v4(), error_);
      if (!error_) {
        stream_.socket().bind(tcp::endpoint(*from, 0), error_);
      }
      if (error_) {
        return;
      }
    }
    error_ =
        run([&](auto handler) { stream_.async_connect(endpoint, std::move(handler)); }, kDeadline);
  }

  bool connected() const { return !error_; }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }
  beast::error_code error() const { return error_; }

  beast::error_code send(std::string_view data) {
    return run(
        [&](auto handler) {
          net::async_write(stream_, net::buffer(data.data(), data.size()), std::move(handler));
        },
        kDeadline);
  }

  std::optional<ClientResponse> read_response(bool head = false) {
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(1024 * 1024);
    parser.skip(head);
    error_ =
        run([&](auto handler) { bh::async_read(stream_, buffer_, parser, std::move(handler)); },
            kDeadline);
    if (error_) {
      return std::nullopt;
    }
    return parser.release();
  }

  // Reads raw bytes up to and including `delimiter`.
  std::string read_until(std::string_view delimiter) {
    std::string out;
    auto dynamic = net::dynamic_buffer(out);
    error_ = run(
        [&](auto handler) {
          net::async_read_until(stream_, dynamic, std::string(delimiter), std::move(handler));
        },
        kDeadline);
    return out;
  }

  // True when the server closes the connection within `timeout`; `received` collects any bytes
  // that arrived first.
  bool wait_closed(std::chrono::steady_clock::duration timeout, std::string* received = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    if (received != nullptr) {
      received->assign(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    }
    std::array<char, 4096> chunk{};
    while (true) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::steady_clock::duration::zero()) {
        return false;
      }
      std::size_t got = 0;
      auto ec = run(
          [&](auto handler) {
            stream_.async_read_some(
                net::buffer(chunk),
                [&got, handler = std::move(handler)](beast::error_code e, std::size_t n) mutable {
                  got = n;
                  handler(e, n);
                });
          },
          left);
      if (ec == beast::error::timeout) {
        return false;
      }
      if (ec) {
        return true;  // eof or reset: closed by the server
      }
      if (received != nullptr) {
        received->append(chunk.data(), got);
      }
    }
  }

 private:
  template <class Start>
  beast::error_code run(Start start, std::chrono::steady_clock::duration timeout) {
    stream_.expires_after(timeout);
    beast::error_code result = net::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  net::io_context ioc_;
  beast::tcp_stream stream_{ioc_};
  beast::flat_buffer buffer_;
  beast::error_code error_;
};

std::string get(std::string_view target, std::string_view extra_headers = {}) {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

std::string error_code_of(const ClientResponse& res) {
  auto v = boost::json::parse(res.body());
  return std::string(v.at("error").at("code").as_string());
}

bool is_hex_id(std::string_view id) {
  return id.size() == 32 && id.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

// Requests a handler parked, for answering later from another thread.
class Mailbox {
 public:
  struct Pending {
    std::shared_ptr<RequestContext> ctx;
    Responder respond;
  };

  void push(Pending p) {
    {
      std::lock_guard lock(mutex_);
      items_.push_back(std::move(p));
    }
    cv_.notify_all();
  }

  std::optional<Pending> pop() {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, kDeadline, [this] { return !items_.empty(); })) {
      return std::nullopt;
    }
    Pending p = std::move(items_.front());
    items_.pop_front();
    return p;
  }

  void clear() {
    std::deque<Pending> drop;
    {
      std::lock_guard lock(mutex_);
      drop.swap(items_);
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Pending> items_;
};

// Keeps log lines in memory.
class CaptureSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  std::string contents() {
    std::lock_guard lock(mutex_);
    return text_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    text_.append(msg.payload.data(), msg.payload.size());
    text_.push_back('\n');
  }
  void flush_() override {}

 private:
  std::string text_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpOptions options = {}, UpgradeHandler upgrade = nullptr) {
    router_.add(bh::verb::get, "/hello", Access::open(),
                [](std::shared_ptr<RequestContext> ctx, Responder respond) {
                  respond(make_raw_response(ctx->request, bh::status::ok, "hello", "text/plain"));
                });
    router_.add(bh::verb::post, "/echo", Access::open(),
                [](std::shared_ptr<RequestContext> ctx, Responder respond) {
                  respond(make_raw_response(ctx->request, bh::status::ok, ctx->request.body(),
                                            "text/plain"));
                });
    router_.add(bh::verb::get, "/v1/users/{id}", Access::open(),
                [](std::shared_ptr<RequestContext> ctx, Responder respond) {
                  respond(make_empty_response(ctx->request, bh::status::no_content));
                });
    router_.add(bh::verb::get, "/slow", Access::open(),
                [this](std::shared_ptr<RequestContext> ctx, Responder respond) {
                  mailbox_.push({std::move(ctx), std::move(respond)});
                });
    router_.add(bh::verb::get, "/drop", Access::open(),
                [](std::shared_ptr<RequestContext>, Responder) {});
    server_.emplace(ioc_, router_, metrics_, options);
    if (upgrade) {
      server_->set_upgrade_handler(std::move(upgrade));
    }
    auto bound = server_->listen(tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    ASSERT_TRUE(bound) << bound.error().message();
    endpoint_ = *bound;
    ASSERT_NE(endpoint_.port(), 0);
    server_->start();
    for (int i = 0; i < 2; ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void TearDown() override {
    mailbox_.clear();
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      t.join();
    }
  }

  // Answers the next parked request from a thread of its own.
  void answer_later(std::string body) {
    std::thread worker([this, body = std::move(body)] {
      auto pending = mailbox_.pop();
      ASSERT_TRUE(pending);
      pending->respond(
          make_raw_response(pending->ctx->request, bh::status::ok, body, "text/plain"));
      // A second answer is ignored.
      pending->respond(make_empty_response(pending->ctx->request, bh::status::no_content));
    });
    worker.join();
  }

  double count(const std::string& route, const std::string& code) {
    return metrics_.http_requests_total.value({route, code});
  }

  MetricsRegistry registry_;
  ServerMetrics metrics_{registry_};
  Router router_{nullptr};
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> work_ = net::make_work_guard(ioc_);
  std::optional<HttpServer> server_;
  std::vector<std::thread> threads_;
  tcp::endpoint endpoint_;
  Mailbox mailbox_;
};

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  start();
  TestClient client(endpoint_);
  ASSERT_TRUE(client.connected());
  ASSERT_FALSE(client.send(get("/hello")));
  auto first = client.read_response();
  ASSERT_TRUE(first) << client.error().message();
  EXPECT_EQ(first->result(), bh::status::ok);
  EXPECT_EQ(first->body(), "hello");
  EXPECT_TRUE(first->keep_alive());
  EXPECT_EQ(first->at(bh::field::cache_control), "no-store");
  EXPECT_TRUE(is_hex_id(first->at("X-Request-Id"))) << first->at("X-Request-Id");

  ASSERT_FALSE(client.send(post("/echo", "abc")));
  auto second = client.read_response();
  ASSERT_TRUE(second) << client.error().message();
  EXPECT_EQ(second->body(), "abc");
  EXPECT_NE(second->at("X-Request-Id"), first->at("X-Request-Id"));
  EXPECT_EQ(server_->connection_count(), 1U);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/slow") + get("/hello") + post("/echo", "xyz")));
  answer_later("slow");
  for (const char* expected : {"slow", "hello", "xyz"}) {
    auto res = client.read_response();
    ASSERT_TRUE(res) << client.error().message();
    EXPECT_EQ(res->body(), expected);
  }
}

TEST_F(HttpServerTest, EchoesSaneRequestIds) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/hello", "X-Request-Id: abc-123-XYZ\r\n")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->at("X-Request-Id"), "abc-123-XYZ");

  ASSERT_FALSE(client.send(get("/hello", "X-Request-Id: bad id; drop table\r\n")));
  res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_TRUE(is_hex_id(res->at("X-Request-Id")));

  ASSERT_FALSE(client.send(get("/hello", "X-Request-Id: " + std::string(65, 'a') + "\r\n")));
  res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_TRUE(is_hex_id(res->at("X-Request-Id")));
}

TEST_F(HttpServerTest, HeaderBlockOver8KiBIs431AndCloses) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/hello", "X-Big: " + std::string(9 * 1024, 'a') + "\r\n")));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result_int(), 431U);
  EXPECT_EQ(error_code_of(*res), "HEADERS_TOO_LARGE");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(client.wait_closed(kDeadline));
  EXPECT_EQ(count("unmatched", "431"), 1.0);
}

TEST_F(HttpServerTest, BodyOver64KiBIs413AndCloses) {
  start();
  {
    TestClient client(endpoint_);
    ASSERT_FALSE(client.send(post("/echo", std::string(65536, 'b'))));
    auto res = client.read_response();
    ASSERT_TRUE(res) << client.error().message();
    EXPECT_EQ(res->result(), bh::status::ok);
    EXPECT_EQ(res->body().size(), 65536U);
  }
  TestClient client(endpoint_);
  // The server may answer before reading the body; a failed write is fine, the answer is not.
  (void)client.send(post("/echo", std::string(65537, 'b')));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result_int(), 413U);
  EXPECT_EQ(error_code_of(*res), "PAYLOAD_TOO_LARGE");
  EXPECT_TRUE(client.wait_closed(kDeadline));
}

TEST_F(HttpServerTest, ChunkedBodyOver64KiBIs413) {
  start();
  TestClient client(endpoint_);
  std::string request = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) {
    request += "4000\r\n" + std::string(0x4000, 'c') + "\r\n";
  }
  request += "0\r\n\r\n";
  (void)client.send(request);
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result_int(), 413U);
  EXPECT_TRUE(client.wait_closed(kDeadline));
}

TEST_F(HttpServerTest, ChunkedBodyWithinLimitIsRead) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(
      client.send("POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->body(), "abcde");
}

TEST_F(HttpServerTest, ContentLengthWithTransferEncodingIs400) {
  start();
  for (const char* headers : {"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
                              "Transfer-Encoding: gzip\r\nContent-Length: 3\r\n",
                              "Transfer-Encoding: gzip, chunked\r\n"}) {
    TestClient client(endpoint_);
    (void)client.send(std::string("POST /echo HTTP/1.1\r\nHost: test\r\n") + headers +
                      "\r\n3\r\nabc\r\n0\r\n\r\n");
    auto res = client.read_response();
    ASSERT_TRUE(res) << headers << client.error().message();
    EXPECT_EQ(res->result(), bh::status::bad_request) << headers;
    EXPECT_EQ(error_code_of(*res), "MALFORMED_REQUEST") << headers;
    EXPECT_TRUE(client.wait_closed(kDeadline)) << headers;
  }
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  start();
  for (const char* garbage :
       {"HELLO\r\n\r\n", "GET /hello HTTP/9.9\r\n\r\n", "GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
    TestClient client(endpoint_);
    ASSERT_FALSE(client.send(garbage));
    auto res = client.read_response();
    ASSERT_TRUE(res) << garbage << client.error().message();
    EXPECT_EQ(res->result(), bh::status::bad_request) << garbage;
    EXPECT_EQ(error_code_of(*res), "MALFORMED_REQUEST");
    EXPECT_TRUE(client.wait_closed(kDeadline));
  }
}

TEST_F(HttpServerTest, HandlerMayRespondLaterFromAnotherThread) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/slow")));
  answer_later("later");
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result(), bh::status::ok);
  EXPECT_EQ(res->body(), "later");
  // The ignored second answer leaves the connection usable.
  ASSERT_FALSE(client.send(get("/hello")));
  res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "hello");
}

TEST_F(HttpServerTest, DroppedResponderIs500) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/drop")));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result(), bh::status::internal_server_error);
  EXPECT_EQ(error_code_of(*res), "INTERNAL");
}

TEST_F(HttpServerTest, HeadSendsHeadersOnly) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  auto res = client.read_response(/*head=*/true);
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result(), bh::status::ok);
  EXPECT_EQ(res->at(bh::field::content_length), "5");
  EXPECT_TRUE(res->body().empty());
  ASSERT_FALSE(client.send(get("/hello")));
  res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "hello");
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimAnswer) {
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(
      "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = client.read_until("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_FALSE(client.send("abc"));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->body(), "abc");
}

TEST_F(HttpServerTest, SlowHeaderIsDropped) {
  HttpOptions options;
  options.header_timeout = 200ms;
  start(options);
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send("GET /hello HTTP/1.1\r\nHost: te"));
  std::string received;
  EXPECT_TRUE(client.wait_closed(kDeadline, &received));
  EXPECT_TRUE(received.empty()) << received;
}

TEST_F(HttpServerTest, SilentConnectionIsDropped) {
  HttpOptions options;
  options.header_timeout = 200ms;
  start(options);
  TestClient client(endpoint_);
  ASSERT_TRUE(client.connected());
  EXPECT_TRUE(client.wait_closed(kDeadline));
}

TEST_F(HttpServerTest, IdleKeepAliveIsClosed) {
  HttpOptions options;
  options.idle_timeout = 200ms;
  start(options);
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/hello")));
  ASSERT_TRUE(client.read_response());
  EXPECT_TRUE(client.wait_closed(kDeadline));
}

TEST_F(HttpServerTest, ConnectionsOverTheLimitAreClosed) {
  HttpOptions options;
  options.max_connections = 1;
  start(options);
  TestClient first(endpoint_);
  ASSERT_FALSE(first.send(get("/hello")));
  ASSERT_TRUE(first.read_response());
  TestClient second(endpoint_);
  (void)second.send(get("/hello"));
  std::string received;
  EXPECT_TRUE(second.wait_closed(kDeadline, &received));
  EXPECT_TRUE(received.empty());
}

TEST_F(HttpServerTest, ConnectionsOverThePerAddressLimitAreClosedOthersAreServed) {
  HttpOptions options;
  options.max_connections_per_address = 2;
  start(options);
  auto here = net::ip::make_address("127.0.0.1");
  auto elsewhere = net::ip::make_address("127.0.0.2");
  TestClient a(endpoint_, here);
  TestClient b(endpoint_, here);
  for (TestClient* c : {&a, &b}) {
    ASSERT_FALSE(c->send(get("/hello")));
    ASSERT_TRUE(c->read_response());
  }
  // A third from the same address is closed at once, unanswered.
  TestClient c(endpoint_, here);
  (void)c.send(get("/hello"));
  std::string received;
  EXPECT_TRUE(c.wait_closed(kDeadline, &received));
  EXPECT_TRUE(received.empty());
  // Another address is served meanwhile.
  TestClient other(endpoint_, elsewhere);
  ASSERT_TRUE(other.connected()) << other.error().message();
  ASSERT_FALSE(other.send(get("/hello")));
  EXPECT_TRUE(other.read_response());
  // When one of the first two leaves, the address may connect again (the server notices the
  // close asynchronously: retry until served or the deadline).
  a.close();
  auto until = std::chrono::steady_clock::now() + kDeadline;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < until) {
    TestClient again(endpoint_, here);
    served = !again.send(get("/hello")) && again.read_response().has_value();
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, GracefulShutdownFinishesInFlightRequest) {
  start();
  TestClient idle(endpoint_);
  ASSERT_FALSE(idle.send(get("/hello")));
  ASSERT_TRUE(idle.read_response());

  TestClient busy(endpoint_);
  ASSERT_FALSE(busy.send(get("/slow")));
  auto pending = mailbox_.pop();
  ASSERT_TRUE(pending);

  std::promise<void> drained;
  auto drained_future = drained.get_future();
  server_->shutdown([&drained] { drained.set_value(); });

  // The idle keep-alive connection is closed; the busy one waits for its answer.
  EXPECT_TRUE(idle.wait_closed(kDeadline));
  EXPECT_EQ(drained_future.wait_for(0s), std::future_status::timeout);

  // New connections get nothing.
  TestClient late(endpoint_);
  if (late.connected()) {
    (void)late.send(get("/hello"));
    std::string received;
    EXPECT_TRUE(late.wait_closed(kDeadline, &received));
    EXPECT_TRUE(received.empty()) << received;
  }

  std::thread worker([&pending] {
    pending->respond(
        make_raw_response(pending->ctx->request, bh::status::ok, "done", "text/plain"));
  });
  worker.join();
  auto res = busy.read_response();
  ASSERT_TRUE(res) << busy.error().message();
  EXPECT_EQ(res->body(), "done");
  EXPECT_FALSE(res->keep_alive());
  EXPECT_TRUE(busy.wait_closed(kDeadline));
  busy.close();  // ends the server's lingering close at once
  late.close();
  pending.reset();
  EXPECT_EQ(drained_future.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(server_->connection_count(), 0U);
}

TEST_F(HttpServerTest, ShutdownWithoutConnectionsDrainsAtOnce) {
  start();
  std::promise<void> drained;
  auto drained_future = drained.get_future();
  server_->shutdown([&drained] { drained.set_value(); });
  EXPECT_EQ(drained_future.wait_for(kDeadline), std::future_status::ready);
}

TEST_F(HttpServerTest, MetricsCountEveryRequest) {
  start();
  TestClient client(endpoint_);
  for (int i = 0; i < 2; ++i) {
    ASSERT_FALSE(client.send(get("/hello")));
    ASSERT_TRUE(client.read_response());
  }
  ASSERT_FALSE(client.send(get("/nowhere")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), bh::status::not_found);
  ASSERT_FALSE(client.send(get("/v1/users/u-1")));
  ASSERT_TRUE(client.read_response());

  EXPECT_EQ(count("/hello", "200"), 2.0);
  EXPECT_EQ(count("unmatched", "404"), 1.0);
  EXPECT_EQ(count("/v1/users/{id}", "204"), 1.0);
  EXPECT_EQ(metrics_.http_request_duration.count({"/hello"}), 2U);
  std::string text = registry_.render();
  EXPECT_NE(text.find("oshin_http_requests_total{route=\"/hello\",code=\"200\"} 2"),
            std::string::npos)
      << text;
}

TEST_F(HttpServerTest, LogLineNamesThePatternNotTheTarget) {
  auto sink = std::make_shared<CaptureSink>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  start();
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/v1/users/secret-id-42?token=qs-secret",
                               "Authorization: Bearer tok-secret\r\nX-Request-Id: rid-7\r\n")));
  auto res = client.read_response();
  ASSERT_TRUE(res);
  std::string log = sink->contents();
  spdlog::set_default_logger(previous);
  EXPECT_NE(log.find("rid-7 GET /v1/users/{id} 204 "), std::string::npos) << log;
  EXPECT_NE(log.find("ms"), std::string::npos) << log;
  for (const char* secret : {"secret-id-42", "qs-secret", "tok-secret", "Bearer"}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in " << log;
  }
}

TEST_F(HttpServerTest, UpgradeHandlerTakesTheStream) {
  std::promise<std::string> seen;
  auto seen_future = seen.get_future();
  start({}, [&seen](ConnectionStream connection, Request req) {
    // Without a TLS context the connection is plain TCP.
    ASSERT_TRUE(std::holds_alternative<beast::tcp_stream>(connection));
    auto& stream = std::get<beast::tcp_stream>(connection);
    std::string answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    beast::error_code ec;
    net::write(stream.socket(), net::buffer(answer), ec);
    seen.set_value(std::string(req.target()));
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  });
  const std::string upgrade_headers =
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  TestClient client(endpoint_);
  ASSERT_FALSE(client.send(get("/v1/stream?ticket=t1", upgrade_headers)));
  auto res = client.read_response();
  ASSERT_TRUE(res) << client.error().message();
  EXPECT_EQ(res->result(), bh::status::switching_protocols);
  ASSERT_EQ(seen_future.wait_for(kDeadline), std::future_status::ready);
  EXPECT_EQ(seen_future.get(), "/v1/stream?ticket=t1");

  // Elsewhere an upgrade request is routed normally.
  TestClient other(endpoint_);
  ASSERT_FALSE(other.send(get("/hello", upgrade_headers)));
  res = other.read_response();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "hello");
}

TEST_F(HttpServerTest, ListenReportsBindErrors) {
  start();
  HttpServer second(ioc_, router_, metrics_, {});
  // Same port, but the first socket is listening: EADDRINUSE even with SO_REUSEADDR.
  auto bound = second.listen(endpoint_);
  EXPECT_FALSE(bound);
}

}  // namespace
}  // namespace oshin::http
