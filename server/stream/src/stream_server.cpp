#include "oshin/stream/stream_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <exception>
#include <utility>

#include "stream_handshake.hpp"
#include "stream_state.hpp"
#include "websocket_session.hpp"

namespace oshin::stream {
namespace detail {

bool StreamState::add_session(WebSocketSession* session, std::weak_ptr<WebSocketSession> weak) {
  std::lock_guard lock(mutex_);
  if (shutting_down.load()) {
    return false;
  }
  sessions_.emplace(session, std::move(weak));
  return true;
}

void StreamState::remove_session(WebSocketSession* session) {
  std::function<void()> closed;
  {
    std::lock_guard lock(mutex_);
    if (sessions_.erase(session) == 0) {
      return;
    }
    if (shutting_down.load() && sessions_.empty()) {
      closed = std::move(on_closed_);
      on_closed_ = nullptr;
    }
  }
  if (closed) {
    // Possibly on a foreign thread (the last reference may go anywhere): run it elsewhere.
    boost::asio::post(work, std::move(closed));
  }
}

std::vector<std::shared_ptr<WebSocketSession>> StreamState::begin_shutdown(
    std::function<void()> on_closed) {
  std::vector<std::shared_ptr<WebSocketSession>> live;
  std::function<void()> closed_now;
  {
    std::lock_guard lock(mutex_);
    shutting_down.store(true);
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) {
        live.push_back(std::move(session));
      }
    }
    if (sessions_.empty()) {
      closed_now = std::move(on_closed);
    } else {
      on_closed_ = std::move(on_closed);
    }
  }
  if (closed_now) {
    closed_now();
  }
  return live;
}

std::size_t StreamState::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

}  // namespace detail

StreamServer::StreamServer(StreamHub& hub, storage::Store& store,
                           http::Authenticator& authenticator, TicketService& tickets,
                           ServerMetrics& metrics, boost::asio::any_io_executor work,
                           StreamOptions options)
    : state_(std::make_shared<detail::StreamState>(hub, store, authenticator, tickets, metrics,
                                                   std::move(work), options)) {}

StreamServer::~StreamServer() = default;

http::UpgradeHandler StreamServer::upgrade_handler() {
  return [state = state_](http::ConnectionStream stream, http::Request request) {
    try {
      std::make_shared<detail::StreamHandshake>(std::move(stream), std::move(request), state)
          ->run();
    } catch (const std::exception& e) {
      // Out of memory or the like: the connection is dropped; nothing may reach HttpServer.
      spdlog::error("stream upgrade failed: {}", e.what());
    }
  };
}

void StreamServer::shutdown(std::function<void()> on_closed) {
  for (auto& session : state_->begin_shutdown(std::move(on_closed))) {
    session->shutdown();
  }
}

std::size_t StreamServer::session_count() const {
  return state_->session_count();
}

}  // namespace oshin::stream
