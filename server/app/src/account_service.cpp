#include "oshin/app/account_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <memory>
#include <utility>

#include "oshin/app/records.hpp"
#include "oshin/app/token.hpp"
#include "oshin/app/totp.hpp"

namespace oshin::app {
namespace {

constexpr std::string_view kOrganization = "organization";
constexpr std::string_view kUser = "user";
constexpr std::string_view kSession = kSessionKind;

Failure fail(Errc code, std::string message = {}, std::string field = {}) {
  if (message.empty()) {
    message = std::string(default_message(code));
  }
  return Failure{code, std::move(message), std::move(field), {}};
}

Failure fail_commit(const boost::system::error_code& ec) {
  Errc code = to_errc(ec);
  return fail(code == Errc::ok ? Errc::internal : code);
}

bool valid_username(std::string_view u) {
  if (u.size() < 3 || u.size() > 64) {
    return false;
  }
  return std::all_of(u.begin(), u.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool valid_text(std::string_view s, std::size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) {
    return false;
  }
  return std::none_of(s.begin(), s.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20; });
}

bool valid_webhook_url(std::string_view url) {
  if (url.size() > 2048) {
    return false;
  }
  auto starts = [&](std::string_view p) { return url.substr(0, p.size()) == p; };
  std::string_view rest;
  if (starts("https://")) {
    rest = url.substr(8);
  } else if (starts("http://")) {
    rest = url.substr(7);
  } else {
    return false;
  }
  return !rest.empty() && rest.front() != '/' && std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F;
  });
}

bool is_center_role(v1::Role r) {
  return r == v1::STAFF || r == v1::DOCTOR || r == v1::DRIVER;
}

/// Which organization kinds a role may belong to.
bool role_fits_organization(v1::Role role, v1::OrganizationKind kind) {
  if (role == v1::ADMIN) {
    return true;
  }
  if (is_center_role(role)) {
    return kind == v1::HOUSE_CALL_CENTER;
  }
  return kind != v1::HOUSE_CALL_CENTER;
}

v1::Organization without_secret(v1::Organization org) {
  org.clear_webhook_secret();
  return org;
}

}  // namespace

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

AccountService::AccountService(storage::Store& store, const Clock& clock,
                               boost::asio::any_io_executor crypto, AccountOptions options)
    : store_(store), clock_(clock), crypto_(std::move(crypto)), options_(options) {}

Result<void> AccountService::load() {
  auto orgs = store_.list(std::string(kOrganization));
  if (!orgs) {
    return orgs.error();
  }
  auto users = store_.list(std::string(kUser));
  if (!users) {
    return users.error();
  }
  auto sessions = store_.list(std::string(kSession));
  if (!sessions) {
    return sessions.error();
  }
  const SystemTime now = clock_.now();
  std::unique_lock lock(mutex_);
  for (const auto& r : *orgs) {
    v1::Organization org;
    if (!org.ParseFromString(r.body)) {
      return Errc::internal;
    }
    organizations_[org.id()] = org;
  }
  for (const auto& r : *users) {
    v1::StoredUser u;
    if (!u.ParseFromString(r.body)) {
      return Errc::internal;
    }
    user_ids_by_username_[lowercase(u.user().username())] = u.user().id();
    users_[u.user().id()] = u;
  }
  for (const auto& r : *sessions) {
    v1::StoredSession s;
    if (!s.ParseFromString(r.body)) {
      return Errc::internal;
    }
    if (from_timestamp(s.expires_at()) <= now) {
      continue;  // can never be used again; the retention sweep erases its record
    }
    SystemTime used = from_timestamp(s.last_used_at());
    sessions_[s.token_hash()] = SessionState{s, used, used};
  }
  return {};
}

bool AccountService::empty() const {
  std::shared_lock lock(mutex_);
  return users_.empty();
}

