#include "tls_client.hpp"

#include <openssl/x509_vfy.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace oshin::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kOpensslConfig = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
[client_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
)";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs one openssl command (its output to `log`); throws with the output when it fails.
void openssl(const std::string& args, const fs::path& log) {
  std::string command = "/usr/bin/openssl " + args + " >>'" + log.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("openssl failed: " + command + "\n" + slurp(log));
  }
}

std::string q(const fs::path& p) {
  return "'" + p.string() + "'";
}

}  // namespace

TestPki make_test_pki(const fs::path& dir) {
  fs::create_directories(dir);
  const fs::path cnf = dir / "openssl.cnf";
  std::ofstream(cnf) << kOpensslConfig;
  const fs::path log = dir / "openssl.log";
  const std::string ec_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  auto make_ca = [&](const std::string& name, const std::string& cn) {
    openssl("req -x509 -config " + q(cnf) + " -extensions ca_ext " + ec_key + " -keyout " +
                q(dir / (name + ".key")) + " -out " + q(dir / (name + ".pem")) +
                " -days 2 -subj '/CN=" + cn + "'",
            log);
  };
  auto make_leaf = [&](const std::string& name, const std::string& cn, const std::string& ca,
                       const std::string& ext, const std::string& key_args) {
    openssl("req -new -config " + q(cnf) + " " + key_args + " -keyout " + q(dir / (name + ".key")) +
                " -out " + q(dir / (name + ".csr")) + " -subj '/CN=" + cn + "'",
            log);
    openssl("x509 -req -in " + q(dir / (name + ".csr")) + " -CA " + q(dir / (ca + ".pem")) +
                " -CAkey " + q(dir / (ca + ".key")) + " -CAcreateserial -days 2 -extfile " +
                q(cnf) + " -extensions " + ext + " -out " + q(dir / (name + ".pem")),
            log);
  };
  make_ca("ca", "oshin test CA");
  make_ca("other-ca", "another CA");
  make_leaf("server", "localhost", "ca", "server_ext", "-newkey rsa:2048 -nodes");
  make_leaf("client", "device-0001", "ca", "client_ext", ec_key);
  make_leaf("stranger", "device-0001", "other-ca", "client_ext", ec_key);
  TestPki pki;
  pki.ca_cert = dir / "ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server.key";
  pki.client_cert = dir / "client.pem";
  pki.client_key = dir / "client.key";
  pki.other_ca_cert = dir / "other-ca.pem";
  pki.stranger_cert = dir / "stranger.pem";
  pki.stranger_key = dir / "stranger.key";
  return pki;
}

net::ssl::context make_client_tls_context(const TlsClientOptions& options) {
  net::ssl::context ctx(net::ssl::context::tls_client);
  SSL_CTX* native = ctx.native_handle();
  if (options.legacy) {
    SSL_CTX_set_security_level(native, 0);
    if (options.ciphers.empty()) {
      SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
    }
  }
  SSL_CTX_set_min_proto_version(native, options.min_version);
  SSL_CTX_set_max_proto_version(native, options.max_version);
  if (!options.ciphers.empty()) {
    if (SSL_CTX_set_cipher_list(native, options.ciphers.c_str()) != 1) {
      throw std::runtime_error("client cipher list refused: " + options.ciphers);
    }
  }
  if (!options.ca_file.empty()) {
    ctx.load_verify_file(options.ca_file);
  }
  ctx.set_verify_mode(net::ssl::verify_peer);
  // The server's certificate must name the address we dial.
  X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(native), "127.0.0.1");
  if (!options.cert_file.empty()) {
    ctx.use_certificate_chain_file(options.cert_file);
    ctx.use_private_key_file(options.key_file, net::ssl::context::pem);
  }
  return ctx;
}

TlsClient::TlsClient(unsigned short port, TlsClientOptions options,
                     std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout), ctx_(make_client_tls_context(options)) {}

TlsClient::~TlsClient() = default;

