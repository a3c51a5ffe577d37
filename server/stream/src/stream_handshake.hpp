#pragma once

#include <boost/beast/core/error.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oshin/common/errc.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/router.hpp"
#include "stream_state.hpp"

namespace oshin::stream::detail {

/// The stream's query parameters (first occurrence of each wins, as in the router).
struct HandshakeQuery {
  std::optional<std::string> since;
  std::optional<std::string> ticket;
};

/// The since and ticket parameters of an origin-form target; nullopt when the target does not
/// parse. Pure; any thread.
std::optional<HandshakeQuery> parse_handshake_query(std::string_view target);

/// A non-negative decimal seq; nullopt for anything else (signs, spaces, overflow). Pure.
std::optional<std::int64_t> parse_seq(std::string_view text);

/// The HTTP half of a stream upgrade: validates `?since=`, authenticates (bearer header, or a
/// single-use `?ticket=` redeemed durably), then hands the connection to a WebSocketSession, or
/// answers the handshake itself with the API error (401, 400, 503) and closes.
/// Runs on the connection's strand (the stream's executor).
class StreamHandshake final : public std::enable_shared_from_this<StreamHandshake> {
 public:
  StreamHandshake(http::ConnectionStream&& stream, http::Request req,
                  std::shared_ptr<StreamState> state);

  /// Starts. On the connection's strand, once.
  void run();

 private:
  void on_ticket(std::optional<std::string> user_id);
  void start_session(const Principal& account);
  void reject(Errc code, std::string message = {}, std::string field = {});
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void on_tls_shutdown(boost::beast::error_code ec);
  boost::beast::tcp_stream& lowest();

  http::ConnectionStream stream_;  ///< plain TCP or TLS
  http::Request req_;
  std::shared_ptr<StreamState> state_;
  std::optional<std::int64_t> since_;
  http::Response res_;
};

}  // namespace oshin::stream::detail