bool AccountService::login_throttled(const std::string& key, SystemTime now) {
  std::lock_guard lock(failures_mutex_);
  auto it = failed_logins_.find(key);
  if (it == failed_logins_.end()) {
    return false;
  }
  auto& times = it->second;
  while (!times.empty() && now - times.front() >= options_.failed_login_window) {
    times.pop_front();
  }
  if (times.empty()) {
    failed_logins_.erase(it);
    return false;
  }
  return static_cast<int>(times.size()) >= options_.max_failed_logins;
}

void AccountService::record_failed_login(const std::string& key, SystemTime now) {
  std::lock_guard lock(failures_mutex_);
  failed_logins_[key].push_back(now);
}

void AccountService::login(std::string username, std::string password,
                           std::optional<std::string> totp, std::string request_id,
                           Done<LoginResult> done) {
  SystemTime now = clock_.now();
  std::string key = lowercase(username);
  AuditContext actx{"", "", request_id, now};
  if (username.empty() || username.size() > 256 || password.size() > 1024 ||
      (totp && totp->size() > 64)) {
    done(fail(Errc::invalid_credentials));
    return;
  }
  if (login_throttled(key, now)) {
    storage::Transaction tx;
    tx.mutations.emplace_back(audit_entry(actx, "login", "throttled", "username=" + key));
    store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
      if (!r) {
        done(fail_commit(r.error()));
        return;
      }
      done(fail(Errc::too_many_attempts));
    });
    return;
  }
  std::optional<v1::StoredUser> user;
  {
    std::shared_lock lock(mutex_);
    auto id = user_ids_by_username_.find(key);
    if (id != user_ids_by_username_.end()) {
      user = users_.at(id->second);
    }
  }
  // Verification takes tens of milliseconds of CPU and 19 MiB: never on an I/O thread.
  boost::asio::post(crypto_, [this, key, user = std::move(user), password = std::move(password),
                              totp = std::move(totp), request_id = std::move(request_id),
                              done = std::move(done)]() mutable {
    const std::string& phc = user ? user->password_hash() : dummy_password_hash();
    bool ok = verify_password(password, phc) && user.has_value();
    finish_login(key, std::move(user), ok, std::move(totp), std::move(request_id), std::move(done));
  });
}

