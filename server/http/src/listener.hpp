#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <memory>

#include "oshin/common/errc.hpp"
#include "server_state.hpp"

namespace oshin::http::detail {

/// Accepts incoming connections and launches an HttpSession for each, on its own strand.
/// The acceptor lives on its own strand; run() and stop() may be called from any thread.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(boost::asio::io_context& ioc, std::shared_ptr<ServerState> state);

  /// Opens, binds with SO_REUSEADDR and listens. Before run(), from the owning thread.
  Result<boost::asio::ip::tcp::endpoint> open(const boost::asio::ip::tcp::endpoint& endpoint);

  /// Starts the accept loop. Any thread.
  void run();

  /// Closes the acceptor; the pending accept completes with operation_aborted. Any thread.
  void stop();

 private:
  void do_accept();
  void on_accept(boost::beast::error_code ec, boost::asio::ip::tcp::socket socket);
  void on_backoff(boost::beast::error_code ec);

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  std::shared_ptr<ServerState> state_;
};

}  // namespace oshin::http::detail
