// AccountService against a real SQLite store and a manual clock: expiry rules, the failed-login
// window, revocation, and that memory only changes after a durable commit.
#include "oshin/app/account_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <random>

#include "oshin/app/totp.hpp"

namespace oshin::app {
namespace {

using namespace std::chrono_literals;

class AccountServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() / ("oshin-acct-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
    open();
    ASSERT_TRUE(wait(&AccountServiceTest::bootstrap));
    admin_ = principal_of(*service_->find_user_by_username("admin"));
    center_ = admin_.organization_id;
  }
  void TearDown() override {
    drain_pool();
    service_.reset();
    if (store_) {
      store_->close();
    }
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open() {
    storage::SqliteOptions o;
    o.data_dir = dir_.string();
    auto s = storage::open_sqlite_store(o);
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    AccountOptions opts;
    opts.idle_timeout = 30min;
    opts.absolute_timeout = 12h;
    opts.password_cost = PasswordCost{1, 8U * 1024U * 1024U};  // fast for unit tests
    opts.totp_enabled = totp_enabled_;
    pool_.emplace(2);
    service_ = std::make_unique<AccountService>(*store_, clock_, pool_->get_executor(), opts);
    ASSERT_TRUE(service_->load());
  }

  // A login's work item may still be unwinding on a pool thread (releasing the service's lock)
  // after its answer reached the test: wait for the pool's threads before destroying the service.
  void drain_pool() {
    if (pool_) {
      pool_->join();
      pool_.reset();
    }
  }

  void reopen() {
    drain_pool();
    service_.reset();
    store_->close();
    store_.reset();
    open();
  }

  template <class T>
  Outcome<T> wait(std::function<void(AccountService::Done<T>)> start) {
    std::promise<Outcome<T>> p;
    auto f = p.get_future();
    start([&p](Outcome<T> r) { p.set_value(std::move(r)); });
    EXPECT_EQ(f.wait_for(30s), std::future_status::ready);
    return f.get();
  }
  Outcome<v1::User> wait(void (AccountServiceTest::*fn)(AccountService::Done<v1::User>)) {
    return wait<v1::User>([this, fn](AccountService::Done<v1::User> d) { (this->*fn)(d); });
  }
  void bootstrap(AccountService::Done<v1::User> d) {
    service_->bootstrap_admin("Center", "admin-password-123", std::move(d));
  }

  static Principal principal_of(const v1::User& u) {
    Principal p;
    p.user_id = u.id();
    p.username = u.username();
    p.role = static_cast<Role>(u.role());
    p.organization_id = u.organization_id();
    return p;
  }

  Outcome<LoginResult> login(const std::string& user, const std::string& password,
                             std::optional<std::string> totp = std::nullopt) {
    return wait<LoginResult>([&](AccountService::Done<LoginResult> d) {
      service_->login(user, password, totp, "req", std::move(d));
    });
  }

  Outcome<v1::TotpEnrollment> start_totp(const Principal& who) {
    return wait<v1::TotpEnrollment>([&](AccountService::Done<v1::TotpEnrollment> d) {
      service_->start_totp(who, "req", std::move(d));
    });
  }
  Outcome<v1::User> confirm_totp(const Principal& who, const std::string& code) {
    return wait<v1::User>([&](AccountService::Done<v1::User> d) {
      service_->confirm_totp(who, code, "req", std::move(d));
    });
  }
  /// The code of the secret for the manual clock's current step (+ `steps_ahead`).
  std::string code_for(const std::string& base32_secret, int steps_ahead = 0) {
    auto key = base32_decode(base32_secret);
    EXPECT_TRUE(key);
    return totp_code(*key, clock_.now() + std::chrono::seconds(30 * steps_ahead));
  }
  /// A signed-in STAFF account with TOTP on; returns its secret.
  std::string enrolled_staff(const std::string& username) {
    EXPECT_TRUE(create_staff(username));
    auto session = login(username, "staff-password-123");
    EXPECT_TRUE(session);
    auto p = service_->authenticate(session->token);
    EXPECT_TRUE(p);
    auto e = start_totp(*p);
    EXPECT_TRUE(e);
    EXPECT_TRUE(confirm_totp(*p, code_for(e->secret())));
    return e->secret();
  }

  Outcome<v1::User> create_staff(const std::string& username) {
    v1::CreateUserRequest req;
    req.set_username(username);
    req.set_password("staff-password-123");
    req.set_display_name("Staff");
    req.set_role(v1::STAFF);
    req.set_organization_id(center_);
    return wait<v1::User>([&](AccountService::Done<v1::User> d) {
      service_->create_user(admin_, req, "req", {}, std::move(d));
    });
  }

  bool totp_enabled_ = false;
  std::filesystem::path dir_;
  ManualClock clock_{from_unix_ms(1'790'000'000'000)};
  std::optional<boost::asio::thread_pool> pool_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<AccountService> service_;
  Principal admin_;
  std::string center_;
};

TEST_F(AccountServiceTest, IdleTimeoutExpiresAnUnusedToken) {
  auto r = login("admin", "admin-password-123");
  ASSERT_TRUE(r);
  EXPECT_TRUE(service_->authenticate(r->token));
  clock_.advance(29min);
  EXPECT_TRUE(service_->authenticate(r->token));  // use resets the idle timer
  clock_.advance(29min);
  EXPECT_TRUE(service_->authenticate(r->token));
  clock_.advance(30min);
  EXPECT_FALSE(service_->authenticate(r->token));
}

TEST_F(AccountServiceTest, AbsoluteTimeoutExpiresEvenABusyToken) {
  auto r = login("admin", "admin-password-123");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->expires_at, clock_.now() + 12h);
  for (int i = 0; i < 47; ++i) {
    clock_.advance(15min);
    ASSERT_TRUE(service_->authenticate(r->token)) << i;
  }
  clock_.advance(15min);  // 12 h after login
  EXPECT_FALSE(service_->authenticate(r->token));
}

TEST_F(AccountServiceTest, FailedLoginWindowIsOneMinute) {
  for (int i = 0; i < 5; ++i) {
    auto r = login("admin", "wrong-password-1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::invalid_credentials);
  }
  auto locked = login("admin", "admin-password-123");
  ASSERT_FALSE(locked);
  EXPECT_EQ(locked.error().code, Errc::too_many_attempts);
  clock_.advance(59s);
  EXPECT_EQ(login("admin", "admin-password-123").error().code, Errc::too_many_attempts);
  clock_.advance(1s);
  EXPECT_TRUE(login("admin", "admin-password-123"));
}

TEST_F(AccountServiceTest, SessionsAndUsersSurviveReopenButLogoutDoesNot) {
  auto kept = login("admin", "admin-password-123");
  auto dropped = login("admin", "admin-password-123");
  ASSERT_TRUE(kept && dropped);
  auto p = service_->authenticate(dropped->token);
  ASSERT_TRUE(p);
  auto out =
      wait<void>([&](AccountService::Done<void> d) { service_->logout(*p, "req", std::move(d)); });
  ASSERT_TRUE(out);
  EXPECT_FALSE(service_->authenticate(dropped->token));
  ASSERT_TRUE(create_staff("staff.one"));
  reopen();
  EXPECT_TRUE(service_->authenticate(kept->token));
  EXPECT_FALSE(service_->authenticate(dropped->token));
  EXPECT_TRUE(service_->find_user_by_username("STAFF.ONE"));
}

TEST_F(AccountServiceTest, DisableRevokesEveryTokenAndBlocksLogin) {
  auto u = create_staff("staff.two");
  ASSERT_TRUE(u);
  auto a = login("staff.two", "staff-password-123");
  auto b = login("staff.two", "staff-password-123");
  ASSERT_TRUE(a && b);
  auto d = wait<v1::User>([&](AccountService::Done<v1::User> done) {
    service_->disable_user(admin_, u->id(), "req", std::move(done));
  });
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->active());
  EXPECT_FALSE(service_->authenticate(a->token));
  EXPECT_FALSE(service_->authenticate(b->token));
  EXPECT_EQ(login("staff.two", "staff-password-123").error().code, Errc::invalid_credentials);
  reopen();
  EXPECT_FALSE(service_->authenticate(a->token));
}

TEST_F(AccountServiceTest, DuplicateUsernameIsAlreadyExists) {
  ASSERT_TRUE(create_staff("dup.user"));
  auto again = create_staff("Dup.User");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::already_exists);
  EXPECT_EQ(again.error().field, "username");
}

