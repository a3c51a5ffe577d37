#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/common/principal.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/internal.pb.h"

namespace oshin::stream {

/// Stream ticket policy (API.md "Real-time stream": single use, 30 s).
struct TicketOptions {
  std::chrono::seconds ttl{30};
  std::size_t max_live_per_user = 16;  ///< unexpired, unused tickets per user; more: 429
};

/// Record kind of a StoredStreamTicket (id = the ticket's hex SHA-256).
inline constexpr std::string_view kStreamTicketKind = "stream_ticket";

/// Single-use stream tickets for clients that cannot set an Authorization header on a WebSocket
/// handshake (browsers). A ticket is 256 random bits (base64url, 43 characters); only its SHA-256
/// is stored, durably, before it is handed out; redeeming marks it used, durably, before the
/// handshake proceeds. The durable records are the truth across restarts (load()); memory holds
/// the live ones. Expired records are erased in later issue transactions.
/// Thread-safe: any thread may call issue() and redeem().
class TicketService {
 public:
  /// `store` and `clock` must outlive the service.
  TicketService(storage::Store& store, const Clock& clock, TicketOptions options = {});
  TicketService(const TicketService&) = delete;
  TicketService& operator=(const TicketService&) = delete;

  /// Loads the stored tickets. Call once at start-up, before serving.
  Result<void> load();

  /// Called with the new ticket, or Errc::rate_limited (too many live tickets for this user),
  /// Errc::internal (no randomness) or a store error. Runs on the store's completion thread, or on
  /// the calling thread for an immediate failure: it must only post or respond.
  using IssueDone = std::function<void(Result<v1::StreamTicket>)>;

  /// Issues a ticket for `who` (POST /v1/stream-tickets).
  void issue(const Principal& who, IssueDone done);

  /// Called with the ticket's user id, or nullopt for a used, expired, unknown or malformed
  /// ticket (or when marking it used failed). Runs on the store's completion thread, or on the
  /// calling thread when the ticket is rejected at once: it must only post.
  using RedeemDone = std::function<void(std::optional<std::string> user_id)>;

  /// Redeems a ticket (the `?ticket=` of a handshake): at most one redeem of a ticket succeeds.
  void redeem(std::string_view ticket, RedeemDone done);

 private:
  struct Live {
    v1::StoredStreamTicket stored;
    SystemTime expires_at;
  };

  /// Forgets expired tickets (memory) and queues their ids in stale_. Caller holds mutex_.
  void prune_expired_locked(SystemTime now);
  /// One fewer unused ticket for the user. Caller holds mutex_.
  void release_user_slot_locked(const std::string& user_id);

  storage::Store& store_;
  const Clock& clock_;
  TicketOptions options_;

  std::mutex mutex_;
  std::map<std::string, Live> live_;                        ///< ticket hash -> ticket
  std::set<std::pair<SystemTime, std::string>> by_expiry_;  ///< (expires_at, ticket hash)
  std::map<std::string, std::size_t> live_per_user_;        ///< user id -> unused tickets
  std::vector<std::string> stale_;  ///< stored ids to erase (expired at load, or left over)
};

/// POST /v1/stream-tickets (any authenticated role) -> 201 {"ticket","expiresAt"}.
/// The service must outlive the router.
void add_stream_routes(http::Router& router, TicketService& tickets);

}  // namespace oshin::stream
