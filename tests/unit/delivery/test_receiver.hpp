#pragma once

// A webhook receiver for the outbox tests: a small Beast server on 127.0.0.1 with its own
// thread, answering each request as a script says, and recording what it got.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oshin::delivery::testing {

using namespace std::chrono_literals;

/// How long any test waits for something before failing.
inline constexpr std::chrono::milliseconds kDeadline = 30s;

/// One request as the receiver saw it.
struct ReceivedRequest {
  std::string method;
  std::string target;
  std::string host;
  std::string content_type;
  std::string user_agent;
  std::string signature;
  std::string delivery_id;
  std::string event;
  std::string body;
  bool signature_valid = false;  ///< verify_webhook_signature with the receiver's secret
  unsigned answered = 0;         ///< status sent back; 0 when the receiver hung
};

/// What to do with a request: answer `status`, or never answer (`hang`) until the client
/// closes the connection.
struct Reply {
  unsigned status = 204;
  bool hang = false;
};

class TestReceiver {
 public:
  /// Decides the reply to the request with this index (0-based, in arrival order).
  using Script = std::function<Reply(std::size_t index, const ReceivedRequest& request)>;

  /// Binds 127.0.0.1 on a free port but does not listen yet: until listen(), connecting is
  /// refused. `now_unix` is the receiver's clock for checking signatures (tolerance 300 s).
  TestReceiver(std::string secret, std::function<std::int64_t()> now_unix, Script script);
  ~TestReceiver();
  TestReceiver(const TestReceiver&) = delete;
  TestReceiver& operator=(const TestReceiver&) = delete;

  /// Starts accepting. Any thread; call once.
  void listen();

  std::uint16_t port() const { return port_; }
  /// http://127.0.0.1:<port><path>
  std::string url(const std::string& path = "/hooks/oshin?token=q1") const;

  /// Every request so far, in arrival order.
  std::vector<ReceivedRequest> requests() const;
  /// Waits until at least n requests arrived; false when the deadline passed first.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds deadline = kDeadline) const;
  /// Waits until at least n hung connections were closed by the client.
  bool wait_for_hangups(std::size_t n, std::chrono::milliseconds deadline = kDeadline) const;

 private:
  class Session;
  friend class Session;

  void do_accept();
  Reply record(ReceivedRequest request);
  void hung_up();

  std::string secret_;
  std::function<std::int64_t()> now_unix_;
  Script script_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  std::size_t hangups_ = 0;
};

}  // namespace oshin::delivery::testing