TEST_F(AccountServiceTest, OnlyTheTokenHashIsStored) {
  auto r = login("admin", "admin-password-123");
  ASSERT_TRUE(r);
  auto sessions = store_->list("session");
  ASSERT_TRUE(sessions);
  ASSERT_FALSE(sessions->empty());
  for (const auto& rec : *sessions) {
    EXPECT_EQ(rec.body.find(r->token), std::string::npos);
    EXPECT_EQ(rec.id.size(), 64u);
  }
}

}  // namespace
}  // namespace oshin::app

namespace oshin::app {
namespace {

TEST_F(AccountServiceTest, TotpEnrolConfirmAndLoginWithACode) {
  ASSERT_TRUE(create_staff("totp.one"));
  auto first = login("totp.one", "staff-password-123");
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->totp_enrolment_required);  // totp.enabled is off: nothing required
  auto p = service_->authenticate(first->token);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->totp_enrolment_only);

  auto e = start_totp(*p);
  ASSERT_TRUE(e);
  EXPECT_EQ(base32_decode(e->secret())->size(), kTotpSecretBytes);
  EXPECT_EQ(e->otpauth_uri().rfind("otpauth://totp/oshin:totp.one?secret=" + e->secret(), 0), 0u)
      << e->otpauth_uri();
  // Pending, not on: login still needs no code.
  EXPECT_FALSE(service_->find_user(p->user_id)->totp_enabled());
  EXPECT_TRUE(login("totp.one", "staff-password-123"));

