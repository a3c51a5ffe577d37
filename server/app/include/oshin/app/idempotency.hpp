#pragma once

#include <google/protobuf/message.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "oshin/app/account_service.hpp"
#include "oshin/common/clock.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"

namespace oshin::app {

/// The store kind of remembered answers: one v1::IdempotencyRecord per (account, key), its
/// record time the moment it was stored. Kept at least 24 h (RetentionSweeper erases them later).
inline constexpr std::string_view kIdempotencyKind = "idempotency";

/// `Idempotency-Key` support for creating POSTs (API.md "Conventions"). The key is scoped to the
/// calling account; the stored answer is written in the same transaction as the creation, so a
/// retry either finds the original answer or finds nothing was created.
class Idempotency {
 public:
  /// What begin() found for a request carrying a key.
  struct Draft {
    std::string record_id;  ///< hash of account id and key
    std::string account_id;
    std::string key;
    std::string request_hash;  ///< hash of method, route and the decoded body
  };
  /// Either "go ahead" (with a draft when the request had a key) or a finished response (the
  /// replayed original, or an error such as 422 IDEMPOTENCY_KEY_REUSED).
  using Begin = std::variant<std::optional<Draft>, http::Response>;

  Idempotency(storage::Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  /// Looks the request's key up. Thread-safe.
  Begin begin(const http::RequestContext& ctx, const google::protobuf::Message& decoded_body);

  /// A Decorate that stores `status` and the result message under the draft's key.
  Decorate remember(const std::optional<Draft>& draft, unsigned status);

  /// After a commit failed with already_exists: the answer a concurrent twin stored, if any.
  std::optional<http::Response> replay(const http::RequestContext& ctx, const Draft& draft);

 private:
  storage::Store& store_;
  const Clock& clock_;
};

}  // namespace oshin::app
