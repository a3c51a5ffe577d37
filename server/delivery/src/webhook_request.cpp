#include "webhook_request.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <utility>
#include <vector>

namespace oshin::delivery::detail {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;

constexpr std::uint32_t kMaxResponseHeaderBytes = 8 * 1024;

}  // namespace

WebhookRequest::WebhookRequest(Strand strand, net::ssl::context& tls, WebhookUrl url,
                               Request request, std::chrono::milliseconds timeout, Handler done,
                               bool allow_private)
    : strand_(std::move(strand)),
      tls_(tls),
      url_(std::move(url)),
      request_(std::move(request)),
      timeout_(timeout),
      allow_private_(allow_private),
      done_(std::move(done)),
      resolver_(strand_),
      deadline_(strand_),
      plain_(strand_) {
  parser_.header_limit(kMaxResponseHeaderBytes);
}

beast::tcp_stream& WebhookRequest::lowest_layer() {
  return secure_ ? secure_->next_layer() : plain_;
}

void WebhookRequest::run() {
  try {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](error_code ec) { self->on_deadline(ec); });
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](error_code ec, const tcp::resolver::results_type& results) {
          self->on_resolve(ec, results);
        });
  } catch (const std::exception&) {
    finish({0, "internal error"});
  }
}

void WebhookRequest::cancel() {
  finished_ = true;
  done_ = nullptr;
  close();
}

void WebhookRequest::on_deadline(error_code ec) {
  if (ec || finished_) {
    return;  // cancelled because the attempt ended first
  }
  // Closing the socket makes the pending operation complete; finish() has already reported.
  finish({0, "timeout after " + std::to_string(timeout_.count()) + " ms"});
}

void WebhookRequest::on_resolve(error_code ec, const tcp::resolver::results_type& results) {
  if (finished_) {
    return;
  }
  if (ec) {
    return fail(ec, "resolve");
  }
  std::vector<tcp::endpoint> endpoints;
  for (const auto& entry : results) {
    if (allow_private_ || is_public_address(entry.endpoint().address())) {
      endpoints.push_back(entry.endpoint());
    }
  }
  if (endpoints.empty()) {
    return finish(
        {0, "refused: the host resolves only to loopback, private or reserved addresses"});
  }
  try {
    if (url_.tls) {
      secure_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(strand_, tls_);
      SSL* ssl = secure_->native_handle();
      error_code not_ip;
      net::ip::make_address(url_.host, not_ip);
      if (not_ip) {
        // A DNS name: send it as SNI and require the certificate to name it.
        if (SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                     const_cast<char*>(url_.host.c_str())) != 1 ||
            SSL_set1_host(ssl, url_.host.c_str()) != 1) {
          return finish({0, "tls setup failed"});
        }
      } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str()) != 1) {
        return finish({0, "tls setup failed"});
      }
    }
    lowest_layer().async_connect(
        endpoints, [self = shared_from_this()](error_code connect_ec, const tcp::endpoint&) {
          self->on_connect(connect_ec);
        });
  } catch (const std::exception&) {
    finish({0, "internal error"});
  }
}

void WebhookRequest::on_connect(error_code ec) {
  if (finished_) {
    return;
  }
  if (ec) {
    return fail(ec, "connect");
  }
  try {
    if (secure_) {
      secure_->async_handshake(net::ssl::stream_base::client,
                               [self = shared_from_this()](error_code handshake_ec) {
                                 self->on_handshake(handshake_ec);
                               });
      return;
    }
    http::async_write(plain_, request_,
                      [self = shared_from_this()](error_code write_ec, std::size_t) {
                        self->on_write(write_ec);
                      });
  } catch (const std::exception&) {
    finish({0, "internal error"});
  }
}

void WebhookRequest::on_handshake(error_code ec) {
  if (finished_) {
    return;
  }
  if (ec) {
    return fail(ec, "tls handshake");
  }
  try {
    http::async_write(*secure_, request_,
                      [self = shared_from_this()](error_code write_ec, std::size_t) {
                        self->on_write(write_ec);
                      });
  } catch (const std::exception&) {
    finish({0, "internal error"});
  }
}

void WebhookRequest::on_write(error_code ec) {
  if (finished_) {
    return;
  }
  if (ec) {
    return fail(ec, "write");
  }
  try {
    const auto on_read = [self = shared_from_this()](error_code read_ec, std::size_t) {
      self->on_read(read_ec);
    };
    // Only the header: the status decides, and the body is of no interest (nor trusted).
    if (secure_) {
      http::async_read_header(*secure_, buffer_, parser_, on_read);
    } else {
      http::async_read_header(plain_, buffer_, parser_, on_read);
    }
  } catch (const std::exception&) {
    finish({0, "internal error"});
  }
}

void WebhookRequest::on_read(error_code ec) {
  if (finished_) {
    return;
  }
  if (ec) {
    return fail(ec, "read");
  }
  const unsigned status = parser_.get().result_int();
  AttemptOutcome outcome{status, {}};
  if (!outcome.ok()) {
    outcome.error = "HTTP " + std::to_string(status);
  }
  finish(std::move(outcome));
}

void WebhookRequest::fail(error_code ec, const char* what) {
  std::string error;
  try {
    error = std::string(what) + ": " + ec.message();
  } catch (const std::exception&) {
    error.clear();
  }
  finish({0, std::move(error)});
}

void WebhookRequest::finish(AttemptOutcome outcome) {
  if (finished_) {
    return;
  }
  finished_ = true;
  close();
  Handler done = std::move(done_);
  done_ = nullptr;
  if (done) {
    try {
      done(std::move(outcome));
    } catch (...) {
      // The outbox's handler does not throw; nothing may escape into the io_context either way.
    }
  }
}

void WebhookRequest::close() noexcept {
  try {
    error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    beast::tcp_stream& stream = lowest_layer();
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  } catch (...) {
    // Cancelling only throws when the OS refuses; the socket is gone with this object anyway.
  }
}

}  // namespace oshin::delivery::detail