  auto wrong = confirm_totp(*p, code_for(e->secret(), 3));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, Errc::invalid_argument);
  EXPECT_EQ(wrong.error().field, "code");
  std::string used = code_for(e->secret());
  auto on = confirm_totp(*p, used);
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->totp_enabled());
  EXPECT_TRUE(service_->find_user(p->user_id)->totp_enabled());

  auto missing = login("totp.one", "staff-password-123");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::totp_required);
  // A wrong password never reveals that TOTP is on.
  EXPECT_EQ(login("totp.one", "wrong-password-1").error().code, Errc::invalid_credentials);
  EXPECT_EQ(login("totp.one", "wrong-password-1", used).error().code, Errc::invalid_credentials);
  // The code confirm used is spent.
  EXPECT_EQ(login("totp.one", "staff-password-123", used).error().code, Errc::invalid_credentials);
  clock_.advance(30s);
  std::string next = code_for(e->secret());
  EXPECT_TRUE(login("totp.one", "staff-password-123", next));
  EXPECT_EQ(login("totp.one", "staff-password-123", next).error().code, Errc::invalid_credentials);

  // On, and the used step, survive a restart.
  reopen();
  EXPECT_EQ(login("totp.one", "staff-password-123").error().code, Errc::totp_required);
  EXPECT_EQ(login("totp.one", "staff-password-123", next).error().code, Errc::invalid_credentials);
  clock_.advance(30s);  // a fresh step
  EXPECT_TRUE(login("totp.one", "staff-password-123", code_for(e->secret())));
  // Re-enrolling an account with TOTP on is refused (an ADMIN resets it first).
  auto again = start_totp(*p);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::conflict);
}

