#include "oshin/http/codec.hpp"

#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "oshin/http/json_print.hpp"

namespace oshin::http {
namespace {

constexpr std::string_view kJsonType = "application/json; charset=utf-8";
constexpr std::string_view kProtobufType = "application/x-protobuf";
constexpr std::size_t kMaxEchoedNameBytes = 128;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// The media type of a Content-Type or Accept element without its parameters.
std::string_view media_type(std::string_view value) {
  return trim(value.substr(0, value.find(';')));
}

// Parses a quality value ("1", "0.5", "0.125"); nullopt when malformed.
std::optional<double> parse_quality(std::string_view q) {
  if (q.empty() || q.size() > 5 || (q[0] != '0' && q[0] != '1')) {
    return std::nullopt;
  }
  double value = q[0] == '1' ? 1.0 : 0.0;
  if (q.size() == 1) {
    return value;
  }
  if (q[1] != '.') {
    return std::nullopt;
  }
  double scale = 0.1;
  for (std::size_t i = 2; i < q.size(); ++i) {
    if (q[i] < '0' || q[i] > '9') {
      return std::nullopt;
    }
    value += scale * (q[i] - '0');
    scale /= 10;
  }
  return value > 1.0 ? std::nullopt : std::optional<double>(value);
}

// How well one Accept element matches a media type: -1 not at all, 0 */*, 1 type/*, 2 exact.
int specificity(std::string_view range, std::string_view type) {
  if (boost::beast::iequals(range, type)) {
    return 2;
  }
  auto slash = type.find('/');
  if (range.size() == slash + 2 && range.substr(slash) == "/*" &&
      boost::beast::iequals(range.substr(0, slash), type.substr(0, slash))) {
    return 1;
  }
  if (range == "*/*") {
    return 0;
  }
  return -1;
}

struct Acceptance {
  double quality = 0;
  int specificity = -1;
};

// The quality the Accept header gives `type`: the most specific matching element decides.
Acceptance acceptance(std::string_view accept, std::string_view type) {
  Acceptance best;
  while (!accept.empty()) {
    auto comma = accept.find(',');
    std::string_view element = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);

    std::string_view range = media_type(element);
    int spec = specificity(range, type);
    if (spec < 0 || spec < best.specificity) {
      continue;
    }
    double quality = 1.0;
    std::string_view params = element.substr(std::min(element.size(), element.find(';')));
    while (!params.empty()) {
      params.remove_prefix(1);  // the ';'
      auto semi = params.find(';');
      std::string_view param = trim(params.substr(0, semi));
      params = semi == std::string_view::npos ? std::string_view() : params.substr(semi);
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        // A malformed quality makes the element unusable rather than preferred.
        quality = parse_quality(trim(param.substr(2))).value_or(0.0);
      }
    }
    if (spec > best.specificity) {
      best = Acceptance{quality, spec};
    }
  }
  return best;
}

// A short, printable-ASCII copy of untrusted text echoed in an error message.
std::string truncated(std::string_view s) {
  std::string out(s.substr(0, kMaxEchoedNameBytes));
  for (char& c : out) {
    if (c < 0x20 || c > 0x7e) {
      c = '?';
    }
  }
  return out;
}

// Protobuf reports paths with proto field names ("service_hours.weeknight_start"); the API
// names fields by their JSON names ("serviceHours.weeknightStart").
std::string json_path(std::string_view proto_path) {
  std::string out;
  out.reserve(proto_path.size());
  bool upper_next = false;
  for (char c : proto_path) {
    if (c == '_') {
      upper_next = true;
      continue;
    }
    if (upper_next && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    upper_next = false;
    out.push_back(c);
  }
  return out;
}

// Turns protobuf's JSON parse status into an API error. Protobuf 3.21 messages look like
//   "bogus: Cannot find field."  "(a[0]) bogus: Cannot find field."
//   "(a.b): invalid value 5 for type TYPE_STRING"  "Unexpected token.\n<input>\n^"
// The input echo after the first line is never copied into the answer.
ApiError json_error(std::string_view status_message) {
  std::string_view line = status_message.substr(0, status_message.find('\n'));
  constexpr std::string_view kUnknown = ": Cannot find field.";
  if (line.size() > kUnknown.size() && line.substr(line.size() - kUnknown.size()) == kUnknown) {
    std::string_view rest = line.substr(0, line.size() - kUnknown.size());
    std::string field;
    if (!rest.empty() && rest.front() == '(') {
      auto close = rest.find(") ");
      if (close != std::string_view::npos) {
        field = json_path(rest.substr(1, close - 1)) + ".";
        rest.remove_prefix(close + 2);
      }
    }
    field += rest;
    return ApiError{
        Errc::unknown_field, "unknown field \"" + truncated(rest) + "\"", truncated(field), {}};
  }
  if (!line.empty() && line.front() == '(') {
    auto close = line.find("): ");
    if (close != std::string_view::npos) {
      std::string field = json_path(line.substr(1, close - 1));
      std::string message = "invalid value for field \"" + truncated(field) + "\"";
      constexpr std::string_view kForType = " for type ";
      auto type_at = line.find(kForType, close);
      if (type_at != std::string_view::npos) {
        std::string_view type = line.substr(type_at + kForType.size());
        constexpr std::string_view kTypeUrl = "type.googleapis.com/";
        if (type.substr(0, kTypeUrl.size()) == kTypeUrl) {
          type.remove_prefix(kTypeUrl.size());
        }
        message += " (expected " + truncated(type) + ")";
      }
      return ApiError{Errc::invalid_argument, std::move(message), truncated(field), {}};
    }
  }
  if (line.substr(0, 2) == ": ") {
    line.remove_prefix(2);
  }
  return ApiError{Errc::invalid_argument, "malformed JSON: " + truncated(line), {}, {}};
}

void set_common_headers(const Request& req, Response& res) {
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(beast_http::field::cache_control, "no-store");
}

bool status_allows_body(unsigned status) {
  return !(status < 200 || status == 204 || status == 304);
}

}  // namespace

