#include "http_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <limits>
#include <random>

#include "oshin/http/codec.hpp"

namespace oshin::http::detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using beast::error_code;
using tcp = net::ip::tcp;

constexpr std::size_t kFirstReadBytes = 1024;
constexpr std::size_t kDrainReadBytes = 4096;
constexpr std::size_t kMaxDrainBytes = 1024 * 1024;
constexpr std::size_t kBufferSlack = 16 * 1024;
constexpr std::size_t kMaxRequestIdBytes = 64;
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Socket errors that only mean the peer went away: not worth a warning.
void fail(error_code ec, const char* what) {
  if (ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::broken_pipe ||
      ec == net::ssl::error::stream_truncated) {
    spdlog::debug("http {}: {}", what, ec.message());
    return;
  }
  spdlog::warn("http {}: {}", what, ec.message());
}

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

std::string random_request_id() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr std::array<char, 16> kHex{'0', '1', '2', '3', '4', '5', '6', '7',
                                             '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  std::string id;
  id.reserve(32);
  for (int word = 0; word < 2; ++word) {
    std::uint64_t v = generator();
    for (int nibble = 0; nibble < 16; ++nibble) {
      id.push_back(kHex[static_cast<std::size_t>(v & 0xFU)]);
      v >>= 4U;
    }
  }
  return id;
}

// The client's X-Request-Id when it is sane, else a fresh random one.
std::string request_id_for(const http::request_header<>& req) {
  auto it = req.find("X-Request-Id");
  if (it != req.end() && is_sane_request_id(it->value())) {
    return std::string(it->value());
  }
  return random_request_id();
}

std::string_view method_name(const http::request_header<>& req) {
  if (req.method() == http::verb::unknown) {
    return "OTHER";
  }
  return std::string_view(http::to_string(req.method()));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool status_allows_body(unsigned status) {
  return !(status < 200 || status == 204 || status == 304);
}

// Shared state behind one Responder: fires once; if every copy of the responder is dropped
// without an answer, the connection answers 500 instead of hanging.
class ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<HttpSession> session, std::uint64_t seq)
      : session_(std::move(session)), seq_(seq) {}
  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  ~ResponseSlot() {
    if (!fired_.exchange(true)) {
      try {
        session_->deliver(seq_, std::nullopt);
      } catch (...) {
        // Out of memory while posting: the connection stays silent; nothing else to do here.
      }
    }
  }

  void fire(Response res) {
    if (fired_.exchange(true)) {
      return;
    }
    session_->deliver(seq_, std::move(res));
  }

 private:
  std::atomic<bool> fired_{false};
  std::shared_ptr<HttpSession> session_;
  std::uint64_t seq_;
};

// A TLS stream when the server has a TLS context, else plain TCP.
ConnectionStream make_stream(tcp::socket&& socket, const ServerState& state) {
  if (state.tls_context) {
    return ConnectionStream(std::in_place_type<TlsStream>, std::move(socket), *state.tls_context);
  }
  return ConnectionStream(std::in_place_type<beast::tcp_stream>, std::move(socket));
}

}  // namespace

HttpSession::HttpSession(tcp::socket&& socket, std::shared_ptr<ServerState> state)
    : stream_(make_stream(std::move(socket), *state)),
      executor_(lowest().get_executor()),
      buffer_(state->options.max_header_bytes + state->options.max_body_bytes + kBufferSlack),
      state_(std::move(state)) {
  error_code ec;
  auto peer = lowest().socket().remote_endpoint(ec);
  if (!ec) {
    peer_address_ = peer.address().to_string();
  }
}

HttpSession::~HttpSession() {
  if (registered_) {
    state_->remove_session(this);
  }
}

void HttpSession::run() {
  registered_ = state_->add_session(this, weak_from_this(), peer_address_);
  if (!registered_) {
    // Full, too many from this address, or shutting down: the socket closes when this object
    // goes away.
    spdlog::debug("http connection from {} refused at accept: connection limit", peer_address_);
    return;
  }
  if (std::holds_alternative<TlsStream>(stream_)) {
    net::dispatch(executor_,
                  beast::bind_front_handler(&HttpSession::do_handshake, shared_from_this()));
    return;
  }
  net::dispatch(executor_,
                beast::bind_front_handler(&HttpSession::do_await_request, shared_from_this()));
}

