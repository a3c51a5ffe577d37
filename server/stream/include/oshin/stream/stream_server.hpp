#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string_view>

#include "oshin/common/metrics.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "oshin/stream/ticket_service.hpp"

namespace oshin::stream {

/// Subprotocol that switches a connection to binary protobuf frames (serialized ServerEvent).
inline constexpr std::string_view kProtobufSubprotocol = "oshin.v1.proto";
/// Subprotocol naming the default JSON text frames explicitly (for clients that must offer one).
inline constexpr std::string_view kJsonSubprotocol = "oshin.v1.json";

/// Limits and deadlines of stream connections.
struct StreamOptions {
  /// No frame from the client for half of this: the server pings; for all of it: the
  /// connection is dropped.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  /// The WebSocket opening and closing handshakes, and writing a refused handshake's answer.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  /// How long a closing connection may wait for a write stuck behind a client that does not
  /// read before the socket is simply closed.
  std::chrono::milliseconds close_timeout{std::chrono::seconds(5)};
  /// Largest client message; bigger: close 1009 (API.md "Limits").
  std::size_t max_message_bytes = 64 * 1024;
  /// Live events waiting to be written to one connection; one more: close 1013 "slow consumer".
  std::size_t max_queued_events = 1024;
  /// SO_SNDBUF of stream sockets in bytes; 0 keeps the system's default (which autotunes up to
  /// megabytes). Smaller caps the kernel memory a stuck client holds and lets the queue limit
  /// notice it sooner.
  std::size_t socket_send_buffer = 0;
  /// Events read from the log per replay query.
  std::size_t replay_page_size = 256;
};

namespace detail {
struct StreamState;
}  // namespace detail

/// GET /v1/stream: authenticates the upgrade (Authorization: Bearer, or a single-use ?ticket=),
/// negotiates the frame format (subprotocol oshin.v1.proto: binary protobuf; else JSON text),
/// then streams the account's events: first every logged event with seq > ?since= (replayed from
/// the store, in pages, on the `work` executor), then live events from the hub, in seq order,
/// without gaps or duplicates. Each connection runs on its own strand with a bounded queue; a
/// client that does not drain it is closed with 1013 "slow consumer".
/// The hub, store, authenticator, tickets and metrics must outlive every session (i.e. the
/// io_context's run and the `work` executor's tasks).
class StreamServer {
 public:
  StreamServer(StreamHub& hub, storage::Store& store, http::Authenticator& authenticator,
               TicketService& tickets, ServerMetrics& metrics, boost::asio::any_io_executor work,
               StreamOptions options = {});
  ~StreamServer();
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  /// The hook for http::HttpServer::set_upgrade_handler. The handler runs on the connection's
  /// strand, as HttpServer calls it; it never throws.
  http::UpgradeHandler upgrade_handler();

  /// Graceful shutdown: refuses new upgrades (503), closes every session with 1001 "server
  /// shutting down", then calls `on_closed` once when no session is left: on the calling thread
  /// when none is open, else on the `work` executor. Any thread; call once.
  void shutdown(std::function<void()> on_closed = {});

  /// Open connections, from handshake to the end (subscribed or not). Any thread.
  std::size_t session_count() const;

 private:
  std::shared_ptr<detail::StreamState> state_;
};

}  // namespace oshin::stream
