#include "test_receiver.hpp"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <utility>

#include "oshin/delivery/webhook_signature.hpp"

namespace oshin::delivery::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

constexpr std::int64_t kToleranceSeconds = 300;

class TestReceiver::Session : public std::enable_shared_from_this<TestReceiver::Session> {
 public:
  Session(TestReceiver& owner, tcp::socket socket) : owner_(owner), stream_(std::move(socket)) {}

  void run() {
    http::async_read(
        stream_, buffer_, request_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  static std::string header(const http::request<http::string_body>& req, std::string_view name) {
    auto it = req.find(name);
    return it == req.end() ? std::string() : std::string(it->value());
  }

  void on_read(error_code ec) {
    if (ec) {
      return;
    }
    ReceivedRequest r;
    r.method = std::string(request_.method_string());
    r.target = std::string(request_.target());
    r.host = header(request_, "Host");
    r.content_type = header(request_, "Content-Type");
    r.user_agent = header(request_, "User-Agent");
    r.signature = header(request_, kSignatureHeader);
    r.delivery_id = header(request_, kDeliveryHeader);
    r.event = header(request_, kEventHeader);
    r.body = request_.body();
    r.signature_valid = verify_webhook_signature(r.signature, owner_.secret_, r.body,
                                                 owner_.now_unix_(), kToleranceSeconds);
    const Reply reply = owner_.record(std::move(r));
    if (reply.hang) {
      // Say nothing; wait for the client to give up and close.
      stream_.async_read_some(net::buffer(sink_),
                              [self = shared_from_this()](error_code read_ec, std::size_t) {
                                self->on_hangup_read(read_ec);
                              });
      return;
    }
    response_.result(reply.status);
    response_.version(11);
    response_.set(http::field::connection, "close");
    response_.prepare_payload();
    http::async_write(stream_, response_, [self = shared_from_this()](error_code, std::size_t) {
      error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  void on_hangup_read(error_code ec) {
    if (!ec) {
      stream_.async_read_some(net::buffer(sink_),
                              [self = shared_from_this()](error_code read_ec, std::size_t) {
                                self->on_hangup_read(read_ec);
                              });
      return;
    }
    owner_.hung_up();
  }

  TestReceiver& owner_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::empty_body> response_;
  std::array<char, 512> sink_{};
};

TestReceiver::TestReceiver(std::string secret, std::function<std::int64_t()> now_unix,
                           Script script)
    : secret_(std::move(secret)),
      now_unix_(std::move(now_unix)),
      script_(std::move(script)),
      work_(net::make_work_guard(io_)),
      acceptor_(io_) {
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.bind(endpoint);
  port_ = acceptor_.local_endpoint().port();
  thread_ = std::thread([this] { io_.run(); });
}

TestReceiver::~TestReceiver() {
  work_.reset();
  io_.stop();
  thread_.join();
}

void TestReceiver::listen() {
  // Nothing else touches the acceptor before the first accept is posted.
  acceptor_.listen();
  net::post(io_, [this] { do_accept(); });
}

void TestReceiver::do_accept() {
  acceptor_.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec) {
      return;
    }
    std::make_shared<Session>(*this, std::move(socket))->run();
    do_accept();
  });
}

std::string TestReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

Reply TestReceiver::record(ReceivedRequest request) {
  std::lock_guard lock(mutex_);
  const Reply reply = script_(requests_.size(), request);
  request.answered = reply.hang ? 0 : reply.status;
  requests_.push_back(std::move(request));
  cv_.notify_all();
  return reply;
}

void TestReceiver::hung_up() {
  std::lock_guard lock(mutex_);
  ++hangups_;
  cv_.notify_all();
}

std::vector<ReceivedRequest> TestReceiver::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool TestReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, deadline, [&] { return requests_.size() >= n; });
}

bool TestReceiver::wait_for_hangups(std::size_t n, std::chrono::milliseconds deadline) const {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, deadline, [&] { return hangups_ >= n; });
}

}  // namespace oshin::delivery::testing
