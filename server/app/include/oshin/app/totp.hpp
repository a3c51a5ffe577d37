#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/common/clock.hpp"

namespace oshin::app {

/// RFC 6238 time step: 30 seconds since the Unix epoch.
inline constexpr std::int64_t kTotpStepSeconds = 30;
/// Digits of a TOTP code.
inline constexpr int kTotpDigits = 6;
/// Bytes of a new TOTP secret (160 bits, the HMAC-SHA1 block RFC 4226 recommends).
inline constexpr std::size_t kTotpSecretBytes = 20;

/// RFC 4648 base32 (upper case, with '=' padding only when `pad`). Pure.
std::string base32_encode(std::span<const unsigned char> data, bool pad = true);

/// RFC 4648 base32 decode: upper or lower case, padding optional; nullopt for any other
/// character or a length no encoder produces. Pure.
std::optional<std::vector<unsigned char>> base32_decode(std::string_view text);

/// RFC 4226 HOTP: HMAC-SHA1(key, counter) dynamically truncated to `digits` (6..8) decimal digits,
/// zero-padded. Pure (OpenSSL HMAC).
std::string hotp(std::span<const unsigned char> key, std::uint64_t counter,
                 int digits = kTotpDigits);

/// The RFC 6238 time step of an instant: floor(unix seconds / 30). Instants before 1970 are step 0.
std::int64_t totp_step(SystemTime t);

/// The TOTP code for an instant. Pure.
std::string totp_code(std::span<const unsigned char> key, SystemTime t, int digits = kTotpDigits);

/// Checks a 6-digit code against the steps now-1, now, now+1 (clock drift of one step either
/// way) in constant time per step, refusing every step <= `last_used_step` (a code already
/// accepted cannot be replayed). Returns the matched step, nullopt when none matches or `code` is
/// not exactly 6 ASCII digits. Pure: time comes in as an argument.
std::optional<std::int64_t> verify_totp(std::span<const unsigned char> key, std::string_view code,
                                        SystemTime now, std::int64_t last_used_step);

/// A new random secret of kTotpSecretBytes from libsodium. Thread-safe.
std::vector<unsigned char> generate_totp_secret();

/// The otpauth:// URI authenticator apps read (Key Uri Format): issuer and account label
/// percent-encoded, secret base32 without padding, SHA1, 6 digits, 30 s.
std::string otpauth_uri(std::string_view issuer, std::string_view account,
                        std::string_view base32_secret);

}  // namespace oshin::app
