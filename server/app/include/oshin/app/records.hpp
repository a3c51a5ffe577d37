#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <optional>
#include <string>
#include <string_view>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/storage/store.hpp"

namespace oshin::app {

/// A protobuf Timestamp for an instant (millisecond precision).
google::protobuf::Timestamp to_timestamp(SystemTime t);
/// The instant of a protobuf Timestamp (unset = the epoch).
SystemTime from_timestamp(const google::protobuf::Timestamp& t);

/// A PutRecord holding `msg` serialized under (kind, id).
storage::PutRecord put_record(std::string_view kind, const std::string& id,
                              const google::protobuf::Message& msg, SystemTime now,
                              std::optional<std::string> unique_key = std::nullopt,
                              bool must_not_exist = false);

/// Parses every record of a kind into messages of type T; Errc::internal on a corrupt body.
template <class T, class Fn>
Result<void> load_records(storage::Store& store, std::string_view kind, Fn&& each) {
  auto records = store.list(std::string(kind));
  if (!records) {
    return records.error();
  }
  for (const auto& r : *records) {
    T msg;
    if (!msg.ParseFromString(r.body)) {
      return Errc::internal;
    }
    each(std::move(msg));
  }
  return {};
}

}  // namespace oshin::app
