#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "oshin/common/errc.hpp"
#include "oshin/http/router.hpp"
#include "server_state.hpp"

namespace oshin::http::detail {

/// One HTTP/1.1 connection: (over TLS: completes the handshake first,) reads a request, routes
/// it, writes the answer, repeats while keep-alive holds. Everything except the public entry
/// points runs on the connection's strand.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket&& socket, std::shared_ptr<ServerState> state);
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  /// Registers with the server and starts reading. Any thread; once.
  void run();

  /// Server shutdown: closes the connection when idle, otherwise after the current answer.
  /// Any thread.
  void shutdown();

  /// Hands the answer to request number `seq` to the strand. Any thread.
  /// nullopt means the handler dropped its responder without answering (answered 500).
  void deliver(std::uint64_t seq, std::optional<Response> res);

 private:
  enum class Phase { handshaking, idle, reading, handling, writing, closing, done };

  /// Runs `f` on the stream, whichever it is (plain or TLS).
  template <class F>
  void with_stream(F&& f) {
    std::visit(std::forward<F>(f), stream_);
  }
  /// The TCP layer: deadlines, socket, cancel.
  boost::beast::tcp_stream& lowest();

  void do_handshake();
  void on_handshake(boost::beast::error_code ec);
  void do_await_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void do_read_header();
  void on_read_header(boost::beast::error_code ec, std::size_t bytes);
  void on_continue(boost::beast::error_code ec, std::size_t bytes);
  void do_read_body();
  void on_read_body(boost::beast::error_code ec, std::size_t bytes);
  void handle_request();
  void on_response(std::uint64_t seq, std::optional<Response> res);
  void on_read_error(boost::beast::error_code ec);
  void send_framing_error(Errc code, std::string message);
  void do_write(Response res, bool close);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void do_close();
  void do_drain();
  void on_drain(boost::beast::error_code ec, std::size_t bytes);
  void on_tls_shutdown(boost::beast::error_code ec);
  void on_shutdown();
  void record(const Response& res, std::string_view method, std::string_view route);

  ConnectionStream stream_;
  boost::beast::tcp_stream::executor_type executor_;  ///< the strand; survives moving stream_
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<ServerState> state_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<RequestContext> ctx_;  ///< the request being handled
  Response res_;                         ///< the answer being written
  std::string peer_address_;
  std::string request_id_;
  std::chrono::steady_clock::time_point started_;
  std::uint64_t seq_ = 0;  ///< number of the current request; stale answers are dropped
  std::size_t drained_bytes_ = 0;
  Phase phase_ = Phase::idle;
  bool first_request_ = true;
  bool registered_ = false;
};

}  // namespace oshin::http::detail
