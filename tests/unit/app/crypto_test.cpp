#include <gtest/gtest.h>

#include <set>

#include "oshin/app/password.hpp"
#include "oshin/app/token.hpp"

namespace oshin::app {
namespace {

TEST(Password, PolicyNeedsTwelveCharacters) {
  EXPECT_EQ(check_password_policy("elevenchars"), Result<void>(Errc::weak_password));
  EXPECT_TRUE(check_password_policy("twelve chars"));
  // Characters, not bytes: 12 Japanese characters pass, 11 do not.
  EXPECT_TRUE(check_password_policy("往診往診往診往診往診往診"));
  EXPECT_FALSE(check_password_policy("往診往診往診往診往診往"));
  EXPECT_EQ(check_password_policy(std::string(2000, 'a')), Result<void>(Errc::invalid_argument));
}

TEST(Password, HashIsArgon2idWithAtLeastOwaspCost) {
  auto h = hash_password("correct horse battery");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$v=19$", 0), 0u) << *h;
  // m is in KiB: 19 MiB = 19456 KiB; t = 2.
  EXPECT_NE(h->find("m=19456,t=2"), std::string::npos) << *h;
  EXPECT_TRUE(verify_password("correct horse battery", *h));
  EXPECT_FALSE(verify_password("correct horse batterx", *h));
  EXPECT_FALSE(verify_password("", *h));
  EXPECT_FALSE(verify_password("correct horse battery", ""));
  EXPECT_FALSE(verify_password("correct horse battery", "$argon2id$garbage"));
}

TEST(Password, SaltMakesEveryHashDifferent) {
  auto a = hash_password("same password here");
  auto b = hash_password("same password here");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(Password, DummyHashVerifiesNothingUseful) {
  EXPECT_FALSE(dummy_password_hash().empty());
  EXPECT_FALSE(verify_password("guess", dummy_password_hash()));
}

TEST(Token, Has256BitsAndIsUrlSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto t = generate_token();
    ASSERT_EQ(t.size(), 43u);  // ceil(32 * 4 / 3) without padding
    for (char c : t) {
      ASSERT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << t;
    }
    seen.insert(t);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Token, Sha256HexMatchesKnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Token, IdsHavePrefixAndDiffer) {
  auto a = generate_id("usr_");
  auto b = generate_id("usr_");
  EXPECT_EQ(a.rfind("usr_", 0), 0u);
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace oshin::app
