#include "oshin/http/codec.hpp"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "http_test_messages.pb.h"

namespace oshin::http {
namespace {

namespace bh = boost::beast::http;
using oshin::httptest::Sample;

Request request_with(std::map<std::string, std::string> headers, std::string body = {}) {
  Request req{bh::verb::post, "/v1/things", 11};
  for (auto& [name, value] : headers) {
    req.set(name, value);
  }
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

Sample full_sample() {
  Sample s;
  s.set_name("Yamada Hanako");
  s.set_count(3);
  s.add_tags("a");
  s.add_tags("b");
  s.mutable_inner()->set_label("in");
  s.mutable_inner()->set_level(7);
  s.set_color(oshin::httptest::BLUE);
  s.set_flag(true);
  s.add_items()->set_label("x");
  s.set_big_number(9007199254740993);
  return s;
}

bool same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

TEST(RequestFormat, FromContentType) {
  EXPECT_EQ(request_format(request_with({})).value(), Format::json);
  EXPECT_EQ(request_format(request_with({{"Content-Type", "application/json"}})).value(),
            Format::json);
  EXPECT_EQ(
      request_format(request_with({{"Content-Type", "Application/JSON; charset=utf-8"}})).value(),
      Format::json);
  EXPECT_EQ(request_format(request_with({{"Content-Type", "application/x-protobuf"}})).value(),
            Format::protobuf);
  auto bad = request_format(request_with({{"Content-Type", "text/plain"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), make_error_code(Errc::unsupported_media_type));
}

TEST(ResponseFormat, AcceptNegotiation) {
  auto format_for = [](std::string accept) {
    return response_format(request_with({{"Accept", std::move(accept)}}));
  };
  EXPECT_EQ(response_format(request_with({})).value(), Format::json);
  EXPECT_EQ(format_for("*/*").value(), Format::json);
  EXPECT_EQ(format_for("application/json").value(), Format::json);
  EXPECT_EQ(format_for("application/*").value(), Format::json);
  EXPECT_EQ(format_for("application/x-protobuf").value(), Format::protobuf);
  EXPECT_EQ(format_for("application/x-protobuf, */*").value(), Format::protobuf);
  EXPECT_EQ(format_for("application/json, application/x-protobuf").value(), Format::json);
  EXPECT_EQ(format_for("application/json;q=0.5, application/x-protobuf").value(), Format::protobuf);
  EXPECT_EQ(format_for("application/x-protobuf;q=0.1, application/json;q=0.9").value(),
            Format::json);
  EXPECT_EQ(format_for("application/x-protobuf; q=1.0 , application/json;q=0.9").value(),
            Format::protobuf);
  EXPECT_EQ(format_for("text/html, */*;q=0.1").value(), Format::json);
  EXPECT_EQ(format_for("*/*;q=0.5, application/json;q=0").value(), Format::protobuf);

  for (const char* accept : {"text/html", "application/json;q=0, application/x-protobuf;q=0",
                             "image/*", "application/json;q=abc", "*/*;q=0"}) {
    auto r = format_for(accept);
    ASSERT_FALSE(r) << accept;
    EXPECT_EQ(r.error(), make_error_code(Errc::not_acceptable)) << accept;
    EXPECT_EQ(http_status(Errc::not_acceptable), 406U);
  }
}

TEST(Codec, JsonRoundTrip) {
  Sample in = full_sample();
  std::string json = to_json(in);
  EXPECT_NE(json.find("\"bigNumber\":\"9007199254740993\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"color\":\"BLUE\""), std::string::npos) << json;

  Sample out;
  ApiError error;
  ASSERT_TRUE(decode_body(request_with({{"Content-Type", "application/json"}}, json), out, &error))
      << error.message;
  EXPECT_TRUE(same(in, out));

  auto res = make_response(request_with({}), bh::status::created, in);
  EXPECT_EQ(res.result(), bh::status::created);
  EXPECT_EQ(res.at(bh::field::content_type), "application/json; charset=utf-8");
  EXPECT_EQ(res.at(bh::field::cache_control), "no-store");
  EXPECT_EQ(res.body(), json);
  EXPECT_EQ(res.at(bh::field::content_length), std::to_string(json.size()));
}

TEST(Codec, JsonPrintsDefaults) {
  std::string json = to_json(Sample{});
  auto v = boost::json::parse(json).as_object();
  EXPECT_EQ(v.at("name").as_string(), "");
  EXPECT_EQ(v.at("count").as_int64(), 0);
  EXPECT_TRUE(v.at("tags").as_array().empty());
  EXPECT_TRUE(v.at("items").as_array().empty());
  EXPECT_EQ(v.at("flag").as_bool(), false);
  EXPECT_EQ(v.at("color").as_string(), "COLOR_UNSPECIFIED");
  EXPECT_TRUE(v.contains("bigNumber"));
}

TEST(Codec, ProtobufRoundTrip) {
  Sample in = full_sample();
  auto res =
      make_response(request_with({{"Accept", "application/x-protobuf"}}), bh::status::ok, in);
  EXPECT_EQ(res.at(bh::field::content_type), "application/x-protobuf");
  Sample out;
  ASSERT_TRUE(out.ParseFromString(res.body()));
  EXPECT_TRUE(same(in, out));

  Sample decoded;
  ASSERT_TRUE(decode_body(
      request_with({{"Content-Type", "application/x-protobuf"}}, in.SerializeAsString()), decoded,
      nullptr));
  EXPECT_TRUE(same(in, decoded));
}

TEST(Codec, NotAcceptableFallsBackToJson) {
  auto res = make_response(request_with({{"Accept", "text/html"}}), bh::status::ok, Sample{});
  EXPECT_EQ(res.at(bh::field::content_type), "application/json; charset=utf-8");
}

TEST(Codec, EmptyBodyIsEmptyMessage) {
  Sample out = full_sample();
  ASSERT_TRUE(decode_body(request_with({}), out, nullptr));
  EXPECT_TRUE(same(out, Sample{}));
}

TEST(Codec, UnknownFieldNamesTheField) {
  struct Case {
    std::string body;
    std::string field;
  };
  for (const Case& c : {Case{R"({"name":"x","bogus":1})", "bogus"},
                        Case{R"({"inner":{"label":"a","zzz":true}})", "inner.zzz"},
                        Case{R"({"items":[{"label":"a"},{"nope":1}]})", "items[1].nope"},
                        Case{R"({"innerThing":{"zzz":1}})", "innerThing.zzz"},
                        Case{R"({"inner_thing":{"label":"a","z_z":1}})", "innerThing.z_z"}}) {
    Sample out;
    ApiError error;
    auto r = decode_body(request_with({}, c.body), out, &error);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error(), make_error_code(Errc::unknown_field));
    EXPECT_EQ(error.code, Errc::unknown_field);
    EXPECT_EQ(error.field, c.field);

    auto res = make_error_response(request_with({}), error);
    EXPECT_EQ(res.result(), bh::status::bad_request);
    auto v = boost::json::parse(res.body());
    EXPECT_EQ(v.at("error").at("code").as_string(), "INVALID_ARGUMENT");
    EXPECT_EQ(v.at("error").at("field").as_string(), c.field);
  }
}

TEST(Codec, WrongValueTypeNamesTheField) {
  Sample out;
  ApiError error;
  ASSERT_FALSE(decode_body(request_with({}, R"({"count":"many"})"), out, &error));
  EXPECT_EQ(error.code, Errc::invalid_argument);
  EXPECT_EQ(error.field, "count");

  ASSERT_FALSE(decode_body(request_with({}, R"({"innerThing":{"level":"x"}})"), out, &error));
  EXPECT_EQ(error.field, "innerThing.level");
  ASSERT_FALSE(decode_body(request_with({}, R"({"bigNumber":"x"})"), out, &error));
  EXPECT_EQ(error.field, "bigNumber");

  ASSERT_FALSE(decode_body(request_with({}, R"({"color":"GREEN"})"), out, &error));
  EXPECT_EQ(error.code, Errc::invalid_argument);
  EXPECT_EQ(error.field, "color");
  EXPECT_EQ(error.message.find("GREEN"), std::string::npos) << error.message;
}

TEST(Codec, MalformedJsonIsInvalidArgumentWithoutEcho) {
  for (const char* body : {R"({"name":"s3cret-password)", "not json at all s3cret-password",
                           R"({"name":"s3cret-password"} trailing)", "[1,2]"}) {
    Sample out;
    ApiError error;
    auto r = decode_body(request_with({}, body), out, &error);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(error.code, Errc::invalid_argument) << body;
    EXPECT_EQ(error.message.rfind("malformed JSON: ", 0), 0U) << error.message;
    EXPECT_EQ(error.message.find("s3cret"), std::string::npos) << error.message;
    EXPECT_EQ(error.message.find('\n'), std::string::npos) << error.message;
  }
}

TEST(Codec, MalformedProtobufIsInvalidArgument) {
  Sample out;
  ApiError error;
  auto r = decode_body(
      request_with({{"Content-Type", "application/x-protobuf"}}, std::string("\xff\xff\xff", 3)),
      out, &error);
  ASSERT_FALSE(r);
  EXPECT_EQ(error.code, Errc::invalid_argument);
}

TEST(Codec, UnsupportedContentTypeIs415) {
  Sample out;
  ApiError error;
  auto r = decode_body(request_with({{"Content-Type", "text/plain"}}, "hi"), out, &error);
  ASSERT_FALSE(r);
  EXPECT_EQ(error.code, Errc::unsupported_media_type);
  EXPECT_EQ(make_error_response(request_with({}), error).result_int(), 415U);
}

TEST(Codec, ErrorBodyShape) {
  auto res = make_error_response(request_with({}), Errc::not_found);
  EXPECT_EQ(res.result(), bh::status::not_found);
  EXPECT_EQ(res.at(bh::field::content_type), "application/json; charset=utf-8");
  EXPECT_EQ(res.at(bh::field::cache_control), "no-store");
  EXPECT_EQ(res.body(), R"({"error":{"code":"NOT_FOUND","message":"not found"}})");

  ApiError e{Errc::out_of_service_area, "too far \"away\"", "patient.location", "v-9"};
  res = make_error_response(request_with({{"Accept", "application/x-protobuf"}}), e);
  EXPECT_EQ(res.result_int(), 422U);
  EXPECT_EQ(res.at(bh::field::content_type), "application/json; charset=utf-8");
  auto v = boost::json::parse(res.body()).at("error").as_object();
  EXPECT_EQ(v.at("code").as_string(), "OUT_OF_SERVICE_AREA");
  EXPECT_EQ(v.at("message").as_string(), "too far \"away\"");
  EXPECT_EQ(v.at("field").as_string(), "patient.location");
  EXPECT_EQ(v.at("visitId").as_string(), "v-9");
  EXPECT_EQ(v.size(), 4U);
}

TEST(Codec, KeepAliveAndVersionFollowTheRequest) {
  Request req{bh::verb::get, "/", 10};
  req.keep_alive(false);
  auto res = make_response(req, bh::status::ok, Sample{});
  EXPECT_EQ(res.version(), 10U);
  EXPECT_FALSE(res.keep_alive());

  Request keep{bh::verb::get, "/", 11};
  EXPECT_TRUE(make_error_response(keep, Errc::internal).keep_alive());
  keep.keep_alive(false);
  EXPECT_FALSE(make_empty_response(keep, bh::status::no_content).keep_alive());
}

TEST(Codec, EmptyAndRawResponses) {
  auto res = make_empty_response(request_with({}), bh::status::no_content);
  EXPECT_EQ(res.result(), bh::status::no_content);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(res.at(bh::field::cache_control), "no-store");

  res = make_raw_response(request_with({}), bh::status::ok, "a,b\n", "text/csv");
  EXPECT_EQ(res.at(bh::field::content_type), "text/csv");
  EXPECT_EQ(res.body(), "a,b\n");
  EXPECT_EQ(res.at(bh::field::content_length), "4");

  res = make_raw_response(request_with({}), bh::status::no_content, "ignored", "text/plain");
  EXPECT_TRUE(res.body().empty());
}

}  // namespace
}  // namespace oshin::http
