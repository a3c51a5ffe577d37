// The fast JSON printer (append_json_fast) against protobuf's own printer with the same options:
// every message type of the API schema, randomly filled, must print byte for byte the same, and
// whatever the fast printer declines must still reach the client through protobuf's printer.

#include "oshin/http/json_print.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "http_test_messages.pb.h"
#include "oshin/http/codec.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/audit.pb.h"
#include "oshin/v1/common.pb.h"
#include "oshin/v1/config.pb.h"
#include "oshin/v1/core_log.pb.h"
#include "oshin/v1/error.pb.h"
#include "oshin/v1/health.pb.h"
#include "oshin/v1/inbox.pb.h"
#include "oshin/v1/internal.pb.h"
#include "oshin/v1/offers.pb.h"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/reports.pb.h"
#include "oshin/v1/stream.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/teams.pb.h"
#include "oshin/v1/visits.pb.h"

namespace {

namespace pb = google::protobuf;

std::string slow_json(const pb::Message& msg) {
  pb::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  std::string out;
  EXPECT_TRUE(pb::util::MessageToJsonString(msg, &out, options).ok());
  return out;
}

/// Every message type of the API schema (each file reached through one of its messages, so the
/// linker keeps all of them), nested types included.
std::vector<const pb::Descriptor*> api_messages() {
  const std::vector<const pb::FileDescriptor*> files = {
      oshin::v1::Organization::descriptor()->file(), oshin::v1::AuditEntry::descriptor()->file(),
      oshin::v1::LatLon::descriptor()->file(),       oshin::v1::ServerConfig::descriptor()->file(),
      oshin::v1::CoreTeam::descriptor()->file(),     oshin::v1::Error::descriptor()->file(),
      oshin::v1::HealthStatus::descriptor()->file(), oshin::v1::InboxItem::descriptor()->file(),
      oshin::v1::StoredUser::descriptor()->file(),   oshin::v1::OfferPatient::descriptor()->file(),
      oshin::v1::Eligibility::descriptor()->file(),  oshin::v1::WeekdayHours::descriptor()->file(),
      oshin::v1::AckOverdue::descriptor()->file(),   oshin::v1::Prescription::descriptor()->file(),
      oshin::v1::Team::descriptor()->file(),         oshin::v1::Vitals::descriptor()->file(),
  };
  std::vector<const pb::Descriptor*> out;
  std::vector<const pb::Descriptor*> unvisited;
  for (const pb::FileDescriptor* f : files) {
    for (int i = 0; i < f->message_type_count(); ++i) {
      unvisited.push_back(f->message_type(i));
    }
  }
  while (!unvisited.empty()) {
    const pb::Descriptor* d = unvisited.back();
    unvisited.pop_back();
    if (d->options().map_entry()) {
      continue;
    }
    out.push_back(d);
    for (int i = 0; i < d->nested_type_count(); ++i) {
      unvisited.push_back(d->nested_type(i));
    }
  }
  return out;
}

/// Fills messages with values chosen to hit every rendering rule: escapes, non-ASCII text,
/// integer extremes, awkward doubles, timestamps across the whole RFC 3339 range.
class Filler {
 public:
  explicit Filler(std::uint32_t seed) : rng_(seed) {}

  void fill(pb::Message& msg, int depth) {
    const pb::Descriptor* d = msg.GetDescriptor();
    const pb::Reflection* r = msg.GetReflection();
    if (d->full_name() == "google.protobuf.Timestamp") {
      fill_timestamp(msg);
      return;
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (f->is_map() || !chance(0.6)) {
        continue;
      }
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth > 3) {
        continue;
      }
      if (f->is_repeated()) {
        const int n = pick(0, 3);
        for (int k = 0; k < n; ++k) {
          add_value(msg, r, f, depth);
        }
      } else {
        set_value(msg, r, f, depth);
      }
    }
  }

