#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <variant>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/common/metrics.hpp"
#include "oshin/http/router.hpp"

namespace oshin::http {

/// Per-connection limits and deadlines (API.md "Conventions": 8 KiB headers, 64 KiB bodies,
/// per-connection read deadlines).
struct HttpOptions {
  std::size_t max_header_bytes = 8192;  ///< request line + header block; over it: 431
  std::size_t max_body_bytes = 65536;   ///< decoded body; over it: 413
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};  ///< whole header block
  std::chrono::milliseconds body_timeout{std::chrono::seconds(30)};    ///< whole body; also writes
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};    ///< keep-alive wait
  std::size_t max_connections = 10000;            ///< connections over it are closed at accept
  std::size_t max_connections_per_address = 256;  ///< per peer address; over it: closed at accept
  std::string upgrade_path = "/v1/stream";        ///< path handed to the upgrade handler
};

/// A connection over TLS (the handshake done when it reaches an upgrade handler).
using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// A connection's byte stream: plain TCP, or TLS over TCP when the server has a TLS context.
/// Either way `boost::beast::get_lowest_layer` gives the tcp_stream (deadlines, socket).
using ConnectionStream = std::variant<boost::beast::tcp_stream, TlsStream>;

/// Takes over a connection whose request is a WebSocket upgrade (websocket::is_upgrade) for
/// `HttpOptions::upgrade_path` (the target's path, query ignored). Called on the connection's
/// strand (the stream's executor), before any router check (the handler authenticates, e.g. by
/// `?ticket=`); it owns the stream from then on (no deadline set). Bytes the client sent after
/// the upgrade request are not passed on (a client must wait for 101 anyway).
using UpgradeHandler = std::function<void(ConnectionStream stream, Request request)>;

namespace detail {
struct ServerState;
class Listener;
}  // namespace detail

/// The HTTP/1.1 server: one listener, one strand per connection, keep-alive, one request at a
/// time per connection (pipelined requests answered in order), limits and deadlines of
/// HttpOptions, request ids, metrics and one log line per request.
/// The router, metrics and clock must outlive every run of the io_context.
class HttpServer {
 public:
  /// `clock` stamps RequestContext::received_at (the system clock when null).
  HttpServer(boost::asio::io_context& ioc, const Router& router, ServerMetrics& metrics,
             HttpOptions options, const Clock* clock = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Opens, binds (SO_REUSEADDR) and listens. Returns the bound endpoint (the real port when
  /// port 0 was asked). Call once, before start(), from the thread that owns the server.
  Result<boost::asio::ip::tcp::endpoint> listen(const boost::asio::ip::tcp::endpoint& endpoint);

  /// Starts accepting connections. Any thread; once, after listen().
  void start();

  /// Stops accepting new connections; open connections go on. Any thread.
  void stop_accepting();

  /// Graceful shutdown: stops accepting, lets in-flight requests finish and be answered (with
  /// `Connection: close`), closes idle keep-alive connections, then calls `on_drained` once, on
  /// an io_context thread, when no HTTP connection is left. Upgraded connections are not waited
  /// for. Any thread; call once.
  void shutdown(std::function<void()> on_drained);

  /// Installs the WebSocket upgrade hook. Start-up only (before start()). Without it, upgrade
  /// requests are routed like any other request.
  void set_upgrade_handler(UpgradeHandler handler);

  /// Serves HTTPS instead of HTTP: every accepted connection does a TLS handshake with `context`
  /// first (bounded by HttpOptions::header_timeout; it counts against the connection limits from
  /// accept). Start-up only (before start()). See make_tls_context() (oshin/http/tls.hpp).
  void set_tls_context(std::shared_ptr<boost::asio::ssl::context> context);

  /// Open HTTP connections (not counting upgraded ones). Any thread.
  std::size_t connection_count() const;

 private:
  std::shared_ptr<detail::ServerState> state_;
  std::shared_ptr<detail::Listener> listener_;
};

}  // namespace oshin::http
