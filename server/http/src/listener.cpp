// g++ 12 at -O2 reports -Wnull-dereference false positives inside Asio's strand and scheduler
// code inlined into this file (system headers, not our pointers).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wnull-dereference"
#endif

#include "listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <chrono>

#include "http_session.hpp"

namespace oshin::http::detail {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::beast::error_code;

constexpr std::chrono::milliseconds kAcceptBackoff{100};

void fail(error_code ec, const char* what) {
  spdlog::warn("listener {}: {}", what, ec.message());
}

// Errors that say the process is out of descriptors or memory: accepting again at once would
// spin, so the loop pauses briefly.
bool is_resource_exhaustion(const error_code& ec) {
  return ec == net::error::no_descriptors || ec == net::error::no_buffer_space ||
         ec == net::error::no_memory || ec == boost::system::errc::too_many_files_open_in_system;
}

}  // namespace

Listener::Listener(net::io_context& ioc, std::shared_ptr<ServerState> state)
    : ioc_(ioc),
      acceptor_(net::make_strand(ioc)),
      backoff_(acceptor_.get_executor()),
      state_(std::move(state)) {}

Result<tcp::endpoint> Listener::open(const tcp::endpoint& endpoint) {
  error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (ec) {
    return ec;
  }
  acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) {
    return ec;
  }
  acceptor_.bind(endpoint, ec);
  if (ec) {
    acceptor_.close();
    return ec;
  }
  acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.close();
    return ec;
  }
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) {
    return ec;
  }
  return bound;
}

void Listener::run() {
  net::dispatch(acceptor_.get_executor(),
                boost::beast::bind_front_handler(&Listener::do_accept, shared_from_this()));
}

void Listener::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    error_code ignored;
    self->backoff_.cancel();
    self->acceptor_.close(ignored);
  });
}

void Listener::do_accept() {
  if (!acceptor_.is_open()) {
    return;
  }
  // Each connection gets its own strand.
  acceptor_.async_accept(net::make_strand(ioc_), boost::beast::bind_front_handler(
                                                     &Listener::on_accept, shared_from_this()));
}

void Listener::on_accept(error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
    return;
  }
  if (ec) {
    fail(ec, "accept");
    if (is_resource_exhaustion(ec)) {
      backoff_.expires_after(kAcceptBackoff);
      backoff_.async_wait(
          boost::beast::bind_front_handler(&Listener::on_backoff, shared_from_this()));
      return;
    }
    return do_accept();
  }
  // The session registers itself; when the server is full or shutting down it closes at once.
  std::make_shared<HttpSession>(std::move(socket), state_)->run();
  do_accept();
}

void Listener::on_backoff(error_code ec) {
  if (ec) {
    return;
  }
  do_accept();
}

}  // namespace oshin::http::detail
