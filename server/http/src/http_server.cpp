#include "oshin/http/http_server.hpp"

#include <boost/asio/post.hpp>

#include "http_session.hpp"
#include "listener.hpp"
#include "server_state.hpp"

namespace oshin::http {
namespace detail {

bool ServerState::add_session(HttpSession* session, std::weak_ptr<HttpSession> weak,
                              const std::string& address) {
  std::lock_guard lock(mutex_);
  if (draining_ || shutting_down.load() || sessions_.size() >= options.max_connections) {
    return false;
  }
  std::size_t& from_address = per_address_[address];
  if (options.max_connections_per_address > 0 &&
      from_address >= options.max_connections_per_address) {
    if (from_address == 0) {
      per_address_.erase(address);
    }
    return false;
  }
  ++from_address;
  sessions_.emplace(session, Entry{std::move(weak), address});
  return true;
}

void ServerState::remove_session(HttpSession* session) {
  std::function<void()> drained;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) {
      return;
    }
    auto count = per_address_.find(it->second.address);
    if (count != per_address_.end() && --count->second == 0) {
      per_address_.erase(count);
    }
    sessions_.erase(it);
    if (draining_ && sessions_.empty()) {
      drained = std::move(on_drained_);
      on_drained_ = nullptr;
    }
  }
  if (drained) {
    boost::asio::post(ioc, std::move(drained));
  }
}

std::vector<std::shared_ptr<HttpSession>> ServerState::begin_shutdown(
    std::function<void()> on_drained) {
  std::vector<std::shared_ptr<HttpSession>> live;
  std::function<void()> drained_now;
  {
    std::lock_guard lock(mutex_);
    shutting_down.store(true);
    draining_ = true;
    for (auto& [raw, entry] : sessions_) {
      if (auto s = entry.weak.lock()) {
        live.push_back(std::move(s));
      }
    }
    if (sessions_.empty()) {
      drained_now = std::move(on_drained);
    } else {
      on_drained_ = std::move(on_drained);
    }
  }
  if (drained_now) {
    boost::asio::post(ioc, std::move(drained_now));
  }
  return live;
}

std::size_t ServerState::session_count() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

SystemTime ServerState::now() const {
  return clock != nullptr ? clock->now() : std::chrono::system_clock::now();
}

}  // namespace detail

HttpServer::HttpServer(boost::asio::io_context& ioc, const Router& router, ServerMetrics& metrics,
                       HttpOptions options, const Clock* clock)
    : state_(
          std::make_shared<detail::ServerState>(ioc, router, metrics, std::move(options), clock)),
      listener_(std::make_shared<detail::Listener>(ioc, state_)) {}

HttpServer::~HttpServer() {
  listener_->stop();
}

Result<boost::asio::ip::tcp::endpoint> HttpServer::listen(
    const boost::asio::ip::tcp::endpoint& endpoint) {
  return listener_->open(endpoint);
}

void HttpServer::start() {
  listener_->run();
}

void HttpServer::stop_accepting() {
  listener_->stop();
}

void HttpServer::shutdown(std::function<void()> on_drained) {
  listener_->stop();
  // The live sessions are shared_ptrs: one may be released last here, which is fine.
  for (auto& session : state_->begin_shutdown(std::move(on_drained))) {
    session->shutdown();
  }
}

void HttpServer::set_upgrade_handler(UpgradeHandler handler) {
  state_->upgrade_handler = std::move(handler);
}

void HttpServer::set_tls_context(std::shared_ptr<boost::asio::ssl::context> context) {
  state_->tls_context = std::move(context);
}

std::size_t HttpServer::connection_count() const {
  return state_->session_count();
}

}  // namespace oshin::http
