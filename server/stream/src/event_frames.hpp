#pragma once

#include <optional>
#include <string>

#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/stream.pb.h"

namespace oshin::stream::detail {

/// How events travel on one connection.
enum class FrameFormat {
  json,      ///< text frames, proto3 canonical JSON with default values printed
  protobuf,  ///< binary frames, the serialized ServerEvent
};

/// The outcome of subprotocol negotiation: the frame format and the subprotocol to answer with
/// ("" for none).
struct Negotiated {
  FrameFormat format = FrameFormat::json;
  std::string subprotocol;
};

/// Picks the first subprotocol the client offers (Sec-WebSocket-Protocol, possibly repeated,
/// comma-separated) that the server knows; JSON without a subprotocol when none. Any thread.
Negotiated negotiate_subprotocol(const http::Request& req);

/// The bytes of one frame carrying `event`. Any thread.
std::string encode_frame(const v1::ServerEvent& event, FrameFormat format);

/// A logged event as clients see it: the payload with the log's seq (and `at` from the log when
/// the payload has none). nullopt when the payload does not parse. Any thread.
std::optional<v1::ServerEvent> from_stored(const storage::StoredEvent& stored);

}  // namespace oshin::stream::detail