void AccountService::finish_login(const std::string& key, std::optional<v1::StoredUser> user,
                                  bool password_ok, std::optional<std::string> totp,
                                  std::string request_id, Done<LoginResult> done) {
  SystemTime now = clock_.now();
  bool active = user && user->user().active();
  storage::Transaction tx;
  if (!password_ok || !active) {
    record_failed_login(key, now);
    AuditContext actx{user ? user->user().id() : "",
                      user ? std::string(role_name(static_cast<Role>(user->user().role()))) : "",
                      request_id, now};
    tx.mutations.emplace_back(
        audit_entry(actx, "login", password_ok ? "disabled" : "failed", "username=" + key));
    store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
      if (!r) {
        done(fail_commit(r.error()));
        return;
      }
      done(fail(Errc::invalid_credentials));
    });
    return;
  }
  // The password is right: now the second factor. Everything from reading the newest user record
  // to queueing the commit holds session_write_mutex_, so two logins racing with the same code
  // cannot both pass the replay check.
  std::lock_guard write_lock(session_write_mutex_);
  v1::StoredUser current = latest_user_locked(user->user().id()).value_or(*user);
  AuditContext totp_actx{current.user().id(),
                         std::string(role_name(static_cast<Role>(current.user().role()))),
                         request_id, now};
  bool step_used = false;
  bool enrolment_only = false;
  std::uint64_t generation = 0;
  if (current.user().totp_enabled()) {
    if (!totp || totp->empty()) {
      // Only a caller who knew the password learns that a code is needed.
      tx.mutations.emplace_back(audit_entry(totp_actx, "login", "totp_required"));
      store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
        if (!r) {
          done(fail_commit(r.error()));
          return;
        }
        done(fail(Errc::totp_required));
      });
      return;
    }
    auto secret = base32_decode(current.totp_secret());
    std::optional<std::int64_t> step;
    if (secret && !secret->empty()) {
      step = verify_totp(*secret, *totp, now, current.totp_last_step());
    }
    if (!step) {
      record_failed_login(key, now);
      tx.mutations.emplace_back(audit_entry(totp_actx, "login", "totp_failed"));
      store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
        if (!r) {
          done(fail_commit(r.error()));
          return;
        }
        done(fail(Errc::invalid_credentials));
      });
      return;
    }
    current.set_totp_last_step(*step);
    step_used = true;
    tx.mutations.emplace_back(
        put_record(kUser, current.user().id(), current, now, lowercase(current.user().username())));
    generation = queued_user_locked(current);
  } else if (totp_required_for(current.user().role())) {
    enrolment_only = true;
  }
  auto result = std::make_shared<LoginResult>();
  result->token = generate_token();
  result->expires_at = now + options_.absolute_timeout;
  result->user = current.user();
  result->totp_enrolment_required = enrolment_only;
  v1::StoredSession session;
  session.set_token_hash(sha256_hex(result->token));
  session.set_user_id(user->user().id());
  *session.mutable_created_at() = to_timestamp(now);
  *session.mutable_last_used_at() = to_timestamp(now);
  *session.mutable_expires_at() = to_timestamp(result->expires_at);
  AuditContext actx{user->user().id(),
                    std::string(role_name(static_cast<Role>(user->user().role()))), request_id,
                    now};
  tx.mutations.emplace_back(
      put_record(kSession, session.token_hash(), session, now, std::nullopt, true));
  tx.mutations.emplace_back(audit_entry(
      actx, "login", "ok",
      step_used ? "totp=ok" : (enrolment_only ? "totp=enrolment_required" : std::string())));
  store_.commit(std::move(tx), [this, session, now, result, step_used, current, generation,
                                done = std::move(done)](Result<storage::CommitResult> r) {
    if (!r) {
      if (step_used) {
        forget_queued_user(current.user().id(), generation);
      }
      done(fail_commit(r.error()));
      return;
    }
    if (step_used) {
      apply_user(current);
      forget_queued_user(current.user().id(), generation);
    }
    {
      std::unique_lock lock(mutex_);
      sessions_[session.token_hash()] = SessionState{session, now, now};
    }
    done(std::move(*result));
  });
}

void AccountService::logout(const Principal& who, std::string request_id, Done<void> done) {
  SystemTime now = clock_.now();
  storage::Transaction tx;
  tx.mutations.emplace_back(storage::EraseRecord{std::string(kSession), who.token_hash});
  tx.mutations.emplace_back(
      audit_entry(audit_context(who, std::move(request_id), now), "logout", "ok"));
  // Marking the session revoked and queueing its erase happen under session_write_mutex_, so a
  // last-use refresh can never be queued behind the erase and bring the session back.
  std::lock_guard write_lock(session_write_mutex_);
  {
    std::unique_lock lock(mutex_);
    auto it = sessions_.find(who.token_hash);
    if (it != sessions_.end()) {
      it->second.stored.set_revoked(true);
    }
  }
  store_.commit(std::move(tx), [this, hash = who.token_hash,
                                done = std::move(done)](Result<storage::CommitResult> r) {
    if (!r) {
      done(fail_commit(r.error()));
      return;
    }
    {
      std::unique_lock lock(mutex_);
      sessions_.erase(hash);
    }
    done(Outcome<void>{});
  });
}

Outcome<v1::User> AccountService::me(const Principal& who) const {
  auto u = find_user(who.user_id);
  if (!u) {
    return fail(Errc::unauthenticated);
  }
  return *u;
}