beast::tcp_stream& HttpSession::lowest() {
  return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                    stream_);
}

void HttpSession::do_handshake() {
  if (state_->shutting_down.load()) {
    return;
  }
  phase_ = Phase::handshaking;
  // The handshake has the header deadline: a client that stalls it (slow loris) is dropped, and
  // until then it holds one of its address's connection slots like any connection.
  lowest().expires_after(state_->options.header_timeout);
  std::get<TlsStream>(stream_).async_handshake(
      net::ssl::stream_base::server,
      beast::bind_front_handler(&HttpSession::on_handshake, shared_from_this()));
}

void HttpSession::on_handshake(error_code ec) {
  if (ec) {
    // Plain HTTP on the TLS port, an old protocol or cipher, a missing or bad client certificate,
    // or a deadline: the connection closes unanswered.
    spdlog::debug("tls handshake from {} failed: {}", peer_address_, ec.message());
    phase_ = Phase::done;
    return;
  }
  do_await_request();
}

void HttpSession::shutdown() {
  net::post(executor_, beast::bind_front_handler(&HttpSession::on_shutdown, shared_from_this()));
}

void HttpSession::deliver(std::uint64_t seq, std::optional<Response> res) {
  net::post(executor_, [self = shared_from_this(), seq, res = std::move(res)]() mutable {
    self->on_response(seq, std::move(res));
  });
}

void HttpSession::do_await_request() {
  if (state_->shutting_down.load()) {
    return do_close();
  }
  phase_ = Phase::idle;
  if (buffer_.size() > 0) {
    // A pipelined request is already buffered.
    return do_read_header();
  }
  // Waiting for the first byte is bounded by the idle timeout on a kept-alive connection and by
  // the header timeout on a fresh one, so a silent client cannot hold a connection for long.
  lowest().expires_after(first_request_ ? state_->options.header_timeout
                                        : state_->options.idle_timeout);
  with_stream([this](auto& s) {
    s.async_read_some(buffer_.prepare(kFirstReadBytes),
                      beast::bind_front_handler(&HttpSession::on_first_bytes, shared_from_this()));
  });
}

void HttpSession::on_first_bytes(error_code ec, std::size_t bytes) {
  if (ec) {
    return on_read_error(ec);
  }
  buffer_.commit(bytes);
  do_read_header();
}

void HttpSession::do_read_header() {
  phase_ = Phase::reading;
  started_ = std::chrono::steady_clock::now();
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(
      state_->options.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser_->body_limit(state_->options.max_body_bytes);
  // One deadline for the whole header block: a client dribbling bytes is dropped too.
  lowest().expires_after(state_->options.header_timeout);
  with_stream([this](auto& s) {
    http::async_read_header(
        s, buffer_, *parser_,
        beast::bind_front_handler(&HttpSession::on_read_header, shared_from_this()));
  });
}

void HttpSession::on_read_header(error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    return on_read_error(ec);
  }
  started_ = std::chrono::steady_clock::now();
  const auto& req = parser_->get();
  // Beast 1.81 misses some of these request-smuggling checks; enforce them here.
  std::size_t te_count = req.count(http::field::transfer_encoding);
  if (te_count > 0 && req.count(http::field::content_length) > 0) {
    return send_framing_error(Errc::malformed_request,
                              "Content-Length together with Transfer-Encoding");
  }
  if (te_count > 1 ||
      (te_count == 1 && !beast::iequals(trim(req[http::field::transfer_encoding]), "chunked"))) {
    return send_framing_error(Errc::malformed_request, "unsupported Transfer-Encoding");
  }
  if (auto length = parser_->content_length(); length && *length > state_->options.max_body_bytes) {
    return send_framing_error(Errc::payload_too_large, {});
  }
  if (parser_->is_done()) {
    return handle_request();
  }
  if (req.version() >= 11 && beast::iequals(trim(req[http::field::expect]), "100-continue")) {
    // The client waits for this before sending its body.
    lowest().expires_after(state_->options.body_timeout);
    with_stream([this](auto& s) {
      net::async_write(s, net::buffer(kContinue.data(), kContinue.size()),
                       beast::bind_front_handler(&HttpSession::on_continue, shared_from_this()));
    });
    return;
  }
  do_read_body();
}

