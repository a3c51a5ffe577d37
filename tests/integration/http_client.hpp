#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace oshin::testing {

namespace bhttp = boost::beast::http;

/// A response as a test sees it.
struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lowercase names
  bool closed = false;  ///< the server closed the connection after this answer
  mutable std::optional<boost::json::value> parsed;

  /// The body parsed as JSON (null when it isn't); parsed once and kept, so chained look-ups
  /// never refer into a temporary.
  const boost::json::value& json() const;
  /// error.code of an error body, "" otherwise.
  std::string error_code() const;
  std::string header(const std::string& lowercase_name) const;
};

/// A keep-alive HTTP/1.1 client over one connection to 127.0.0.1:port, with deadlines.
class HttpClient {
 public:
  explicit HttpClient(unsigned short port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));

  /// Sends one request and reads the answer. `token` adds `Authorization: Bearer`.
  HttpResult request(bhttp::verb method, const std::string& target, const std::string& body = {},
                     const std::string& token = {},
                     const std::map<std::string, std::string>& headers = {});

  HttpResult get(const std::string& target, const std::string& token = {}) {
    return request(bhttp::verb::get, target, {}, token);
  }
  HttpResult post(const std::string& target, const std::string& body, const std::string& token = {},
                  const std::map<std::string, std::string>& headers = {}) {
    return request(bhttp::verb::post, target, body, token, headers);
  }

  /// Writes raw bytes and reads one answer (or reports the close). For malformed requests.
  HttpResult raw(const std::string& bytes);

  /// True when the server closed the connection (reads EOF) within the deadline.
  bool wait_closed(std::chrono::milliseconds deadline);

 private:
  void ensure_connected();
  HttpResult read_response();

  unsigned short port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  std::optional<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
};

/// One-shot convenience: a fresh connection per call.
HttpResult http_call(unsigned short port, bhttp::verb method, const std::string& target,
                     const std::string& body = {}, const std::string& token = {},
                     const std::map<std::string, std::string>& headers = {});

/// Logs in and returns the token (empty on failure).
std::string login(unsigned short port, const std::string& username, const std::string& password);

}  // namespace oshin::testing
