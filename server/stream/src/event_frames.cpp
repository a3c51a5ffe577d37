#include "event_frames.hpp"

#include <google/protobuf/util/time_util.h>

#include <string_view>

#include "oshin/http/codec.hpp"
#include "oshin/stream/stream_server.hpp"

namespace oshin::stream::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Negotiated negotiate_subprotocol(const http::Request& req) {
  auto range = req.equal_range(boost::beast::http::field::sec_websocket_protocol);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view list = it->value();
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      std::string_view offer = trim(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (offer == kProtobufSubprotocol) {
        return Negotiated{FrameFormat::protobuf, std::string(kProtobufSubprotocol)};
      }
      if (offer == kJsonSubprotocol) {
        return Negotiated{FrameFormat::json, std::string(kJsonSubprotocol)};
      }
    }
  }
  return Negotiated{};
}

std::string encode_frame(const v1::ServerEvent& event, FrameFormat format) {
  if (format == FrameFormat::protobuf) {
    return event.SerializeAsString();
  }
  return http::to_json(event);
}

std::optional<v1::ServerEvent> from_stored(const storage::StoredEvent& stored) {
  v1::ServerEvent event;
  if (!event.ParseFromString(stored.payload)) {
    return std::nullopt;
  }
  event.set_seq(stored.seq);
  if (!event.has_at()) {
    *event.mutable_at() = google::protobuf::util::TimeUtil::MillisecondsToTimestamp(stored.at_ms);
  }
  if (event.type().empty()) {
    event.set_type(stored.type);
  }
  return event;
}

}  // namespace oshin::stream::detail
