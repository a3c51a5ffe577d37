#pragma once

#include <google/protobuf/message.h>

#include <string>

namespace oshin::http {

/// Appends `msg` as JSON to `out`: byte for byte what protobuf 3.21's MessageToJsonString gives
/// with the API's options (camelCase names, primitive defaults and empty lists printed, unset
/// messages and oneof/optional members left out), but by walking the message's reflection
/// directly instead of protobuf's converter (which serializes, re-parses and builds a tree of
/// defaults for every message, the largest CPU cost of answering and streaming).
///
/// Returns false when the message holds something this printer leaves to protobuf's (a
/// non-empty map, a Timestamp out of RFC 3339's range, a string that is not UTF-8, an enum
/// number without a name, a well-known type other than Timestamp); `out` is then left as it
/// was. tests/unit/http/json_print_test.cpp compares both printers on randomly filled API
/// messages. Any thread; never throws except std::bad_alloc.
bool append_json_fast(const google::protobuf::Message& msg, std::string& out);

}  // namespace oshin::http
