#include "websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/websocket/error.hpp>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

namespace oshin::stream::detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using beast::error_code;

// Errors that only mean the peer went away or the connection ended as intended.
void fail(error_code ec, const char* what) {
  if (ec == net::error::operation_aborted || ec == websocket::error::closed ||
      ec == beast::error::timeout || ec == net::error::eof || ec == net::error::connection_reset ||
      ec == net::error::broken_pipe || ec == net::error::not_connected ||
      ec == net::error::bad_descriptor || ec == net::ssl::error::stream_truncated) {
    spdlog::debug("stream {}: {}", what, ec.message());
    return;
  }
  if (ec == websocket::error::message_too_big) {
    spdlog::info("stream {}: client message over the limit, closed with 1009", what);
    return;
  }
  spdlog::warn("stream {}: {}", what, ec.message());
}

}  // namespace

std::variant<WebSocketSession::PlainWs, WebSocketSession::TlsWs> WebSocketSession::make_ws(
    http::ConnectionStream&& stream) {
  return std::visit(
      [](auto&& transport) -> std::variant<PlainWs, TlsWs> {
        using Transport = std::decay_t<decltype(transport)>;
        return std::variant<PlainWs, TlsWs>(std::in_place_type<websocket::stream<Transport>>,
                                            std::move(transport));
      },
      std::move(stream));
}

WebSocketSession::WebSocketSession(http::ConnectionStream&& stream,
                                   std::shared_ptr<StreamState> state, const Principal& account,
                                   std::optional<std::int64_t> since, Negotiated negotiated)
    : ws_(make_ws(std::move(stream))),
      executor_(lowest().get_executor()),
      close_timer_(executor_),
      state_(std::move(state)),
      account_id_(account.user_id),
      stream_keys_(stream_keys_of(account)),
      since_(since),
      negotiated_(std::move(negotiated)),
      max_queued_(std::max<std::size_t>(state_->options.max_queued_events, 1)),
      page_size_(std::max<std::size_t>(state_->options.replay_page_size, 1)) {}

WebSocketSession::~WebSocketSession() {
  // Normally the strand has left the hub already; this covers handlers destroyed unrun.
  if (subscribed_) {
    state_->metrics.ws_connections.add(-1);
    state_->hub.unsubscribe(stream_keys_, this);
  }
  if (registered_) {
    state_->remove_session(this);
  }
}

beast::tcp_stream& WebSocketSession::lowest() {
  return with_ws([](auto& ws) -> beast::tcp_stream& { return beast::get_lowest_layer(ws); });
}

void WebSocketSession::run(http::Request req) {
  req_ = std::move(req);
  registered_ = state_->add_session(this, weak_from_this());
  if (!registered_) {
    // Shutting down: the socket closes with this object.
    return;
  }
  do_accept();
}

void WebSocketSession::shutdown() {
  net::post(executor_, [self = shared_from_this()] {
    websocket::close_reason reason(websocket::close_code::going_away, "server shutting down");
    if (self->phase_ == Phase::accepting) {
      // A revocation that came first keeps its reason.
      if (!self->close_requested_) {
        self->close_requested_ = reason;
      }
      return;
    }
    self->do_close(reason);
  });
}

void WebSocketSession::revoke() {
  {
    std::lock_guard lock(mutex_);
    accepting_live_ = false;
    live_.clear();
  }
  net::post(executor_, [self = shared_from_this()] {
    websocket::close_reason reason(websocket::close_code::policy_error, "access revoked");
    if (self->phase_ == Phase::accepting) {
      self->close_requested_ = reason;
      return;
    }
    self->do_close(reason);
  });
}

void WebSocketSession::deliver(std::shared_ptr<const LiveEvent> event) {
  try {
    std::lock_guard lock(mutex_);
    if (!accepting_live_) {
      return;
    }
    if (live_.size() >= max_queued_) {
      // The client does not drain its queue: drop it rather than buffer without bound. It
      // reconnects with ?since= and replays what it missed.
      accepting_live_ = false;
      live_.clear();
      net::post(executor_,
                beast::bind_front_handler(&WebSocketSession::on_overflow, shared_from_this()));
      return;
    }
    live_.push_back(std::move(event));
    if (!wake_posted_) {
      wake_posted_ = true;
      net::post(executor_,
                beast::bind_front_handler(&WebSocketSession::on_wake, shared_from_this()));
    }
  } catch (const std::exception& e) {
    // Called by the hub on the publisher's thread: nothing may escape.
    spdlog::error("stream: queueing an event failed: {}", e.what());
  }
}