TEST_F(AccountServiceTest, WrongTotpCodesCountTowardTheLockout) {
  std::string secret = enrolled_staff("totp.two");
  clock_.advance(30s);
  std::string right = code_for(secret);
  std::string wrong = right == "000000" ? "000001" : "000000";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(login("totp.two", "staff-password-123", wrong).error().code,
              Errc::invalid_credentials)
        << i;
  }
  EXPECT_EQ(login("totp.two", "staff-password-123", right).error().code, Errc::too_many_attempts);
  clock_.advance(60s);
  EXPECT_TRUE(login("totp.two", "staff-password-123", code_for(secret)));
}

TEST_F(AccountServiceTest, TwoLoginsRacingWithOneCodeLetOnlyOneIn) {
  std::string secret = enrolled_staff("totp.race");
  clock_.advance(30s);
  std::string code = code_for(secret);
  for (int round = 0; round < 5; ++round) {
    std::promise<Outcome<LoginResult>> a;
    std::promise<Outcome<LoginResult>> b;
    service_->login("totp.race", "staff-password-123", code, "req",
                    [&a](Outcome<LoginResult> r) { a.set_value(std::move(r)); });
    service_->login("totp.race", "staff-password-123", code, "req",
                    [&b](Outcome<LoginResult> r) { b.set_value(std::move(r)); });
    auto fa = a.get_future();
    auto fb = b.get_future();
    ASSERT_EQ(fa.wait_for(30s), std::future_status::ready);
    ASSERT_EQ(fb.wait_for(30s), std::future_status::ready);
    int ok = (fa.get() ? 1 : 0) + (fb.get() ? 1 : 0);
    EXPECT_EQ(ok, round == 0 ? 1 : 0) << round;
  }
}

TEST_F(AccountServiceTest, RequiredRoleWithoutTotpGetsAnEnrolmentOnlySession) {
  totp_enabled_ = true;
  reopen();
  ASSERT_TRUE(create_staff("totp.three"));
  auto session = login("totp.three", "staff-password-123");
  ASSERT_TRUE(session);
  EXPECT_TRUE(session->totp_enrolment_required);
  auto p = service_->authenticate(session->token);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->totp_enrolment_only);
  auto e = start_totp(*p);
  ASSERT_TRUE(e);
  EXPECT_TRUE(service_->authenticate(session->token)->totp_enrolment_only);  // pending only
  ASSERT_TRUE(confirm_totp(*p, code_for(e->secret())));
  // The same session proved the second factor: it is a full session now.
  EXPECT_FALSE(service_->authenticate(session->token)->totp_enrolment_only);
}

TEST_F(AccountServiceTest, ResetTurnsTotpOffAndRevokesTheUsersTokens) {
  std::string secret = enrolled_staff("totp.four");
  clock_.advance(30s);
  auto session = login("totp.four", "staff-password-123", code_for(secret));
  ASSERT_TRUE(session);
  auto u = service_->find_user_by_username("totp.four");
  auto reset = wait<v1::User>([&](AccountService::Done<v1::User> d) {
    service_->reset_totp(admin_, u->id(), "req", std::move(d));
  });
  ASSERT_TRUE(reset);
  EXPECT_FALSE(reset->totp_enabled());
  EXPECT_FALSE(service_->authenticate(session->token));
  auto plain = login("totp.four", "staff-password-123");
  ASSERT_TRUE(plain);
  auto missing = wait<v1::User>([&](AccountService::Done<v1::User> d) {
    service_->reset_totp(admin_, "usr_nobody", "req", std::move(d));
  });
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::not_found);
  // The secret is gone from the stored record too.
  reopen();
  auto stored = store_->list("user");
  ASSERT_TRUE(stored);
  for (const auto& rec : *stored) {
    EXPECT_EQ(rec.body.find(secret), std::string::npos);
  }
}

}  // namespace
}  // namespace oshin::app
