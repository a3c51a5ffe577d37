#pragma once

#include <string>
#include <string_view>

namespace oshin::app {

/// A new bearer token: 256 random bits as 43 base64url characters (no padding).
/// Only its hash is ever stored. Thread-safe.
std::string generate_token();

/// Lowercase hex SHA-256 of a string: how tokens, tickets and request bodies are stored.
std::string sha256_hex(std::string_view data);

/// A random id: `prefix` + 20 lowercase base32-ish characters (100 random bits).
std::string generate_id(std::string_view prefix);

/// Ensures libsodium is initialised; call once at start-up (idempotent, thread-safe).
bool init_crypto();

}  // namespace oshin::app
