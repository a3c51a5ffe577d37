#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "event_frames.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/http/http_server.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "stream_state.hpp"

namespace oshin::stream::detail {

/// One authenticated WebSocket connection of one account: accepts the upgrade, subscribes to the
/// hub under the account's streams (stream_keys_of), replays their log after `since`, then
/// writes live events, each event once however many of the streams carried it; reads (and ignores)
/// client messages to drive keep-alive pings and the close handshake. Everything but deliver() and
/// shutdown() runs on the connection's strand (the stream's executor, as HttpServer created it).
/// Over plain TCP or TLS (wss), as the connection came.
class WebSocketSession final : public StreamSink,
                               public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(http::ConnectionStream&& stream, std::shared_ptr<StreamState> state,
                   const Principal& account, std::optional<std::int64_t> since,
                   Negotiated negotiated);
  ~WebSocketSession() override;
  WebSocketSession(const WebSocketSession&) = delete;
  WebSocketSession& operator=(const WebSocketSession&) = delete;

  /// Starts the WebSocket handshake answering `req`. On the connection's strand, once.
  void run(http::Request req);

  /// StreamSink: queues a live event. Any thread, never blocks; a full queue closes the
  /// connection as a slow consumer.
  void deliver(std::shared_ptr<const LiveEvent> event) override;
  void revoke() override;

  /// Closes the connection with 1001 "server shutting down". Any thread.
  void shutdown();

 private:
  enum class Phase { accepting, replaying, live, closing };
  using PlainWs = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  using TlsWs = boost::beast::websocket::stream<http::TlsStream>;

  /// The WebSocket stream over whichever transport the connection has.
  static std::variant<PlainWs, TlsWs> make_ws(http::ConnectionStream&& stream);
  /// Runs `f` on the WebSocket stream, whichever it is.
  template <class F>
  decltype(auto) with_ws(F&& f) {
    return std::visit(std::forward<F>(f), ws_);
  }
  /// The TCP layer: socket options, close.
  boost::beast::tcp_stream& lowest();

  void do_accept();
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void do_fetch_replay();
  void on_replay_page(Result<std::vector<storage::StoredEvent>> page);
  void on_wake();
  void do_write();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void do_close(boost::beast::websocket::close_reason reason);
  void on_close(boost::beast::error_code ec);
  void on_close_timer(boost::beast::error_code ec);
  void on_overflow();

  /// Puts the next frame into frame_ (false when there is none yet): replayed events first,
  /// then live ones; anything at or below the last seq written is dropped (a live event the
  /// replay already covered). May start fetching the next replay page.
  bool next_frame();
  /// Leaves the hub and stops taking live events. Idempotent.
  void leave_hub();

  std::variant<PlainWs, TlsWs> ws_;
  const boost::asio::any_io_executor executor_;  ///< the connection's strand
  boost::asio::steady_timer close_timer_;
  std::shared_ptr<StreamState> state_;
  const std::string account_id_;
  const std::vector<std::string> stream_keys_;  ///< the account's id first
  const std::optional<std::int64_t> since_;
  const Negotiated negotiated_;
  const std::size_t max_queued_;
  const std::size_t page_size_;
  bool registered_ = false;  ///< tracked in state_ (for shutdown)

  // Strand-owned.
  http::Request req_;
  boost::beast::flat_buffer read_buffer_;
  Phase phase_ = Phase::accepting;
  /// shutdown() or revoke() arrived while still accepting: the close that on_accept sends.
  std::optional<boost::beast::websocket::close_reason> close_requested_;
  bool subscribed_ = false;
  std::deque<storage::StoredEvent> replay_;  ///< the current page, not yet written
  std::int64_t replay_after_ = 0;            ///< next page starts after this seq
  bool replay_more_ = false;                 ///< the last page was full
  bool fetching_ = false;
  std::int64_t last_sent_ = 0;  ///< seq of the last event written (or `since`)
  /// Content seq of the last event written: the next copy of the same event (another of the
  /// account's streams) is skipped.
  std::int64_t last_content_seq_ = 0;
  bool writing_ = false;
  std::string frame_;  ///< the frame being written

  // Shared with deliver() (any thread).
  std::mutex mutex_;
  std::deque<std::shared_ptr<const LiveEvent>> live_;
  bool accepting_live_ = true;  ///< false once closing or overflowed
  bool wake_posted_ = false;
};

}  // namespace oshin::stream::detail
