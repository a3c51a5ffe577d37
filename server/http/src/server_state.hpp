#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "oshin/common/clock.hpp"
#include "oshin/common/metrics.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/router.hpp"

namespace oshin::http::detail {

class HttpSession;

/// What the listener and every connection of one HttpServer share. Held by shared_ptr so a
/// connection outliving the HttpServer object stays valid. Thread-safe where noted.
struct ServerState {
  ServerState(boost::asio::io_context& io, const Router& r, ServerMetrics& m, HttpOptions o,
              const Clock* c)
      : ioc(io), router(r), metrics(m), options(std::move(o)), clock(c) {}

  boost::asio::io_context& ioc;
  const Router& router;
  ServerMetrics& metrics;
  const HttpOptions options;
  const Clock* clock;              ///< null: the system clock
  UpgradeHandler upgrade_handler;  ///< set at start-up only, read-only afterwards
  /// TLS for every connection when set; start-up only, read-only afterwards.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::atomic<bool> shutting_down{false};

  /// Registers a new connection from `address`; false when shutting down, at max_connections or
  /// at max_connections_per_address. Any thread.
  bool add_session(HttpSession* session, std::weak_ptr<HttpSession> weak,
                   const std::string& address);

  /// Unregisters a connection (from its destructor); fires on_drained when it was the last one
  /// during shutdown. Any thread.
  void remove_session(HttpSession* session);

  /// Enters shutdown and returns the live connections to notify. Any thread.
  std::vector<std::shared_ptr<HttpSession>> begin_shutdown(std::function<void()> on_drained);

  /// Open connections. Any thread.
  std::size_t session_count() const;

  /// Wall-clock time for RequestContext::received_at. Any thread.
  SystemTime now() const;

 private:
  mutable std::mutex mutex_;
  struct Entry {
    std::weak_ptr<HttpSession> weak;
    std::string address;
  };
  std::unordered_map<HttpSession*, Entry> sessions_;
  std::unordered_map<std::string, std::size_t> per_address_;
  std::function<void()> on_drained_;
  bool draining_ = false;
};

}  // namespace oshin::http::detail
