#include "oshin/app/records.hpp"

#include <google/protobuf/util/time_util.h>

namespace oshin::app {

using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp to_timestamp(SystemTime t) {
  return TimeUtil::MillisecondsToTimestamp(to_unix_ms(t));
}

SystemTime from_timestamp(const google::protobuf::Timestamp& t) {
  return from_unix_ms(TimeUtil::TimestampToMilliseconds(t));
}

storage::PutRecord put_record(std::string_view kind, const std::string& id,
                              const google::protobuf::Message& msg, SystemTime now,
                              std::optional<std::string> unique_key, bool must_not_exist) {
  storage::PutRecord p;
  p.record.kind = std::string(kind);
  p.record.id = id;
  p.record.body = msg.SerializeAsString();
  p.record.updated_at_ms = to_unix_ms(now);
  p.unique_key = std::move(unique_key);
  p.must_not_exist = must_not_exist;
  return p;
}

}  // namespace oshin::app
