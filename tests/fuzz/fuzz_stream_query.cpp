// libFuzzer target: what a WebSocket client controls before the upgrade — the request target
// (?since=, ?ticket=) and the Sec-WebSocket-Protocol offers. Client->server frames are read and
// ignored by the server, so the handshake is the stream's whole parsing surface.
// Properties: never crashes; a parsed since is non-negative and prints back as its digits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "event_frames.hpp"
#include "stream_handshake.hpp"

namespace {
namespace bh = boost::beast::http;
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto query = oshin::stream::detail::parse_handshake_query(input);
  if (query && query->since) {
    auto seq = oshin::stream::detail::parse_seq(*query->since);
    if (seq) {
      if (*seq < 0) {
        std::abort();
      }
      std::string_view digits = *query->since;
      while (digits.size() > 1 && digits.front() == '0') {
        digits.remove_prefix(1);
      }
      if (std::to_string(*seq) != digits) {
        std::abort();
      }
    }
  }
  (void)oshin::stream::detail::parse_seq(input);

  // The same bytes as subprotocol offers (one header, then split on NUL into repeated headers).
  oshin::http::Request req{bh::verb::get, "/v1/stream", 11};
  std::string_view rest = input;
  while (!rest.empty()) {
    auto nul = rest.find('\0');
    std::string_view part = rest.substr(0, nul);
    req.insert(bh::field::sec_websocket_protocol, part);
    if (nul == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(nul + 1);
  }
  auto negotiated = oshin::stream::detail::negotiate_subprotocol(req);
  // The answer names a subprotocol the client offered (or none).
  if (!negotiated.subprotocol.empty() && input.find(negotiated.subprotocol) == std::string::npos) {
    std::abort();
  }
  return 0;
}