 private:
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[static_cast<std::size_t>(pick(0, static_cast<int>(v.size()) - 1))];
  }

  std::string text() {
    static const std::vector<std::string> pieces = {
        "",
        "vis_12",
        "Tanaka Hanako",
        "\"quoted\" and \\back\\slash",
        "<script>&amp;</script>",
        "tab\there\nnew line\r\f\b",
        std::string("nul\0byte", 8),
        "\x01\x1f\x7f",
        "発熱 38.5℃、呼吸苦あり",
        "emoji \xF0\x9F\x98\x80",
        "\xC2\x85 C1 control, \xC2\xA0 nbsp, \xC2\xAD soft hyphen",
        "\xE2\x80\xA8 line sep \xE2\x80\xAE rlo \xEF\xBB\xBF bom",
        "\xF3\xA0\x80\x81 tag \xF0\x9D\x85\xB3 music",
        "\xD8\x80 arabic \xDB\x9D ayah \xE1\x9E\xB4 khmer",
        "https://example.org/hook?a=1&b=2",
    };
    std::string s = one_of(pieces);
    if (chance(0.3)) {
      s += one_of(pieces);
    }
    return s;
  }

  double real() {
    static const std::vector<double> values = {0.0,
                                               -0.0,
                                               1.0,
                                               0.1,
                                               35.6895,
                                               139.6917,
                                               -12.5,
                                               1e21,
                                               1e-7,
                                               123456789.123,
                                               1e300,
                                               5e-324,
                                               0.30000000000000004,
                                               std::numeric_limits<double>::infinity(),
                                               -std::numeric_limits<double>::infinity(),
                                               std::numeric_limits<double>::quiet_NaN()};
    if (chance(0.3)) {
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    }
    return one_of(values);
  }

  std::int64_t int64() {
    static const std::vector<std::int64_t> values = {0,
                                                     1,
                                                     -1,
                                                     42,
                                                     1700000000000,
                                                     std::numeric_limits<std::int64_t>::max(),
                                                     std::numeric_limits<std::int64_t>::min()};
    return one_of(values);
  }

  void fill_timestamp(pb::Message& ts) {
    const pb::Reflection* r = ts.GetReflection();
    const pb::Descriptor* d = ts.GetDescriptor();
    static const std::vector<std::int64_t> seconds = {
        0, 1, -1, 1795000000, 1700000000, -62135596800, 253402300799, 951782400, -2208988800};
    static const std::vector<std::int32_t> nanos = {0,         1,         999999999, 123000000,
                                                    123456000, 123456789, 500000000, 1000};
    std::int64_t s = one_of(seconds);
    if (chance(0.5)) {
      s = std::uniform_int_distribution<std::int64_t>(-62135596800, 253402300799)(rng_);
    }
    r->SetInt64(&ts, d->FindFieldByNumber(1), s);
    r->SetInt32(&ts, d->FindFieldByNumber(2), one_of(nanos));
  }

  int enum_number(const pb::FieldDescriptor* f) {
    const pb::EnumDescriptor* e = f->enum_type();
    return e->value(pick(0, e->value_count() - 1))->number();
  }

  void set_value(pb::Message& msg, const pb::Reflection* r, const pb::FieldDescriptor* f,
                 int depth) {
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->SetInt32(&msg, f, chance(0.5) ? pick(-5, 500) : static_cast<std::int32_t>(int64()));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->SetUInt32(&msg, f, static_cast<std::uint32_t>(int64()));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->SetInt64(&msg, f, int64());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->SetUInt64(&msg, f, static_cast<std::uint64_t>(int64()));
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        r->SetDouble(&msg, f, real());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        r->SetFloat(&msg, f, static_cast<float>(real()));
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        r->SetBool(&msg, f, chance(0.5));
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->SetEnumValue(&msg, f, enum_number(f));
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(&msg, f, text());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        fill(*r->MutableMessage(&msg, f), depth + 1);
        break;
    }
  }

  void add_value(pb::Message& msg, const pb::Reflection* r, const pb::FieldDescriptor* f,
                 int depth) {
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        r->AddInt32(&msg, f, pick(-5, 500));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        r->AddUInt32(&msg, f, static_cast<std::uint32_t>(pick(0, 500)));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        r->AddInt64(&msg, f, int64());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        r->AddUInt64(&msg, f, static_cast<std::uint64_t>(int64()));
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        r->AddDouble(&msg, f, real());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        r->AddFloat(&msg, f, static_cast<float>(real()));
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        r->AddBool(&msg, f, chance(0.5));
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        r->AddEnumValue(&msg, f, enum_number(f));
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->AddString(&msg, f, text());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        fill(*r->AddMessage(&msg, f), depth + 1);
        break;
    }
  }

  std::mt19937 rng_;
};

