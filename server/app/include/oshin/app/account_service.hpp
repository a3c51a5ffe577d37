#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "oshin/app/audit.hpp"
#include "oshin/app/password.hpp"
#include "oshin/common/clock.hpp"
#include "oshin/common/errc.hpp"
#include "oshin/common/principal.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/internal.pb.h"

namespace oshin::app {

/// The store kind of sessions: one v1::StoredSession per record, id = the token's SHA-256 (hex).
/// One past its absolute expiry can never be used again (RetentionSweeper erases it).
inline constexpr std::string_view kSessionKind = "session";

/// Session and login policy.
struct AccountOptions {
  std::chrono::seconds idle_timeout{1800};
  std::chrono::seconds absolute_timeout{12 * 3600};
  int max_failed_logins = 5;  ///< within failed_login_window
  std::chrono::seconds failed_login_window{60};
  std::chrono::seconds last_used_persist_interval{60};  ///< how stale a stored last-use may be
  PasswordCost password_cost{};
  /// Config totp.enabled: accounts whose role is in totp_required_roles must enrol a TOTP
  /// authenticator; until they do, their sessions may only enrol (Principal::totp_enrolment_only).
  /// Accounts that enrolled need a code at login whether or not this is on.
  bool totp_enabled = false;
  RoleSet totp_required_roles{Role::admin, Role::staff};
  std::string totp_issuer = "oshin";  ///< the issuer authenticator apps show
};

/// A failure with the API's optional field path.
struct Failure {
  Errc code = Errc::internal;
  std::string message;
  std::string field;
  std::string visit_id;  ///< refusals that still record a REJECTED visit
};

template <class T>
using Outcome = boost::system::result<T, Failure>;

/// Adds mutations to a transaction once the result is known (e.g. an idempotency record holding
/// the response), so they commit atomically with the change. May be empty.
using Decorate =
    std::function<void(const google::protobuf::Message& result, storage::Transaction&)>;

/// Successful login.
struct LoginResult {
  std::string token;  ///< the only copy; only its hash is stored
  SystemTime expires_at;
  v1::User user;
  bool totp_enrolment_required = false;  ///< the session may only enrol TOTP (see AccountOptions)
};

/// Organizations, users and sessions: the in-memory view of the durable records plus every
/// change to them. Changes are committed (with their audit entries) before memory is updated and
/// before the caller's completion runs, so a 2xx never precedes durability.
/// Thread-safe: any strand may call any method; completions run on the store's completion thread or
/// the crypto executor and must only post or respond.
class AccountService final : public http::Authenticator {
 public:
  template <class T>
  using Done = std::function<void(Outcome<T>)>;

  /// `crypto` runs password hashing (tens of ms each) off the I/O threads.
  AccountService(storage::Store& store, const Clock& clock, boost::asio::any_io_executor crypto,
                 AccountOptions options);

  /// Loads organizations, users and sessions from the store. Call once before serving.
  Result<void> load();

  /// True when no user exists yet (first start on an empty data dir).
  bool empty() const;

  /// POST /v1/login. Wrong username or password: INVALID_CREDENTIALS; over the failed-login limit:
  /// TOO_MANY_ATTEMPTS. An account with TOTP on also needs `totp`: missing (after a right
  /// password only) TOTP_REQUIRED; wrong or already used INVALID_CREDENTIALS, counted as a failed
  /// login. Audited either way.
  void login(std::string username, std::string password, std::optional<std::string> totp,
             std::string request_id, Done<LoginResult> done);

  /// POST /v1/logout: revokes the caller's token.
  void logout(const Principal& who, std::string request_id, Done<void> done);

  /// GET /v1/me.
  Outcome<v1::User> me(const Principal& who) const;

  /// POST /v1/me/totp: a new secret for the caller, stored (synced) as pending and returned once.
  /// An account with TOTP already on: CONFLICT (an ADMIN resets it first). Calling again while
  /// pending replaces the pending secret. Audited.
  void start_totp(const Principal& who, std::string request_id, Done<v1::TotpEnrollment> done);

  /// POST /v1/me/totp/confirm: a valid code for the pending secret turns TOTP on (its step counts
  /// as used). No enrolment pending: CONFLICT; a wrong code: INVALID_ARGUMENT (field "code"),
  /// counted as a failed login of the account. Audited.
  void confirm_totp(const Principal& who, std::string code, std::string request_id,
                    Done<v1::User> done);

  /// POST /v1/users/{id}/totp/reset (ADMIN, lost phone): turns TOTP off, drops the secret and
  /// revokes the user's tokens at once. Audited.
  void reset_totp(const Principal& who, std::string user_id, std::string request_id,
                  Done<v1::User> done);

