#include "ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>

namespace oshin::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

struct StreamClient::Impl {
  boost::asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
  std::optional<unsigned> close_code;
};

StreamClient::StreamClient() : impl_(std::make_unique<Impl>()) {}
StreamClient::StreamClient(StreamClient&&) noexcept = default;
StreamClient::~StreamClient() {
  if (impl_) {
    close();
  }
}

std::optional<StreamClient> StreamClient::connect(unsigned short port, const std::string& token,
                                                  const std::string& query, unsigned* status,
                                                  const std::string& subprotocol,
                                                  int receive_buffer_bytes) {
  StreamClient c;
  auto& ws = c.impl_->ws;
  beast::error_code ec;
  if (receive_buffer_bytes > 0) {
    auto& socket = beast::get_lowest_layer(ws).socket();
    socket.open(boost::asio::ip::tcp::v4(), ec);
    socket.set_option(boost::asio::socket_base::receive_buffer_size(receive_buffer_bytes), ec);
    if (ec) {
      return std::nullopt;
    }
  }
  beast::get_lowest_layer(ws).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws).connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) {
    return std::nullopt;
  }
  ws.set_option(websocket::stream_base::decorator([&](websocket::request_type& req) {
    if (!token.empty()) {
      req.set(beast::http::field::authorization, "Bearer " + token);
    }
    if (!subprotocol.empty()) {
      req.set(beast::http::field::sec_websocket_protocol, subprotocol);
    }
  }));
  websocket::response_type res;
  ws.handshake(res, "127.0.0.1", "/v1/stream" + query, ec);
  if (status != nullptr) {
    *status = res.result_int();
  }
  if (ec) {
    return std::nullopt;
  }
  beast::get_lowest_layer(ws).expires_never();
  return c;
}

std::optional<std::string> StreamClient::next_raw(std::chrono::milliseconds deadline) {
  auto& ws = impl_->ws;
  beast::get_lowest_layer(ws).expires_after(deadline);
  beast::error_code ec;
  impl_->buffer.clear();
  ws.read(impl_->buffer, ec);
  if (ec) {
    if (ec == websocket::error::closed) {
      impl_->close_code = static_cast<unsigned>(ws.reason().code);
    }
    return std::nullopt;
  }
  return beast::buffers_to_string(impl_->buffer.data());
}

std::optional<json::object> StreamClient::next(std::chrono::milliseconds deadline) {
  auto raw = next_raw(deadline);
  if (!raw) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(*raw, ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  return v.as_object();
}

std::optional<json::object> StreamClient::wait_for(
    const std::function<bool(const json::object&)>& match, std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return std::nullopt;
    }
    auto ev = next(left);
    if (!ev) {
      return std::nullopt;
    }
    if (match(*ev)) {
      return ev;
    }
  }
}

std::optional<json::object> StreamClient::wait_type(const std::string& type,
                                                    std::chrono::milliseconds deadline) {
  return wait_for([&](const json::object& o) { return o.at("type").as_string() == type; },
                  deadline);
}

std::optional<unsigned> StreamClient::close_code() const {
  return impl_->close_code;
}

void StreamClient::close() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).expires_after(std::chrono::seconds(2));
  if (impl_->ws.is_open()) {
    impl_->ws.close(websocket::close_code::normal, ec);
  }
}

}  // namespace oshin::testing