void WebSocketSession::do_accept() {
  // The WebSocket stream keeps its own deadlines from here on.
  lowest().expires_never();
  // Each event is one small write: without this, a burst waits on the client's delayed ACKs.
  error_code nodelay_ignored;
  lowest().socket().set_option(net::ip::tcp::no_delay(true), nodelay_ignored);
  if (state_->options.socket_send_buffer > 0) {
    error_code ignored;
    lowest().socket().set_option(
        net::socket_base::send_buffer_size(
            static_cast<int>(std::min<std::size_t>(state_->options.socket_send_buffer, 1U << 30U))),
        ignored);
  }
  websocket::stream_base::timeout timeout{};
  timeout.handshake_timeout = state_->options.handshake_timeout;
  timeout.idle_timeout = state_->options.idle_timeout;
  timeout.keep_alive_pings = true;
  // Subscribe before the handshake's answer leaves: a client that acts on its 101 at once (posts
  // a visit, say) must get that action's events. Events queued meanwhile wait for on_accept (no
  // write while accepting); an event committed from here on is either in the replay or queued
  // live (or both; the seq check drops the second copy), so nothing falls between.
  state_->metrics.ws_connections.add(1);
  state_->hub.subscribe(stream_keys_, shared_from_this());
  subscribed_ = true;
  with_ws([this, &timeout](auto& ws) {
    ws.set_option(timeout);
    ws.read_message_max(state_->options.max_message_bytes);
    ws.set_option(websocket::stream_base::decorator(
        [subprotocol = negotiated_.subprotocol](websocket::response_type& res) {
          res.set(beast::http::field::server, "oshin");
          if (!subprotocol.empty()) {
            res.set(beast::http::field::sec_websocket_protocol, subprotocol);
          }
        }));
    ws.async_accept(req_,
                    beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  });
}

void WebSocketSession::on_accept(error_code ec) {
  if (ec) {
    leave_hub();
    return fail(ec, "accept");
  }
  req_ = {};
  if (close_requested_ || state_->shutting_down.load()) {
    phase_ = Phase::live;
    return do_close(close_requested_ ? *close_requested_
                                     : websocket::close_reason(websocket::close_code::going_away,
                                                               "server shutting down"));
  }
  spdlog::debug("stream: account {} connected ({}, since {})", account_id_,
                negotiated_.format == FrameFormat::protobuf ? "protobuf" : "json",
                since_ ? std::to_string(*since_) : std::string("-"));
  if (since_) {
    last_sent_ = *since_;
    replay_after_ = *since_;
    phase_ = Phase::replaying;
    do_fetch_replay();
  } else {
    phase_ = Phase::live;
  }
  do_read();
  do_write();
}

void WebSocketSession::do_read() {
  with_ws([this](auto& ws) {
    ws.async_read(read_buffer_,
                  beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
  });
}

void WebSocketSession::on_read(error_code ec, std::size_t /*bytes*/) {
  if (ec) {
    // The connection is over (closed by either side, timed out, or a message over the limit,
    // which Beast has answered with close 1009).
    leave_hub();
    return fail(ec, "read");
  }
  // Clients have nothing to say on this stream; their messages are read and dropped.
  read_buffer_.consume(read_buffer_.size());
  do_read();
}

void WebSocketSession::do_fetch_replay() {
  fetching_ = true;
  // The log is read on the work executor: a long replay must not hold up the I/O threads.
  net::post(state_->work, [self = shared_from_this(), strand = executor_, after = replay_after_] {
    Result<std::vector<storage::StoredEvent>> page = Errc::internal;
    try {
      page = self->state_->store.events_for(after, self->stream_keys_, self->page_size_);
    } catch (const std::exception& e) {
      spdlog::error("stream: reading the event log failed: {}", e.what());
    }
    net::post(strand,
              [self, page = std::move(page)]() mutable { self->on_replay_page(std::move(page)); });
  });
}

void WebSocketSession::on_replay_page(Result<std::vector<storage::StoredEvent>> page) {
  fetching_ = false;
  if (phase_ == Phase::closing) {
    return;
  }
  if (!page) {
    spdlog::error("stream: replay for account {} failed: {}", account_id_, page.error().message());
    return do_close(
        websocket::close_reason(websocket::close_code::internal_error, "replay failed"));
  }
  replay_more_ = page->size() >= page_size_;
  if (!page->empty()) {
    replay_after_ = page->back().seq;
  }
  for (storage::StoredEvent& event : *page) {
    replay_.push_back(std::move(event));
  }
  do_write();
}

void WebSocketSession::on_wake() {
  {
    std::lock_guard lock(mutex_);
    wake_posted_ = false;
  }
  do_write();
}

bool WebSocketSession::next_frame() {
  if (phase_ == Phase::replaying) {
    while (!replay_.empty()) {
      storage::StoredEvent stored = std::move(replay_.front());
      replay_.pop_front();
      if (stored.seq <= last_sent_) {
        continue;
      }
      if (stored.content_seq != 0 && stored.content_seq == last_content_seq_) {
        // The same event through another of the account's streams.
        last_sent_ = stored.seq;
        continue;
      }
      std::optional<v1::ServerEvent> event = from_stored(stored);
      if (!event) {
        spdlog::error("stream: logged event {} has an unreadable payload; skipped", stored.seq);
        continue;
      }
      last_sent_ = stored.seq;
      last_content_seq_ = stored.content_seq;
      frame_ = encode_frame(*event, negotiated_.format);
      return true;
    }
    if (fetching_) {
      return false;
    }
    if (replay_more_) {
      do_fetch_replay();
      return false;
    }
    // The log is exhausted: whatever committed later is in the live queue.
    phase_ = Phase::live;
  }
  if (phase_ != Phase::live) {
    return false;
  }
  while (true) {
    std::shared_ptr<const LiveEvent> event;
    {
      std::lock_guard lock(mutex_);
      if (live_.empty()) {
        return false;
      }
      event = std::move(live_.front());
      live_.pop_front();
    }
    if (event->seq <= last_sent_) {
      continue;
    }
    if (event->content_seq != 0 && event->content_seq == last_content_seq_) {
      last_sent_ = event->seq;
      continue;
    }
    last_sent_ = event->seq;
    last_content_seq_ = event->content_seq;
    // The body's encoding is shared with every other recipient of the same event.
    frame_ =
        negotiated_.format == FrameFormat::protobuf ? event->protobuf_frame() : event->json_frame();
    return true;
  }
}

void WebSocketSession::do_write() {
  if (writing_ || phase_ == Phase::accepting || phase_ == Phase::closing) {
    return;
  }
  if (!next_frame()) {
    return;
  }
  writing_ = true;
  with_ws([this](auto& ws) {
    ws.binary(negotiated_.format == FrameFormat::protobuf);
    ws.async_write(net::buffer(frame_),
                   beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
  });
}

void WebSocketSession::on_write(error_code ec, std::size_t /*bytes*/) {
  writing_ = false;
  if (ec) {
    leave_hub();
    return fail(ec, "write");
  }
  do_write();
}

void WebSocketSession::on_overflow() {
  if (phase_ == Phase::closing) {
    return;
  }
  spdlog::info("stream: account {} dropped as a slow consumer ({} events queued)", account_id_,
               max_queued_);
  do_close(websocket::close_reason(websocket::close_code::try_again_later, "slow consumer"));
}

void WebSocketSession::do_close(websocket::close_reason reason) {
  if (phase_ == Phase::closing) {
    return;
  }
  phase_ = Phase::closing;
  leave_hub();
  replay_.clear();
  // A write stuck behind a client that does not read holds the close frame back; the timer
  // bounds that wait.
  close_timer_.expires_after(state_->options.close_timeout);
  close_timer_.async_wait(
      beast::bind_front_handler(&WebSocketSession::on_close_timer, shared_from_this()));
  with_ws([this, &reason](auto& ws) {
    ws.async_close(reason,
                   beast::bind_front_handler(&WebSocketSession::on_close, shared_from_this()));
  });
}

void WebSocketSession::on_close(error_code ec) {
  close_timer_.cancel();
  if (ec) {
    return fail(ec, "close");
  }
}

void WebSocketSession::on_close_timer(error_code ec) {
  if (ec) {
    return;
  }
  spdlog::debug("stream: account {} did not complete the close in time; socket closed",
                account_id_);
  lowest().close();
}

void WebSocketSession::leave_hub() {
  {
    std::lock_guard lock(mutex_);
    accepting_live_ = false;
    live_.clear();
  }
  if (subscribed_) {
    subscribed_ = false;
    state_->metrics.ws_connections.add(-1);
    state_->hub.unsubscribe(stream_keys_, this);
  }
}

}  // namespace oshin::stream::detail