Result<Format> request_format(const Request& req) {
  auto it = req.find(beast_http::field::content_type);
  if (it == req.end()) {
    return Format::json;
  }
  std::string_view type = media_type(it->value());
  if (type.empty() || boost::beast::iequals(type, "application/json")) {
    return Format::json;
  }
  if (boost::beast::iequals(type, "application/x-protobuf")) {
    return Format::protobuf;
  }
  return Errc::unsupported_media_type;
}

Result<Format> response_format(const Request& req) {
  auto it = req.find(beast_http::field::accept);
  if (it == req.end() || trim(it->value()).empty()) {
    return Format::json;
  }
  Acceptance json = acceptance(it->value(), "application/json");
  Acceptance proto = acceptance(it->value(), "application/x-protobuf");
  if (json.quality <= 0 && proto.quality <= 0) {
    return Errc::not_acceptable;
  }
  // Higher quality wins; at equal quality the more specific mention wins; then JSON.
  if (proto.quality > json.quality ||
      (proto.quality == json.quality && proto.specificity > json.specificity)) {
    return Format::protobuf;
  }
  return Format::json;
}

bool accepts(const Request& req, std::string_view media_type_with_params) {
  auto it = req.find(beast_http::field::accept);
  if (it == req.end() || trim(it->value()).empty()) {
    return true;
  }
  return acceptance(it->value(), media_type(media_type_with_params)).quality > 0;
}

Result<void> decode_body(const Request& req, google::protobuf::Message& out, ApiError* error) {
  auto fail = [error](ApiError e) -> Result<void> {
    Errc code = e.code;
    if (error != nullptr) {
      *error = std::move(e);
    }
    return code;
  };
  out.Clear();
  auto format = request_format(req);
  if (!format) {
    return fail(ApiError{Errc::unsupported_media_type,
                         "Content-Type must be application/json or application/x-protobuf",
                         {},
                         {}});
  }
  const std::string& body = req.body();
  if (body.empty()) {
    return {};
  }
  if (*format == Format::protobuf) {
    if (!out.ParseFromString(body)) {
      out.Clear();
      return fail(ApiError{Errc::invalid_argument, "malformed protobuf body", {}, {}});
    }
    return {};
  }
  return parse_json(body, out, error);
}

Result<void> parse_json(std::string_view json, google::protobuf::Message& out, ApiError* error) {
  out.Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &out, options);
  if (!status.ok()) {
    out.Clear();
    ApiError e = json_error(status.message().ToString());
    Errc code = e.code;
    if (error != nullptr) {
      *error = std::move(e);
    }
    return code;
  }
  return {};
}

std::string to_json(const google::protobuf::Message& msg) {
  std::string out;
  if (append_json_fast(msg, out)) {
    return out;
  }
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = false;
  auto status = google::protobuf::util::MessageToJsonString(msg, &out, options);
  if (!status.ok()) {
    spdlog::error("printing {} as JSON failed: {}", msg.GetTypeName(), status.ToString());
    return "{}";
  }
  return out;
}

Response make_response(const Request& req, beast_http::status status,
                       const google::protobuf::Message& msg) {
  Response res{status, req.version()};
  set_common_headers(req, res);
  auto format = response_format(req);
  if (format && *format == Format::protobuf) {
    res.set(beast_http::field::content_type, kProtobufType);
    if (!msg.SerializeToString(&res.body())) {
      spdlog::error("serializing {} failed", msg.GetTypeName());
      return make_error_response(req, Errc::internal);
    }
  } else {
    res.set(beast_http::field::content_type, kJsonType);
    res.body() = to_json(msg);
  }
  if (!status_allows_body(static_cast<unsigned>(status))) {
    res.body().clear();
  }
  res.prepare_payload();
  return res;
}

Response make_empty_response(const Request& req, beast_http::status status) {
  Response res{status, req.version()};
  set_common_headers(req, res);
  res.prepare_payload();
  return res;
}

Response make_raw_response(const Request& req, beast_http::status status, std::string body,
                           std::string_view content_type) {
  Response res{status, req.version()};
  set_common_headers(req, res);
  if (status_allows_body(static_cast<unsigned>(status))) {
    res.set(beast_http::field::content_type, content_type);
    res.body() = std::move(body);
  }
  res.prepare_payload();
  return res;
}

Response make_error_response(const Request& req, const ApiError& error) {
  Errc code = error.code == Errc::ok ? Errc::internal : error.code;
  boost::json::object inner;
  inner["code"] = api_error_code(code);
  inner["message"] = error.message.empty() ? default_message(code) : error.message;
  if (!error.field.empty()) {
    inner["field"] = error.field;
  }
  if (!error.visit_id.empty()) {
    inner["visitId"] = error.visit_id;
  }
  boost::json::object outer;
  outer["error"] = std::move(inner);

  Response res;
  res.result(http_status(code));
  set_common_headers(req, res);
  res.set(beast_http::field::content_type, kJsonType);
  if (code == Errc::too_many_attempts) {
    // Failed logins are counted over a one-minute window (AccountService).
    res.set(beast_http::field::retry_after, "60");
  }
  res.body() = boost::json::serialize(outer);
  res.prepare_payload();
  return res;
}

}  // namespace oshin::http
