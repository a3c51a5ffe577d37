#pragma once

#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "http_client.hpp"

namespace oshin::testing {

/// A throwaway PKI made with the openssl CLI in `dir`: a CA; a server certificate (RSA 2048, so
/// RSA key exchange and RSA cipher suites could be negotiated if the server allowed them) for
/// IP 127.0.0.1 and DNS localhost; a client certificate from the same CA; and a client
/// certificate from another CA (a stranger). Paths are PEM files.
struct TestPki {
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path client_cert;
  std::filesystem::path client_key;
  std::filesystem::path other_ca_cert;
  std::filesystem::path stranger_cert;
  std::filesystem::path stranger_key;
};

/// Makes the PKI; throws std::runtime_error with openssl's output when a step fails.
TestPki make_test_pki(const std::filesystem::path& dir);

/// How a TlsClient connects.
struct TlsClientOptions {
  std::string ca_file;    ///< trusted CA; the server must present a certificate for 127.0.0.1
  std::string cert_file;  ///< client certificate (mutual TLS); empty: none
  std::string key_file;
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  ///< 0: the highest the library has (TLS 1.3)
  std::string ciphers;  ///< TLS 1.2 and older cipher list; empty: the library default
  bool legacy = false;  ///< security level 0: lets the client offer TLS 1.0/1.1 at all
};

/// An HTTPS/1.1 client over one TLS connection to 127.0.0.1:port, with a deadline on every step.
class TlsClient {
 public:
  explicit TlsClient(unsigned short port, TlsClientOptions options = {},
                     std::chrono::milliseconds timeout = std::chrono::seconds(15));
  ~TlsClient();

  /// Connects and handshakes. True on success; else error() says why (e.g. "tlsv1 alert
  /// protocol version" when the server refused with an alert).
  bool handshake();

  /// One request on the connection (handshakes first when needed). On any failure the result
  /// has status 0 and closed, and error() says why (over TLS 1.3 a refused client certificate
  /// shows here: the server's alert arrives after the client's handshake finished).
  HttpResult request(bhttp::verb method, const std::string& target, const std::string& body = {},
                     const std::string& token = {});
  HttpResult get(const std::string& target, const std::string& token = {}) {
    return request(bhttp::verb::get, target, {}, token);
  }
  HttpResult post(const std::string& target, const std::string& body,
                  const std::string& token = {}) {
    return request(bhttp::verb::post, target, body, token);
  }

  /// The negotiated protocol ("TLSv1.3") and cipher suite, after a handshake.
  std::string version();
  std::string cipher();
  /// Whether the server issued a (stateless) TLS 1.2 session ticket on this connection.
  bool has_session_ticket();
  /// The last failure's text ("" when none).
  const std::string& error() const { return error_; }

 private:
  template <class Start>
  boost::beast::error_code run(Start start);
  void fail(const boost::beast::error_code& ec, const char* what);

  unsigned short port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  std::string error_;
};

/// Makes a client TLS context from `options` (shared by TlsClient and TlsStreamClient).
boost::asio::ssl::context make_client_tls_context(const TlsClientOptions& options);

/// A wss:// client of /v1/stream.
class TlsStreamClient {
 public:
  /// Connects, handshakes TLS and WebSocket with `Authorization: Bearer token`. nullopt when
  /// any step failed; `error` (when not null) then says why.
  static std::unique_ptr<TlsStreamClient> connect(unsigned short port,
                                                  const TlsClientOptions& options,
                                                  const std::string& token,
                                                  std::string* error = nullptr);
  ~TlsStreamClient();

  /// The next event frame parsed as JSON; nullopt when none arrived within `deadline`.
  std::optional<boost::json::object> next(
      std::chrono::milliseconds deadline = std::chrono::seconds(15));

 private:
  explicit TlsStreamClient(const TlsClientOptions& options);

  boost::asio::io_context ioc_;
  boost::asio::ssl::context ctx_;
  boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>> ws_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace oshin::testing
