#pragma once

// One webhook attempt: resolve, connect, (TLS), POST, read the response header, close.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "oshin/delivery/webhook_url.hpp"

namespace oshin::delivery::detail {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

/// How one attempt ended.
struct AttemptOutcome {
  unsigned status = 0;  ///< HTTP status; 0 when there was no answer
  std::string error;    ///< empty on a 2xx; safe to store and log (no URL, secret or body)
  bool ok() const { return status >= 200 && status < 300; }
};

/// One POST to a webhook URL, with a deadline over the whole exchange. Everything runs on the
/// strand given at construction; run() and cancel() must be called on it. The request closes
/// its connection after the response header (it sends `Connection: close`) and never reads a
/// response body. The completion handler runs once, on the strand, unless cancel() came first.
class WebhookRequest : public std::enable_shared_from_this<WebhookRequest> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  using Handler = std::function<void(AttemptOutcome)>;

  /// `tls` must outlive the request and is used only for https URLs.
  /// Unless `allow_private`, addresses that are not public (is_public_address) are never
  /// connected to: a URL resolving only to such addresses fails the attempt.
  WebhookRequest(Strand strand, boost::asio::ssl::context& tls, WebhookUrl url, Request request,
                 std::chrono::milliseconds timeout, Handler done, bool allow_private = false);

  /// Starts the attempt. Strand only.
  void run();
  /// Abandons the attempt: closes the connection; the handler is never called. Strand only.
  void cancel();

 private:
  using tcp = boost::asio::ip::tcp;
  using error_code = boost::system::error_code;

  void on_resolve(error_code ec, const tcp::resolver::results_type& results);
  void on_connect(error_code ec);
  void on_handshake(error_code ec);
  void on_write(error_code ec);
  void on_read(error_code ec);
  void on_deadline(error_code ec);
  void fail(error_code ec, const char* what);
  void finish(AttemptOutcome outcome);
  void close() noexcept;
  boost::beast::tcp_stream& lowest_layer();

  Strand strand_;
  boost::asio::ssl::context& tls_;
  WebhookUrl url_;
  Request request_;
  std::chrono::milliseconds timeout_;
  bool allow_private_ = false;
  Handler done_;
  tcp::resolver resolver_;
  boost::asio::steady_timer deadline_;
  boost::beast::tcp_stream plain_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> secure_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::empty_body> parser_;
  bool finished_ = false;
};

}  // namespace oshin::delivery::detail
