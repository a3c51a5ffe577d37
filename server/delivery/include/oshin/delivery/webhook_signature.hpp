#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace oshin::delivery {

/// The header that carries the signature: `t=<unix seconds>,v1=<64 lowercase hex>`.
inline constexpr std::string_view kSignatureHeader = "X-Oshin-Signature";
/// The header that carries the delivery id; the same on every retry, so receivers can dedupe.
inline constexpr std::string_view kDeliveryHeader = "X-Oshin-Delivery";
/// The header that names the event type (e.g. "visitSummary") when the delivery has one.
inline constexpr std::string_view kEventHeader = "X-Oshin-Event";

/// Signs a webhook body (API.md "Visit summary and its delivery"): returns
/// `t=<unix_seconds>,v1=<hex HMAC-SHA256(secret, "<unix_seconds>.<body>")>`, hex in lowercase.
/// Pure; any thread may call it. Returns an empty string only when OpenSSL itself fails (out of
/// memory), which no receiver accepts.
std::string sign_webhook(std::string_view secret, std::int64_t unix_seconds, std::string_view body);

/// Checks an `X-Oshin-Signature` header as a receiver would. True when the header is
/// well-formed (comma-separated `key=value` pairs, exactly one `t` of 1 to 18 digits, one to
/// eight `v1` of 64 hex digits, other keys ignored, at most 1 KiB), one `v1` equals
/// HMAC-SHA256(secret, "<t>.<body>") (constant-time comparison), and |now_unix - t| is at most
/// tolerance_seconds (so both replays of old requests and far-future stamps fail). Never
/// asserts on untrusted input; any thread may call it.
bool verify_webhook_signature(std::string_view header, std::string_view secret,
                              std::string_view body, std::int64_t now_unix,
                              std::int64_t tolerance_seconds);

}  // namespace oshin::delivery