template <class Start>
beast::error_code TlsClient::run(Start start) {
  beast::error_code result = net::error::would_block;
  beast::get_lowest_layer(*stream_).expires_after(timeout_);
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

void TlsClient::fail(const beast::error_code& ec, const char* what) {
  error_ = std::string(what) + ": " + ec.message();
  connected_ = false;
  stream_.reset();
}

bool TlsClient::handshake() {
  error_.clear();
  stream_.emplace(ioc_, ctx_);
  buffer_.clear();
  auto ec = run([this](auto handler) {
    beast::get_lowest_layer(*stream_).async_connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), std::move(handler));
  });
  if (ec) {
    fail(ec, "connect");
    return false;
  }
  ec = run([this](auto handler) {
    stream_->async_handshake(net::ssl::stream_base::client, std::move(handler));
  });
  if (ec) {
    fail(ec, "handshake");
    return false;
  }
  connected_ = true;
  return true;
}

HttpResult TlsClient::request(bhttp::verb method, const std::string& target,
                              const std::string& body, const std::string& token) {
  HttpResult out;
  out.closed = true;
  if (!connected_ && !handshake()) {
    return out;
  }
  bhttp::request<bhttp::string_body> req{method, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  req.keep_alive(true);
  if (!token.empty()) {
    req.set(bhttp::field::authorization, "Bearer " + token);
  }
  if (!body.empty()) {
    req.set(bhttp::field::content_type, "application/json");
  }
  req.body() = body;
  req.prepare_payload();
  auto ec =
      run([this, &req](auto handler) { bhttp::async_write(*stream_, req, std::move(handler)); });
  if (ec) {
    fail(ec, "write");
    return out;
  }
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  ec = run([this, &parser](auto handler) {
    bhttp::async_read(*stream_, buffer_, parser, std::move(handler));
  });
  if (ec) {
    fail(ec, "read");
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
  out.closed = !res.keep_alive();
  if (out.closed) {
    connected_ = false;
    stream_.reset();
  }
  return out;
}

std::string TlsClient::version() {
  return stream_ ? SSL_get_version(stream_->native_handle()) : "";
}

std::string TlsClient::cipher() {
  return stream_ ? SSL_get_cipher_name(stream_->native_handle()) : "";
}

bool TlsClient::has_session_ticket() {
  if (!stream_) {
    return false;
  }
  SSL_SESSION* session = SSL_get_session(stream_->native_handle());
  return session != nullptr && SSL_SESSION_has_ticket(session) == 1;
}

TlsStreamClient::TlsStreamClient(const TlsClientOptions& options)
    : ctx_(make_client_tls_context(options)), ws_(ioc_, ctx_) {}

TlsStreamClient::~TlsStreamClient() {
  beast::get_lowest_layer(ws_).close();
}

std::unique_ptr<TlsStreamClient> TlsStreamClient::connect(unsigned short port,
                                                          const TlsClientOptions& options,
                                                          const std::string& token,
                                                          std::string* error) {
  std::unique_ptr<TlsStreamClient> c(new TlsStreamClient(options));
  beast::error_code result = net::error::would_block;
  const char* step = "connect";
  auto& lowest = beast::get_lowest_layer(c->ws_);
  auto step_done = [&result](beast::error_code ec, auto&&...) { result = ec; };
  auto finish = [&]() {
    result = net::error::would_block;
    c->ioc_.restart();
    c->ioc_.run();
    return !result;
  };
  c->ws_.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
    req.set(beast::http::field::authorization, "Bearer " + token);
  }));
  lowest.expires_after(std::chrono::seconds(15));
  lowest.async_connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port), step_done);
  bool ok = finish();
  if (ok) {
    step = "tls handshake";
    lowest.expires_after(std::chrono::seconds(15));
    c->ws_.next_layer().async_handshake(net::ssl::stream_base::client, step_done);
    ok = finish();
  }
  if (ok) {
    step = "websocket handshake";
    lowest.expires_after(std::chrono::seconds(15));
    c->ws_.async_handshake("127.0.0.1", "/v1/stream", step_done);
    ok = finish();
  }
  if (!ok) {
    if (error != nullptr) {
      *error = std::string(step) + ": " + result.message();
    }
    return nullptr;
  }
  lowest.expires_never();
  return c;
}

std::optional<json::object> TlsStreamClient::next(std::chrono::milliseconds deadline) {
  beast::error_code result = net::error::would_block;
  buffer_.clear();
  beast::get_lowest_layer(ws_).expires_after(deadline);
  ws_.async_read(buffer_, [&result](beast::error_code ec, std::size_t) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  auto v = json::parse(beast::buffers_to_string(buffer_.data()), ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  return v.as_object();
}

}  // namespace oshin::testing
