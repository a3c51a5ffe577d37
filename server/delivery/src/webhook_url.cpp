#include "oshin/delivery/webhook_url.hpp"

#include <algorithm>
#include <cctype>

namespace oshin::delivery {
namespace {

constexpr std::size_t kMaxUrlBytes = 2048;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) {
    return false;
  }
  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

// Printable ASCII without space: what may appear anywhere in the URL.
bool is_url_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f;
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
}

bool parse_port(std::string_view digits, std::uint16_t& out) {
  if (digits.empty() || digits.size() > 5) {
    return false;
  }
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10U + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535U) {
    return false;
  }
  out = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

std::string WebhookUrl::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (explicit_port) {
    out.append(":").append(std::to_string(port));
  }
  return out;
}

std::string WebhookUrl::redacted() const {
  std::string out = tls ? "https://" : "http://";
  out.append(host_header());
  out.append(target.substr(0, target.find('?')));
  return out;
}

bool is_public_address(const boost::asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return is_public_address(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6));
    }
    const auto bytes = v6.to_bytes();
    if (v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || v6.is_link_local() ||
        v6.is_site_local() || (bytes[0] & 0xfe) == 0xfc) {  // fc00::/7 unique local
      return false;
    }
    return true;
  }
  const auto b = address.to_v4().to_bytes();
  auto in = [&b](unsigned a0, unsigned a1_from, unsigned a1_to) {
    return b[0] == a0 && b[1] >= a1_from && b[1] <= a1_to;
  };
  return !(b[0] == 0 ||                                // 0.0.0.0/8 "this network"
           b[0] == 10 ||                               // 10/8 private
           b[0] == 127 ||                              // loopback
           in(100, 64, 127) ||                         // 100.64/10 carrier-grade NAT
           in(169, 254, 254) ||                        // link-local (cloud metadata lives here)
           in(172, 16, 31) ||                          // 172.16/12 private
           in(192, 168, 168) ||                        // 192.168/16 private
           (b[0] == 192 && b[1] == 0 && b[2] == 0) ||  // 192.0.0/24 protocol assignments
           in(198, 18, 19) ||                          // benchmarking
           b[0] >= 224);                               // multicast, reserved, broadcast
}

Result<WebhookUrl> parse_webhook_url(std::string_view url) {
  if (url.empty() || url.size() > kMaxUrlBytes ||
      !std::all_of(url.begin(), url.end(), is_url_char)) {
    return Errc::invalid_argument;
  }
  WebhookUrl out;
  std::string_view rest;
  if (iequals_prefix(url, "https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else if (iequals_prefix(url, "http://")) {
    rest = url.substr(7);
  } else {
    return Errc::invalid_argument;
  }
  rest = rest.substr(0, rest.find('#'));
  const std::size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  const std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return Errc::invalid_argument;
  }
  std::string_view port_text;
  bool has_port = false;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) {
      return Errc::invalid_argument;
    }
    const std::string_view literal = authority.substr(1, close - 1);
    if (!std::all_of(literal.begin(), literal.end(), is_ipv6_char)) {
      return Errc::invalid_argument;
    }
    out.host = std::string(literal);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return Errc::invalid_argument;
      }
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const std::size_t colon = authority.find(':');
    const std::string_view name = authority.substr(0, colon);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
      return Errc::invalid_argument;
    }
    out.host = std::string(name);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (has_port) {
    if (!parse_port(port_text, out.port)) {
      return Errc::invalid_argument;
    }
    out.explicit_port = true;
  } else {
    out.port = out.tls ? 443 : 80;
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

}  // namespace oshin::delivery