void AccountService::create_organization(const Principal& who, v1::CreateOrganizationRequest req,
                                         std::string request_id, Decorate decorate,
                                         Done<v1::Organization> done) {
  if (!valid_text(req.name(), 200)) {
    done(fail(Errc::invalid_argument, "name is required (1-200 characters, no control codes)",
              "name"));
    return;
  }
  if (req.kind() == v1::ORGANIZATION_KIND_UNSPECIFIED ||
      !v1::OrganizationKind_IsValid(req.kind())) {
    done(fail(Errc::invalid_argument, "kind is required", "kind"));
    return;
  }
  if (req.has_webhook_url() && !req.webhook_url().empty() &&
      !valid_webhook_url(req.webhook_url())) {
    done(fail(Errc::invalid_argument, "webhookUrl must be an http or https URL", "webhookUrl"));
    return;
  }
  SystemTime now = clock_.now();
  v1::Organization org;
  org.set_id(generate_id("org_"));
  org.set_name(req.name());
  org.set_kind(req.kind());
  if (req.has_webhook_url() && !req.webhook_url().empty()) {
    org.set_webhook_url(req.webhook_url());
    org.set_webhook_secret(generate_token());
  }
  *org.mutable_created_at() = to_timestamp(now);
  storage::Transaction tx;
  tx.mutations.emplace_back(put_record(kOrganization, org.id(), org, now, std::nullopt, true));
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "organization.create", "ok", "organization=" + org.id()));
  if (decorate) {
    decorate(org, tx);
  }
  store_.commit(std::move(tx),
                [this, org, done = std::move(done)](Result<storage::CommitResult> r) {
                  if (!r) {
                    done(fail_commit(r.error()));
                    return;
                  }
                  {
                    std::unique_lock lock(mutex_);
                    organizations_[org.id()] = org;
                  }
                  done(org);
                });
}

std::vector<v1::Organization> AccountService::list_organizations() const {
  std::shared_lock lock(mutex_);
  std::vector<v1::Organization> out;
  out.reserve(organizations_.size());
  for (const auto& [id, org] : organizations_) {
    out.push_back(without_secret(org));
  }
  return out;
}

void AccountService::create_user(const Principal& who, v1::CreateUserRequest req,
                                 std::string request_id, Decorate decorate, Done<v1::User> done) {
  if (!valid_username(req.username())) {
    done(fail(Errc::invalid_argument,
              "username must be 3-64 characters of letters, digits, '.', '_' or '-'", "username"));
    return;
  }
  if (auto policy = check_password_policy(req.password()); !policy) {
    Errc code = to_errc(policy.error());
    done(fail(code,
              code == Errc::weak_password ? "password must be at least 12 characters"
                                          : "password is too long",
              "password"));
    return;
  }
  if (!valid_text(req.display_name(), 200)) {
    done(fail(Errc::invalid_argument, "displayName is required (1-200 characters)", "displayName"));
    return;
  }
  if (req.role() == v1::ROLE_UNSPECIFIED || !v1::Role_IsValid(req.role())) {
    done(fail(Errc::invalid_argument, "role is required", "role"));
    return;
  }
  auto org = find_organization(req.organization_id());
  if (!org) {
    done(fail(Errc::invalid_argument, "organizationId names no organization", "organizationId"));
    return;
  }
  if (!role_fits_organization(req.role(), org->kind())) {
    done(fail(Errc::invalid_argument,
              is_center_role(req.role())
                  ? "STAFF, DOCTOR and DRIVER accounts belong to a HOUSE_CALL_CENTER organization"
                  : "this role cannot belong to a HOUSE_CALL_CENTER organization",
              "organizationId"));
    return;
  }
  if (find_user_by_username(req.username())) {
    done(fail(Errc::already_exists, "username is taken", "username"));
    return;
  }
  boost::asio::post(crypto_, [this, who, req = std::move(req), request_id = std::move(request_id),
                              decorate = std::move(decorate), done = std::move(done)]() mutable {
    auto phc = hash_password(req.password(), options_.password_cost);
    if (!phc) {
      done(fail(Errc::internal));
      return;
    }
    create_user_hashed(who, std::move(req), std::move(*phc), std::move(request_id),
                       std::move(decorate), std::move(done));
  });
}