  void create_organization(const Principal& who, v1::CreateOrganizationRequest req,
                           std::string request_id, Decorate decorate, Done<v1::Organization> done);
  /// Organizations without their webhook secrets.
  std::vector<v1::Organization> list_organizations() const;

  void create_user(const Principal& who, v1::CreateUserRequest req, std::string request_id,
                   Decorate decorate, Done<v1::User> done);
  std::vector<v1::User> list_users() const;
  /// Disables a user and revokes every token it holds, at once.
  void disable_user(const Principal& who, std::string user_id, std::string request_id,
                    Done<v1::User> done);

  /// Creates the first ADMIN (and the center organization) on an empty store.
  void bootstrap_admin(const std::string& center_name, const std::string& password,
                       Done<v1::User> done);

  /// http::Authenticator: a principal for a live token; refreshes its idle timer.
  std::optional<Principal> authenticate(std::string_view bearer_token) override;
  std::optional<Principal> active_account(std::string_view user_id) override;

  /// Called (on the store's completion thread, after the commit) with the id of a user just
  /// disabled, so live connections of that account can be closed at once. Set before serving.
  void set_on_disabled(std::function<void(const std::string&)> on_disabled) {
    on_disabled_ = std::move(on_disabled);
  }

  std::optional<v1::User> find_user(const std::string& id) const;
  std::optional<v1::User> find_user_by_username(const std::string& username) const;
  std::optional<v1::Organization> find_organization(const std::string& id) const;

 private:
  struct SessionState {
    v1::StoredSession stored;
    SystemTime last_used;
    SystemTime last_persisted;
  };

  bool login_throttled(const std::string& key, SystemTime now);
  void record_failed_login(const std::string& key, SystemTime now);
  void finish_login(const std::string& key, std::optional<v1::StoredUser> user, bool password_ok,
                    std::optional<std::string> totp, std::string request_id,
                    Done<LoginResult> done);
  /// The newest version of a user record: the one last queued for commit, else the committed
  /// one. Caller holds session_write_mutex_, which orders every user-record write in the store's
  /// queue, so writes queued back to back build on each other instead of undoing each other.
  std::optional<v1::StoredUser> latest_user_locked(const std::string& id) const;
  /// Remembers a user record just queued for commit and returns its generation. Caller holds
  /// session_write_mutex_.
  std::uint64_t queued_user_locked(const v1::StoredUser& stored);
  /// Once its commit has finished (and, on success, users_ holds it), forgets a queued version
  /// unless a newer one was queued since; after a failed commit later writes then build on what
  /// is on disk. Any thread; never takes session_write_mutex_ (a store that is closed completes
  /// commits inline, under that mutex).
  void forget_queued_user(const std::string& id, std::uint64_t generation);
  /// Commits `tx`, which writes `stored` (queued as `generation`): once the commit has finished,
  /// a success makes `stored` the user's state, the queued version is forgotten either way, and
  /// then `then` gets the commit's result. Caller holds session_write_mutex_.
  void commit_user(storage::Transaction tx, v1::StoredUser stored, std::uint64_t generation,
                   std::function<void(Result<storage::CommitResult>)> then);
  bool totp_required_for(v1::Role role) const;
  void create_user_hashed(const Principal& who, v1::CreateUserRequest req, std::string phc,
                          std::string request_id, Decorate decorate, Done<v1::User> done);
  void apply_user(const v1::StoredUser& stored);
  void persist_last_used(const std::string& token_hash);

  storage::Store& store_;
  const Clock& clock_;
  boost::asio::any_io_executor crypto_;
  AccountOptions options_;

  std::mutex session_write_mutex_;  ///< orders session and user record writes in the store's queue
  struct QueuedUser {
    std::uint64_t generation = 0;
    v1::StoredUser stored;
  };
  mutable std::mutex queued_mutex_;                 ///< guards queued_users_ and queued_generation_
  std::map<std::string, QueuedUser> queued_users_;  ///< user records queued, not yet committed
  std::uint64_t queued_generation_ = 0;
  mutable std::shared_mutex mutex_;
  std::map<std::string, v1::Organization> organizations_;
  std::map<std::string, v1::StoredUser> users_;
  std::map<std::string, std::string> user_ids_by_username_;  ///< lowercase username -> id
  std::unordered_map<std::string, SessionState> sessions_;   ///< token hash -> session

  std::mutex failures_mutex_;
  std::map<std::string, std::deque<SystemTime>> failed_logins_;
  std::function<void(const std::string&)> on_disabled_;
};

/// Lowercase ASCII copy; usernames compare case-insensitively.
std::string lowercase(std::string_view s);

}  // namespace oshin::app