void HttpSession::on_continue(error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    return fail(ec, "write 100-continue");
  }
  do_read_body();
}

void HttpSession::do_read_body() {
  lowest().expires_after(state_->options.body_timeout);
  with_stream([this](auto& s) {
    http::async_read(s, buffer_, *parser_,
                     beast::bind_front_handler(&HttpSession::on_read_body, shared_from_this()));
  });
}

void HttpSession::on_read_body(error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    return on_read_error(ec);
  }
  handle_request();
}

void HttpSession::on_read_error(error_code ec) {
  if (ec == net::error::operation_aborted) {
    return;
  }
  if (ec == beast::error::timeout) {
    // A slow or silent client: drop it without an answer (tcp_stream closed the socket).
    spdlog::debug("http connection from {} dropped: read deadline", peer_address_);
    return;
  }
  if (ec == http::error::end_of_stream || ec == net::error::eof ||
      ec == http::error::partial_message || ec == net::ssl::error::stream_truncated) {
    // The client closed its side; nothing to answer.
    return;
  }
  if (ec == http::error::header_limit) {
    return send_framing_error(Errc::headers_too_large, {});
  }
  if (ec == http::error::body_limit) {
    return send_framing_error(Errc::payload_too_large, {});
  }
  if (ec == http::error::buffer_overflow) {
    bool header_done = parser_ && parser_->is_header_done();
    return send_framing_error(header_done ? Errc::payload_too_large : Errc::headers_too_large, {});
  }
  if (ec.category() == make_error_code(http::error::bad_method).category()) {
    return send_framing_error(Errc::malformed_request, "malformed HTTP request");
  }
  fail(ec, "read");
}

void HttpSession::handle_request() {
  auto ctx = std::make_shared<RequestContext>();
  ctx->request = parser_->release();
  parser_.reset();
  ctx->request_id = request_id_for(ctx->request);
  ctx->peer_address = peer_address_;
  ctx->received_at = state_->now();
  request_id_ = ctx->request_id;

  if (state_->upgrade_handler && beast::websocket::is_upgrade(ctx->request)) {
    std::string_view target = ctx->request.target();
    if (target.substr(0, target.find('?')) == state_->options.upgrade_path) {
      spdlog::info("{} {} {} upgrade", request_id_, method_name(ctx->request),
                   state_->options.upgrade_path);
      phase_ = Phase::done;
      // The connection leaves the HTTP server here; its deadline is the new owner's business.
      lowest().expires_never();
      state_->upgrade_handler(std::move(stream_), std::move(ctx->request));
      return;
    }
  }

  phase_ = Phase::handling;
  ++seq_;
  ctx_ = ctx;
  auto slot = std::make_shared<ResponseSlot>(shared_from_this(), seq_);
  Responder respond = [slot](Response res) { slot->fire(std::move(res)); };
  // The router answers errors itself and catches what handlers throw.
  state_->router.dispatch(std::move(ctx), std::move(respond));
}

void HttpSession::on_response(std::uint64_t seq, std::optional<Response> res) {
  if (seq != seq_ || phase_ != Phase::handling || !ctx_) {
    // A stale answer, or the connection is gone: drop it.
    return;
  }
  const Request& req = ctx_->request;
  Response out = res ? std::move(*res)
                     : make_error_response(req, Errc::internal, "the handler did not answer");
  bool close = !req.keep_alive() || !out.keep_alive() || state_->shutting_down.load();
  out.version(req.version());
  out.keep_alive(!close);
  out.set("X-Request-Id", ctx_->request_id);
  if (!status_allows_body(out.result_int())) {
    out.body().clear();
  }
  out.prepare_payload();
  if (req.method() == http::verb::head) {
    // Content-Length stays that of the GET answer; the body is not sent.
    out.body().clear();
  }
  record(out, method_name(req), ctx_->route.empty() ? "unmatched" : ctx_->route);
  ctx_.reset();
  do_write(std::move(out), close);
}