void AccountService::create_user_hashed(const Principal& who, v1::CreateUserRequest req,
                                        std::string phc, std::string request_id, Decorate decorate,
                                        Done<v1::User> done) {
  SystemTime now = clock_.now();
  v1::StoredUser stored;
  v1::User& u = *stored.mutable_user();
  u.set_id(generate_id("usr_"));
  u.set_username(req.username());
  u.set_display_name(req.display_name());
  u.set_role(req.role());
  u.set_organization_id(req.organization_id());
  u.set_active(true);
  *u.mutable_created_at() = to_timestamp(now);
  stored.set_password_hash(std::move(phc));
  storage::Transaction tx;
  tx.mutations.emplace_back(
      put_record(kUser, u.id(), stored, now, lowercase(req.username()), /*must_not_exist=*/true));
  AuditContext actx = audit_context(who, request_id, now);
  tx.mutations.emplace_back(audit_entry(actx, "user.create", "ok",
                                        "user=" + u.id() + " role=" + v1::Role_Name(u.role())));
  if (decorate) {
    decorate(u, tx);
  }
  store_.commit(std::move(tx),
                [this, stored, done = std::move(done)](Result<storage::CommitResult> r) {
                  if (!r) {
                    Failure f = fail_commit(r.error());
                    if (f.code == Errc::already_exists) {
                      f = fail(Errc::already_exists, "username is taken", "username");
                    }
                    done(std::move(f));
                    return;
                  }
                  apply_user(stored);
                  done(stored.user());
                });
}

void AccountService::apply_user(const v1::StoredUser& stored) {
  std::unique_lock lock(mutex_);
  user_ids_by_username_[lowercase(stored.user().username())] = stored.user().id();
  users_[stored.user().id()] = stored;
  if (!stored.user().active()) {
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second.stored.user_id() == stored.user().id()) {
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

std::vector<v1::User> AccountService::list_users() const {
  std::shared_lock lock(mutex_);
  std::vector<v1::User> out;
  out.reserve(users_.size());
  for (const auto& [id, u] : users_) {
    out.push_back(u.user());
  }
  return out;
}

void AccountService::disable_user(const Principal& who, std::string user_id, std::string request_id,
                                  Done<v1::User> done) {
  SystemTime now = clock_.now();
  v1::StoredUser stored;
  std::vector<std::string> token_hashes;
  std::lock_guard write_lock(session_write_mutex_);
  {
    std::unique_lock lock(mutex_);
    auto it = users_.find(user_id);
    if (it == users_.end()) {
      done(fail(Errc::not_found, "no such user"));
      return;
    }
    for (auto& [hash, s] : sessions_) {
      if (s.stored.user_id() == user_id) {
        token_hashes.push_back(hash);
        s.stored.set_revoked(true);
      }
    }
  }
  stored = latest_user_locked(user_id).value();
  stored.mutable_user()->set_active(false);
  std::uint64_t generation = queued_user_locked(stored);
  storage::Transaction tx;
  tx.mutations.emplace_back(
      put_record(kUser, user_id, stored, now, lowercase(stored.user().username())));
  for (const auto& hash : token_hashes) {
    tx.mutations.emplace_back(storage::EraseRecord{std::string(kSession), hash});
  }
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "user.disable", "ok", "user=" + user_id));
  commit_user(std::move(tx), stored, generation,
              [this, stored, done = std::move(done)](Result<storage::CommitResult> r) {
                if (!r) {
                  done(fail_commit(r.error()));
                  return;
                }
                if (on_disabled_) {
                  on_disabled_(stored.user().id());
                }
                done(stored.user());
              });
}

std::optional<v1::StoredUser> AccountService::latest_user_locked(const std::string& id) const {
  {
    std::lock_guard queued_lock(queued_mutex_);
    auto queued = queued_users_.find(id);
    if (queued != queued_users_.end()) {
      return queued->second.stored;
    }
  }
  std::shared_lock lock(mutex_);
  auto it = users_.find(id);
  if (it == users_.end()) {
    return std::nullopt;
  }
  return it->second;
}

