#include "stream_handshake.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <string_view>
#include <utility>
#include <variant>

#include "event_frames.hpp"
#include "oshin/http/codec.hpp"
#include "websocket_session.hpp"

namespace oshin::stream::detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using beast::error_code;
using tcp = net::ip::tcp;

constexpr std::size_t kMaxSeqDigits = 19;

}  // namespace

std::optional<HandshakeQuery> parse_handshake_query(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) {
    return std::nullopt;
  }
  HandshakeQuery query;
  if (parsed->has_query()) {
    for (auto param : parsed->params()) {
      if (param.key == "since" && !query.since) {
        query.since = std::move(param.value);
      } else if (param.key == "ticket" && !query.ticket) {
        query.ticket = std::move(param.value);
      }
    }
  }
  return query;
}

std::optional<std::int64_t> parse_seq(std::string_view text) {
  if (text.empty() || text.size() > kMaxSeqDigits) {
    return std::nullopt;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

StreamHandshake::StreamHandshake(http::ConnectionStream&& stream, http::Request req,
                                 std::shared_ptr<StreamState> state)
    : stream_(std::move(stream)), req_(std::move(req)), state_(std::move(state)) {}

void StreamHandshake::run() {
  if (state_->shutting_down.load()) {
    return reject(Errc::unavailable, "the server is shutting down");
  }
  std::optional<HandshakeQuery> query = parse_handshake_query(req_.target());
  if (!query) {
    return reject(Errc::invalid_argument, "malformed request target");
  }
  if (query->since) {
    since_ = parse_seq(*query->since);
    if (!since_) {
      return reject(Errc::invalid_argument, "since must be a non-negative integer", "since");
    }
  }
  if (req_.find(bh::field::authorization) != req_.end()) {
    // A header wins over a ticket; a malformed or unknown token is refused, not ignored.
    std::optional<std::string_view> token = http::bearer_token(req_);
    std::optional<Principal> principal;
    if (token) {
      principal = state_->authenticator.authenticate(*token);
    }
    if (!principal) {
      return reject(Errc::unauthenticated);
    }
    if (principal->totp_enrolment_only) {
      return reject(Errc::totp_enrolment_required);
    }
    return start_session(*principal);
  }
  if (query->ticket) {
    // Redeeming writes to the store; the answer comes back on the store's completion thread.
    state_->tickets.redeem(
        *query->ticket, [self = shared_from_this(), strand = lowest().get_executor()](
                            std::optional<std::string> user_id) mutable {
          net::post(strand, [self = std::move(self), user_id = std::move(user_id)]() mutable {
            self->on_ticket(std::move(user_id));
          });
        });
    return;
  }
  reject(Errc::unauthenticated);
}

void StreamHandshake::on_ticket(std::optional<std::string> user_id) {
  if (!user_id) {
    return reject(Errc::unauthenticated, "the stream ticket is used, expired or unknown");
  }
  std::optional<Principal> account = state_->authenticator.active_account(*user_id);
  if (!account) {
    return reject(Errc::unauthenticated, "the account of the stream ticket is disabled");
  }
  start_session(*account);
}

void StreamHandshake::start_session(const Principal& account) {
  if (state_->shutting_down.load()) {
    return reject(Errc::unavailable, "the server is shutting down");
  }
  Negotiated negotiated = negotiate_subprotocol(req_);
  auto session = std::make_shared<WebSocketSession>(std::move(stream_), state_, account, since_,
                                                    std::move(negotiated));
  session->run(std::move(req_));
}

void StreamHandshake::reject(Errc code, std::string message, std::string field) {
  res_ = http::make_error_response(req_,
                                   http::ApiError{code, std::move(message), std::move(field), {}});
  if (code == Errc::unauthenticated) {
    res_.set(bh::field::www_authenticate, "Bearer");
  }
  res_.keep_alive(false);
  res_.prepare_payload();
  spdlog::info("stream handshake refused: {} {}", http_status(code), api_error_code(code));
  lowest().expires_after(state_->options.handshake_timeout);
  std::visit(
      [this](auto& s) {
        bh::async_write(s, res_,
                        beast::bind_front_handler(&StreamHandshake::on_write, shared_from_this()));
      },
      stream_);
}

beast::tcp_stream& StreamHandshake::lowest() {
  return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                    stream_);
}

void StreamHandshake::on_write(error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    spdlog::debug("stream handshake write: {}", ec.message());
    return;
  }
  if (auto* tls = std::get_if<http::TlsStream>(&stream_)) {
    // TLS: close_notify, within the deadline set for the answer; then the socket closes.
    tls->async_shutdown(
        beast::bind_front_handler(&StreamHandshake::on_tls_shutdown, shared_from_this()));
    return;
  }
  // The answer is out; the socket closes with this object.
  error_code ignored;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void StreamHandshake::on_tls_shutdown(error_code ec) {
  if (ec) {
    spdlog::debug("stream handshake tls shutdown: {}", ec.message());
  }
  error_code ignored;
  lowest().socket().close(ignored);
}

}  // namespace oshin::stream::detail