std::unique_ptr<pb::Message> make(const pb::Descriptor* d) {
  return std::unique_ptr<pb::Message>(
      pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
}

TEST(JsonPrintTest, EveryApiMessagePrintsLikeProtobuf) {
  const auto types = api_messages();
  ASSERT_GE(types.size(), 80u);  // the whole schema was reached (82 types today)
  constexpr std::uint32_t kSeeds = 150;
  int printed = 0;
  int declined = 0;
  std::set<std::string> declined_types;
  for (const pb::Descriptor* d : types) {
    for (std::uint32_t seed = 0; seed < kSeeds; ++seed) {
      Filler filler(seed * 7919 + static_cast<std::uint32_t>(d->index()));
      auto msg = make(d);
      if (seed > 0) {  // seed 0: the empty message
        filler.fill(*msg, 0);
      }
      std::string fast = "prefix";
      if (oshin::http::append_json_fast(*msg, fast)) {
        ++printed;
        ASSERT_EQ(fast, "prefix" + slow_json(*msg)) << d->full_name() << " seed " << seed;
      } else {
        ++declined;
        declined_types.insert(d->full_name());
        EXPECT_EQ(fast, "prefix") << "a declined print leaves the output as it was";
      }
      // What clients get is protobuf's rendering either way.
      ASSERT_EQ(oshin::http::to_json(*msg), slow_json(*msg)) << d->full_name();
    }
  }
  // Without maps (left empty above) every message prints on the fast path.
  EXPECT_EQ(declined, 0) << "declined types, e.g. " << *declined_types.begin();
  EXPECT_EQ(printed, static_cast<int>(types.size() * kSeeds));
}

TEST(JsonPrintTest, DeclinesWhatItLeavesToProtobuf) {
  std::string out = "x";

  oshin::v1::DemandReport with_map;  // non-empty map: entry order is protobuf's business
  (*with_map.mutable_by_urgency())["URGENT"] = 3;
  EXPECT_FALSE(oshin::http::append_json_fast(with_map, out));
  EXPECT_EQ(oshin::http::to_json(with_map), slow_json(with_map));

  oshin::v1::Visit bad_utf8;  // protobuf drops bytes that are not UTF-8
  bad_utf8.set_chief_complaint("fever \xff\xfe");
  EXPECT_FALSE(oshin::http::append_json_fast(bad_utf8, out));

  oshin::v1::Visit far_future;  // outside RFC 3339: protobuf reports an error
  far_future.mutable_created_at()->set_seconds(253402300800);
  EXPECT_FALSE(oshin::http::append_json_fast(far_future, out));

  oshin::httptest::Sample unknown_enum;  // open enum, number without a name
  unknown_enum.set_color(static_cast<oshin::httptest::Color>(42));
  EXPECT_FALSE(oshin::http::append_json_fast(unknown_enum, out));
  EXPECT_EQ(oshin::http::to_json(unknown_enum), slow_json(unknown_enum));

  EXPECT_EQ(out, "x");
}

TEST(JsonPrintTest, KnownShapes) {
  oshin::httptest::Sample s;
  std::string out;
  ASSERT_TRUE(oshin::http::append_json_fast(s, out));
  EXPECT_EQ(out, R"({"name":"","count":0,"tags":[],"color":"COLOR_UNSPECIFIED","flag":false,)"
                 R"("items":[],"bigNumber":"0"})");
  s.set_name("a<b>\"c\"\n");
  s.mutable_inner()->set_level(2);
  s.set_big_number(-9007199254740993);
  out.clear();
  ASSERT_TRUE(oshin::http::append_json_fast(s, out));
  EXPECT_EQ(out, slow_json(s));
  EXPECT_NE(out.find(R"("name":"a\u003cb\u003e\"c\"\n")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("inner":{"label":"","level":2})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("bigNumber":"-9007199254740993")"), std::string::npos) << out;
}

}  // namespace