std::uint64_t AccountService::queued_user_locked(const v1::StoredUser& stored) {
  std::lock_guard queued_lock(queued_mutex_);
  std::uint64_t generation = ++queued_generation_;
  queued_users_[stored.user().id()] = QueuedUser{generation, stored};
  return generation;
}

void AccountService::forget_queued_user(const std::string& id, std::uint64_t generation) {
  std::lock_guard queued_lock(queued_mutex_);
  auto it = queued_users_.find(id);
  if (it != queued_users_.end() && it->second.generation == generation) {
    queued_users_.erase(it);
  }
}

void AccountService::commit_user(storage::Transaction tx, v1::StoredUser stored,
                                 std::uint64_t generation,
                                 std::function<void(Result<storage::CommitResult>)> then) {
  store_.commit(std::move(tx), [this, stored = std::move(stored), generation,
                                then = std::move(then)](Result<storage::CommitResult> r) {
    if (r) {
      apply_user(stored);
    }
    forget_queued_user(stored.user().id(), generation);
    then(std::move(r));
  });
}

bool AccountService::totp_required_for(v1::Role role) const {
  return options_.totp_enabled && options_.totp_required_roles.contains(static_cast<Role>(role));
}

void AccountService::start_totp(const Principal& who, std::string request_id,
                                Done<v1::TotpEnrollment> done) {
  SystemTime now = clock_.now();
  std::lock_guard write_lock(session_write_mutex_);
  auto latest = latest_user_locked(who.user_id);
  if (!latest) {
    done(fail(Errc::unauthenticated));
    return;
  }
  if (latest->user().totp_enabled()) {
    done(fail(Errc::conflict,
              "TOTP is already on for this account; an ADMIN resets it "
              "(POST /v1/users/{id}/totp/reset) before a new enrolment"));
    return;
  }
  std::vector<unsigned char> raw = generate_totp_secret();
  if (raw.size() != kTotpSecretBytes) {
    done(fail(Errc::internal));
    return;
  }
  v1::TotpEnrollment enrollment;
  enrollment.set_secret(base32_encode(raw, /*pad=*/false));
  std::fill(raw.begin(), raw.end(), 0);
  enrollment.set_otpauth_uri(
      otpauth_uri(options_.totp_issuer, latest->user().username(), enrollment.secret()));
  v1::StoredUser stored = *latest;
  stored.set_totp_secret(enrollment.secret());
  stored.set_totp_pending(true);
  storage::Transaction tx;
  tx.mutations.emplace_back(
      put_record(kUser, stored.user().id(), stored, now, lowercase(stored.user().username())));
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "totp.enrol", "ok", "user=" + stored.user().id()));
  std::uint64_t generation = queued_user_locked(stored);
  commit_user(std::move(tx), stored, generation,
              [enrollment = std::move(enrollment),
               done = std::move(done)](Result<storage::CommitResult> r) {
                if (!r) {
                  done(fail_commit(r.error()));
                  return;
                }
                done(enrollment);
              });
}

