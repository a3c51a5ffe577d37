// AccountService against a real SQLite store and a manual clock: expiry rules, the failed-login
// window, revocation, and that memory only changes after a durable commit.
#include "oshin/app/account_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <future>
#include <random>

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
    service_ = std::make_unique<AccountService>(*store_, clock_, pool_.get_executor(), opts);
    ASSERT_TRUE(service_->load());
  }

  void reopen() {
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

  Outcome<LoginResult> login(const std::string& user, const std::string& password) {
    return wait<LoginResult>([&](AccountService::Done<LoginResult> d) {
      service_->login(user, password, "req", std::move(d));
    });
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

  std::filesystem::path dir_;
  ManualClock clock_{from_unix_ms(1'790'000'000'000)};
  boost::asio::thread_pool pool_{2};
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
