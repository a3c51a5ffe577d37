#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace oshin::testing {

/// A WebSocket client of /v1/stream with deadlines on every read.
class StreamClient {
 public:
  /// Connects and upgrades. `query` is appended to /v1/stream (e.g. "?since=5"). Returns an
  /// empty optional when the handshake failed; `status` then holds the HTTP status.
  /// `receive_buffer_bytes` > 0 sets SO_RCVBUF before connecting (a client that reads slowly).
  static std::optional<StreamClient> connect(unsigned short port, const std::string& token,
                                             const std::string& query = {},
                                             unsigned* status = nullptr,
                                             const std::string& subprotocol = {},
                                             int receive_buffer_bytes = 0);
  StreamClient(StreamClient&&) noexcept;
  ~StreamClient();

  /// The next event frame parsed as JSON; nullopt when none arrived within `deadline` or the
  /// connection closed.
  std::optional<boost::json::object> next(
      std::chrono::milliseconds deadline = std::chrono::seconds(15));
  /// Reads frames until one satisfies `match` (others are skipped); nullopt on deadline.
  std::optional<boost::json::object> wait_for(
      const std::function<bool(const boost::json::object&)>& match,
      std::chrono::milliseconds deadline = std::chrono::seconds(20));
  /// Waits for an event of `type` (e.g. "offer").
  std::optional<boost::json::object> wait_type(
      const std::string& type, std::chrono::milliseconds deadline = std::chrono::seconds(20));
  /// The raw bytes of the next frame (binary protobuf subprotocol); nullopt on deadline.
  std::optional<std::string> next_raw(
      std::chrono::milliseconds deadline = std::chrono::seconds(15));
  /// The close code the server sent, once a read saw the connection closed; else nullopt.
  std::optional<unsigned> close_code() const;
  void close();

 private:
  StreamClient();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace oshin::testing