void AccountService::confirm_totp(const Principal& who, std::string code, std::string request_id,
                                  Done<v1::User> done) {
  SystemTime now = clock_.now();
  std::string key = lowercase(who.username);
  AuditContext actx = audit_context(who, std::move(request_id), now);
  if (login_throttled(key, now)) {
    storage::Transaction tx;
    tx.mutations.emplace_back(audit_entry(actx, "totp.confirm", "throttled"));
    store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
      if (!r) {
        done(fail_commit(r.error()));
        return;
      }
      done(fail(Errc::too_many_attempts));
    });
    return;
  }
  std::lock_guard write_lock(session_write_mutex_);
  auto latest = latest_user_locked(who.user_id);
  if (!latest) {
    done(fail(Errc::unauthenticated));
    return;
  }
  if (!latest->totp_pending() || latest->totp_secret().empty()) {
    done(fail(Errc::conflict, latest->user().totp_enabled()
                                  ? "TOTP is already on for this account"
                                  : "no TOTP enrolment in progress; POST /v1/me/totp first"));
    return;
  }
  auto secret = base32_decode(latest->totp_secret());
  std::optional<std::int64_t> step;
  if (secret && !secret->empty() && code.size() <= 64) {
    step = verify_totp(*secret, code, now, latest->totp_last_step());
  }
  storage::Transaction tx;
  if (!step) {
    record_failed_login(key, now);
    tx.mutations.emplace_back(audit_entry(actx, "totp.confirm", "failed"));
    store_.commit(std::move(tx), [done = std::move(done)](Result<storage::CommitResult> r) {
      if (!r) {
        done(fail_commit(r.error()));
        return;
      }
      done(fail(Errc::invalid_argument,
                "code does not match the new secret (6 digits; check the phone's clock)", "code"));
    });
    return;
  }
  v1::StoredUser stored = *latest;
  stored.set_totp_pending(false);
  stored.set_totp_last_step(*step);
  stored.mutable_user()->set_totp_enabled(true);
  tx.mutations.emplace_back(
      put_record(kUser, stored.user().id(), stored, now, lowercase(stored.user().username())));
  tx.mutations.emplace_back(audit_entry(actx, "totp.confirm", "ok", "user=" + stored.user().id()));
  std::uint64_t generation = queued_user_locked(stored);
  commit_user(std::move(tx), stored, generation,
              [user = stored.user(), done = std::move(done)](Result<storage::CommitResult> r) {
                if (!r) {
                  done(fail_commit(r.error()));
                  return;
                }
                done(user);
              });
}

void AccountService::reset_totp(const Principal& who, std::string user_id, std::string request_id,
                                Done<v1::User> done) {
  SystemTime now = clock_.now();
  std::lock_guard write_lock(session_write_mutex_);
  auto latest = latest_user_locked(user_id);
  if (!latest) {
    done(fail(Errc::not_found, "no such user"));
    return;
  }
  std::vector<std::string> token_hashes;
  {
    std::unique_lock lock(mutex_);
    for (auto& [hash, s] : sessions_) {
      if (s.stored.user_id() == user_id) {
        token_hashes.push_back(hash);
        s.stored.set_revoked(true);
      }
    }
  }
  v1::StoredUser stored = *latest;
  stored.clear_totp_secret();
  stored.set_totp_pending(false);
  stored.mutable_user()->set_totp_enabled(false);
  storage::Transaction tx;
  tx.mutations.emplace_back(
      put_record(kUser, user_id, stored, now, lowercase(stored.user().username())));
  for (const auto& hash : token_hashes) {
    tx.mutations.emplace_back(storage::EraseRecord{std::string(kSession), hash});
  }
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "totp.reset", "ok", "user=" + user_id));
  std::uint64_t generation = queued_user_locked(stored);
  commit_user(std::move(tx), stored, generation,
              [this, stored, token_hashes = std::move(token_hashes),
               done = std::move(done)](Result<storage::CommitResult> r) {
                if (!r) {
                  done(fail_commit(r.error()));
                  return;
                }
                {
                  std::unique_lock lock(mutex_);
                  for (const auto& hash : token_hashes) {
                    sessions_.erase(hash);
                  }
                }
                if (on_disabled_) {
                  // Its tokens are gone: close its open streams too.
                  on_disabled_(stored.user().id());
                }
                done(stored.user());
              });
}

void AccountService::bootstrap_admin(const std::string& center_name, const std::string& password,
                                     Done<v1::User> done) {
  if (auto policy = check_password_policy(password); !policy) {
    done(fail(to_errc(policy.error()), "OSHIN_ADMIN_PASSWORD must be at least 12 characters"));
    return;
  }
  SystemTime now = clock_.now();
  v1::Organization center;
  center.set_id(generate_id("org_"));
  center.set_name(center_name);
  center.set_kind(v1::HOUSE_CALL_CENTER);
  *center.mutable_created_at() = to_timestamp(now);
  storage::Transaction tx;
  tx.mutations.emplace_back(
      put_record(kOrganization, center.id(), center, now, std::nullopt, true));
  tx.mutations.emplace_back(audit_entry(AuditContext{"", "SYSTEM", "bootstrap", now},
                                        "organization.create", "ok",
                                        "organization=" + center.id()));
  store_.commit(std::move(tx), [this, center, password,
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    if (!r) {
      done(fail_commit(r.error()));
      return;
    }
    {
      std::unique_lock lock(mutex_);
      organizations_[center.id()] = center;
    }
    v1::CreateUserRequest req;
    req.set_username("admin");
    req.set_password(password);
    req.set_display_name("Administrator");
    req.set_role(v1::ADMIN);
    req.set_organization_id(center.id());
    create_user(Principal{}, std::move(req), "bootstrap", {}, std::move(done));
  });
}

