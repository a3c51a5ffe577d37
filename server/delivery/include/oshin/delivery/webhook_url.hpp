#pragma once

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "oshin/common/errc.hpp"

namespace oshin::delivery {

/// A webhook URL split the way the HTTP client needs it.
struct WebhookUrl {
  bool tls = false;            ///< https
  std::string host;            ///< DNS name or IP literal (an IPv6 literal without brackets)
  std::uint16_t port = 0;      ///< the explicit port, else 80 or 443
  bool explicit_port = false;  ///< the URL named the port
  std::string target;          ///< path and query as sent in the request line; at least "/"

  /// The `Host` header value: host (bracketed when IPv6) and the port when explicit.
  std::string host_header() const;
  /// `scheme://host[:port]/path` without the query string, for logs (query strings may carry
  /// tokens).
  std::string redacted() const;
};

/// Parses an absolute `http://` or `https://` URL (scheme case-insensitive). Rejects userinfo,
/// an empty or malformed host, a port outside 1..65535, whitespace, control and non-ASCII
/// bytes, and URLs over 2048 bytes, with Errc::invalid_argument. A fragment is dropped. Pure;
/// any thread may call it; never asserts on untrusted input.
Result<WebhookUrl> parse_webhook_url(std::string_view url);

/// Whether a webhook may be sent to `address`: false for loopback, private (RFC 1918, IPv6 ULA),
/// link-local, carrier-grade NAT, unspecified, multicast and reserved ranges, also when written
/// as IPv4-mapped IPv6. Keeps an organization's webhook from reaching the center's own network
/// (SSRF) unless the operator allows private addresses. Any thread.
bool is_public_address(const boost::asio::ip::address& address);

}  // namespace oshin::delivery
