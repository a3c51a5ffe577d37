#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "oshin/common/metrics.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "oshin/stream/stream_server.hpp"
#include "oshin/stream/ticket_service.hpp"

namespace oshin::stream::detail {

class WebSocketSession;

/// What every handshake and session of one StreamServer shares. Thread-safe.
struct StreamState {
  StreamState(StreamHub& hub_in, storage::Store& store_in, http::Authenticator& authenticator_in,
              TicketService& tickets_in, ServerMetrics& metrics_in,
              boost::asio::any_io_executor work_in, StreamOptions options_in)
      : hub(hub_in),
        store(store_in),
        authenticator(authenticator_in),
        tickets(tickets_in),
        metrics(metrics_in),
        work(std::move(work_in)),
        options(options_in) {}

  StreamHub& hub;
  storage::Store& store;
  http::Authenticator& authenticator;
  TicketService& tickets;
  ServerMetrics& metrics;
  boost::asio::any_io_executor work;  ///< replay reads run here
  const StreamOptions options;
  std::atomic<bool> shutting_down{false};

  /// Tracks a session for shutdown; false when shutting down (the session must close).
  bool add_session(WebSocketSession* session, std::weak_ptr<WebSocketSession> weak);
  /// Forgets a session; the last one gone after shutdown() fires the on_closed callback.
  void remove_session(WebSocketSession* session);
  /// Marks shutdown and returns the live sessions to close.
  std::vector<std::shared_ptr<WebSocketSession>> begin_shutdown(std::function<void()> on_closed);
  std::size_t session_count() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<WebSocketSession*, std::weak_ptr<WebSocketSession>> sessions_;
  std::function<void()> on_closed_;
};

}  // namespace oshin::stream::detail
