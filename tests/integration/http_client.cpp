#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <stdexcept>

namespace oshin::testing {

namespace beast = boost::beast;
namespace json = boost::json;

const json::value& HttpResult::json() const {
  if (!parsed) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    parsed = ec ? json::value(nullptr) : std::move(v);
  }
  return *parsed;
}

std::string HttpResult::error_code() const {
  const auto& v = json();
  if (!v.is_object()) {
    return "";
  }
  const auto* err = v.as_object().if_contains("error");
  if (err == nullptr || !err->is_object()) {
    return "";
  }
  const auto* code = err->as_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

std::string HttpResult::header(const std::string& lowercase_name) const {
  auto it = headers.find(lowercase_name);
  return it == headers.end() ? "" : it->second;
}

HttpClient::HttpClient(unsigned short port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout) {}

void HttpClient::ensure_connected() {
  if (stream_ && stream_->socket().is_open()) {
    return;
  }
  stream_.emplace(ioc_);
  buffer_.clear();
  stream_->expires_after(timeout_);
  stream_->connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
}

HttpResult HttpClient::read_response() {
  HttpResult out;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  stream_->expires_after(timeout_);
  beast::error_code ec;
  bhttp::read(*stream_, buffer_, parser, ec);
  if (ec) {
    out.closed = true;
    stream_.reset();
    return out;
  }
  auto& res = parser.get();
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.headers[name] = std::string(f.value());
  }
  if (!res.keep_alive()) {
    out.closed = true;
    stream_.reset();
  }
  return out;
}

HttpResult HttpClient::request(bhttp::verb method, const std::string& target,
                               const std::string& body, const std::string& token,
                               const std::map<std::string, std::string>& headers) {
  ensure_connected();
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.keep_alive(true);
  if (!token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + token);
  }
  bool has_type = headers.count("Content-Type") != 0;
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  if (!body.empty() && !has_type) {
    req.set(bhttp::field::content_type, "application/json");
  }
  req.body() = body;
  req.prepare_payload();
  stream_->expires_after(timeout_);
  beast::error_code ec;
  bhttp::write(*stream_, req, ec);
  if (ec) {
    HttpResult out;
    out.closed = true;
    stream_.reset();
    return out;
  }
  return read_response();
}

HttpResult HttpClient::raw(const std::string& bytes) {
  ensure_connected();
  beast::error_code ec;
  stream_->expires_after(timeout_);
  boost::asio::write(stream_->socket(), boost::asio::buffer(bytes), ec);
  if (ec) {
    HttpResult out;
    out.closed = true;
    stream_.reset();
    return out;
  }
  return read_response();
}

bool HttpClient::wait_closed(std::chrono::milliseconds deadline) {
  ensure_connected();
  stream_->expires_after(deadline);
  char c = 0;
  beast::error_code ec;
  stream_->read_some(boost::asio::buffer(&c, 1), ec);
  bool closed = ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  stream_.reset();
  return closed;
}

HttpResult http_call(unsigned short port, bhttp::verb method, const std::string& target,
                     const std::string& body, const std::string& token,
                     const std::map<std::string, std::string>& headers) {
  HttpClient client(port);
  return client.request(method, target, body, token, headers);
}

std::string login(unsigned short port, const std::string& username, const std::string& password) {
  json::object o{{"username", username}, {"password", password}};
  auto r = http_call(port, bhttp::verb::post, "/v1/login", json::serialize(o));
  if (r.status != 200) {
    return "";
  }
  return std::string(r.json().at("token").as_string());
}

}  // namespace oshin::testing