void HttpSession::send_framing_error(Errc code, std::string message) {
  bool header_done = parser_ && parser_->is_header_done();
  Request dummy{http::verb::unknown, "/", 11};
  dummy.keep_alive(false);
  Response res = make_error_response(dummy, ApiError{code, std::move(message), {}, {}});
  request_id_ = header_done ? request_id_for(parser_->get()) : random_request_id();
  res.set("X-Request-Id", request_id_);
  record(res, header_done ? method_name(parser_->get()) : std::string_view("-"), "unmatched");
  parser_.reset();
  // After a framing problem the rest of the byte stream cannot be trusted: answer and close.
  do_write(std::move(res), true);
}

void HttpSession::do_write(Response res, bool close) {
  phase_ = Phase::writing;
  res_ = std::move(res);
  lowest().expires_after(state_->options.body_timeout);
  with_stream([this, close](auto& s) {
    http::async_write(s, res_,
                      beast::bind_front_handler(&HttpSession::on_write, shared_from_this(), close));
  });
}

void HttpSession::on_write(bool close, error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    return fail(ec, "write");
  }
  res_ = {};
  if (close) {
    return do_close();
  }
  first_request_ = false;
  do_await_request();
}

void HttpSession::do_close() {
  phase_ = Phase::closing;
  if (auto* tls = std::get_if<TlsStream>(&stream_)) {
    // TLS: send close_notify and wait (briefly) for the client's; the socket closes after.
    lowest().expires_after(
        std::min<std::chrono::milliseconds>(kMaxLinger, state_->options.header_timeout));
    tls->async_shutdown(
        beast::bind_front_handler(&HttpSession::on_tls_shutdown, shared_from_this()));
    return;
  }
  error_code ec;
  lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) {
    return;
  }
  // Lingering close: read and discard what the client still sends (e.g. the rest of a rejected
  // body) for a short while, so closing does not reset the connection before it reads our answer.
  buffer_.consume(buffer_.size());
  drained_bytes_ = 0;
  lowest().expires_after(
      std::min<std::chrono::milliseconds>(kMaxLinger, state_->options.header_timeout));
  do_drain();
}

void HttpSession::do_drain() {
  // Only plain TCP lingers this way (TLS closes through async_shutdown).
  std::get<beast::tcp_stream>(stream_).async_read_some(
      buffer_.prepare(kDrainReadBytes),
      beast::bind_front_handler(&HttpSession::on_drain, shared_from_this()));
}

void HttpSession::on_drain(error_code ec, std::size_t bytes) {
  if (ec) {
    phase_ = Phase::done;
    return;
  }
  drained_bytes_ += bytes;
  if (drained_bytes_ > kMaxDrainBytes) {
    phase_ = Phase::done;
    return;
  }
  do_drain();
}

void HttpSession::on_tls_shutdown(error_code ec) {
  // Whatever the outcome (done, the client vanished, the deadline), the socket closes now.
  phase_ = Phase::done;
  error_code ignored;
  lowest().socket().close(ignored);
  if (ec) {
    spdlog::debug("tls shutdown with {}: {}", peer_address_, ec.message());
  }
}

void HttpSession::on_shutdown() {
  // Idle keep-alive connections and lingering closes end now; a connection in the middle of a
  // request finishes it and closes after the answer (shutting_down is checked then).
  if (phase_ == Phase::handshaking || phase_ == Phase::idle || phase_ == Phase::closing) {
    lowest().cancel();
  }
}

void HttpSession::record(const Response& res, std::string_view method, std::string_view route) {
  unsigned status = res.result_int();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  std::string route_label(route);
  state_->metrics.http_requests_total.inc({route_label, std::to_string(status)});
  state_->metrics.http_request_duration.observe({route_label}, seconds);
  spdlog::info("{} {} {} {} {:.3f}ms", request_id_, method, route, status, seconds * 1000.0);
}

}  // namespace oshin::http::detail
