#include "webhook_receiver.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace oshin::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct WebhookReceiver::Impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  int failures = 0;
  mutable std::mutex mutex;
  std::condition_variable changed;
  std::vector<Attempt> attempts;
  std::string secret;

  void accept();
  unsigned record(const bhttp::request<bhttp::string_body>& req);
};

namespace {

// One connection: read requests until the peer closes, answering each.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(WebhookReceiver::Impl& owner, tcp::socket socket)
      : owner_(owner), stream_(std::move(socket)) {}

  void read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_read(stream_, buffer_, req_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (!ec) {
                          self->answer();
                        }
                      });
  }

 private:
  void answer();

  WebhookReceiver::Impl& owner_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response<bhttp::string_body> res_;
};

}  // namespace

unsigned WebhookReceiver::Impl::record(const bhttp::request<bhttp::string_body>& req) {
  Attempt a;
  a.target = std::string(req.target());
  a.body = req.body();
  auto sig = req.find("X-Oshin-Signature");
  if (sig != req.end()) {
    a.signature = std::string(sig->value());
  }
  std::lock_guard lock(mutex);
  // Expected shape: t=<unix>,v1=<hex>
  auto comma = a.signature.find(',');
  if (a.signature.rfind("t=", 0) == 0 && comma != std::string::npos &&
      a.signature.compare(comma + 1, 3, "v1=") == 0) {
    std::string t = a.signature.substr(2, comma - 2);
    std::string v1 = a.signature.substr(comma + 4);
    try {
      a.signed_at = std::stoll(t);
    } catch (const std::exception&) {
      a.signed_at = 0;
    }
    a.signature_ok = !secret.empty() && v1 == hmac_hex(secret, t + "." + a.body);
  }
  a.answered = static_cast<int>(attempts.size()) < failures ? 503 : 200;
  if (req.method() != bhttp::verb::post) {
    a.answered = 405;
  }
  attempts.push_back(a);
  changed.notify_all();
  return a.answered;
}

void Connection::answer() {
  unsigned status = owner_.record(req_);
  res_ = bhttp::response<bhttp::string_body>(static_cast<bhttp::status>(status), req_.version());
  res_.keep_alive(req_.keep_alive());
  res_.body() = status == 200 ? "ok" : "try later";
  res_.prepare_payload();
  bhttp::async_write(stream_, res_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) {
      return;
    }
    if (self->res_.keep_alive()) {
      self->read();
    } else {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    }
  });
}

void WebhookReceiver::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      return;
    }
    std::make_shared<Connection>(*this, std::move(socket))->read();
    accept();
  });
}

WebhookReceiver::WebhookReceiver(int failures) : impl_(std::make_unique<Impl>()) {
  impl_->failures = failures;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

WebhookReceiver::~WebhookReceiver() {
  impl_->ioc.stop();
  impl_->thread.join();
}

std::string WebhookReceiver::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->acceptor.local_endpoint().port()) + "/hook";
}

void WebhookReceiver::set_secret(std::string secret) {
  std::lock_guard lock(impl_->mutex);
  impl_->secret = std::move(secret);
}

std::vector<WebhookReceiver::Attempt> WebhookReceiver::wait_attempts(
    std::size_t n, std::chrono::milliseconds deadline) {
  std::unique_lock lock(impl_->mutex);
  impl_->changed.wait_for(lock, deadline, [&] { return impl_->attempts.size() >= n; });
  return impl_->attempts;
}

std::vector<WebhookReceiver::Attempt> WebhookReceiver::attempts() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->attempts;
}

std::string WebhookReceiver::hmac_hex(const std::string& secret, const std::string& message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
           &length) == nullptr) {
    throw std::runtime_error("HMAC failed");
  }
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < length; ++i) {
    std::snprintf(byte, sizeof byte, "%02x", digest[i]);
    hex += byte;
  }
  return hex;
}

}  // namespace oshin::testing