std::optional<Principal> AccountService::active_account(std::string_view user_id) {
  std::shared_lock lock(mutex_);
  auto u = users_.find(std::string(user_id));
  if (u == users_.end() || !u->second.user().active()) {
    return std::nullopt;
  }
  Principal p;
  p.user_id = u->second.user().id();
  p.username = u->second.user().username();
  p.role = static_cast<Role>(u->second.user().role());
  p.organization_id = u->second.user().organization_id();
  return p;
}

std::optional<Principal> AccountService::authenticate(std::string_view bearer_token) {
  if (bearer_token.empty() || bearer_token.size() > 256) {
    return std::nullopt;
  }
  std::string hash = sha256_hex(bearer_token);
  SystemTime now = clock_.now();
  Principal p;
  bool persist = false;
  {
    std::unique_lock lock(mutex_);
    auto it = sessions_.find(hash);
    if (it == sessions_.end()) {
      return std::nullopt;
    }
    SessionState& s = it->second;
    if (s.stored.revoked() || now >= from_timestamp(s.stored.expires_at()) ||
        now - s.last_used >= options_.idle_timeout) {
      return std::nullopt;
    }
    auto u = users_.find(s.stored.user_id());
    if (u == users_.end() || !u->second.user().active()) {
      return std::nullopt;
    }
    s.last_used = now;
    if (now - s.last_persisted >= options_.last_used_persist_interval) {
      s.last_persisted = now;
      persist = true;
    }
    p.user_id = u->second.user().id();
    p.username = u->second.user().username();
    p.role = static_cast<Role>(u->second.user().role());
    p.organization_id = u->second.user().organization_id();
    p.token_hash = hash;
    p.totp_enrolment_only =
        totp_required_for(u->second.user().role()) && !u->second.user().totp_enabled();
  }
  if (persist) {
    persist_last_used(hash);
  }
  return p;
}

void AccountService::persist_last_used(const std::string& token_hash) {
  // The stored last use may lag by up to last_used_persist_interval; after a restart that only
  // makes an idle session expire sooner, never later.
  std::lock_guard write_lock(session_write_mutex_);
  v1::StoredSession copy;
  {
    std::shared_lock lock(mutex_);
    auto it = sessions_.find(token_hash);
    if (it == sessions_.end() || it->second.stored.revoked()) {
      return;
    }
    copy = it->second.stored;
    *copy.mutable_last_used_at() = to_timestamp(it->second.last_used);
  }
  storage::Transaction tx;
  tx.mutations.emplace_back(put_record(kSession, token_hash, copy, clock_.now()));
  store_.commit(std::move(tx), [](const Result<storage::CommitResult>&) {});
}

std::optional<v1::User> AccountService::find_user(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = users_.find(id);
  if (it == users_.end()) {
    return std::nullopt;
  }
  return it->second.user();
}

std::optional<v1::User> AccountService::find_user_by_username(const std::string& username) const {
  std::shared_lock lock(mutex_);
  auto id = user_ids_by_username_.find(lowercase(username));
  if (id == user_ids_by_username_.end()) {
    return std::nullopt;
  }
  return users_.at(id->second).user();
}

std::optional<v1::Organization> AccountService::find_organization(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = organizations_.find(id);
  if (it == organizations_.end()) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace oshin::app
