// The hash-chained audit log: the hash function, the chain the store builds, and tamper detection
// by someone with direct access to the database file.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "store_test_support.hpp"

namespace oshin::storage::testing {
namespace {

const std::string kZeros(64, '0');

AuditEntry sample_entry() {
  AuditEntry e;
  e.seq = 7;
  e.at_ms = 1736500000000;
  e.actor_id = "u-nurse";
  e.actor_role = "NURSE";
  e.action = "patient.read";
  e.patient_id = "p-1";
  e.visit_id = "v-1";
  e.outcome = "ok";
  e.request_id = "req-1";
  e.detail = "viewed";
  return e;
}

TEST(AuditChainHashTest, IsLowercaseHexSha256AndDeterministic) {
  const AuditEntry e = sample_entry();
  const std::string h = audit_chain_hash(kZeros, e);
  ASSERT_EQ(h.size(), 64U);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(h, audit_chain_hash(kZeros, e));
}

TEST(AuditChainHashTest, EmptyPrevHashIsTheGenesis) {
  const AuditEntry e = sample_entry();
  EXPECT_EQ(audit_chain_hash("", e), audit_chain_hash(kZeros, e));
}

TEST(AuditChainHashTest, IgnoresTheEntrysOwnHashFields) {
  AuditEntry e = sample_entry();
  const std::string h = audit_chain_hash(kZeros, e);
  e.prev_hash = "something";
  e.hash = "else";
  EXPECT_EQ(audit_chain_hash(kZeros, e), h);
}

TEST(AuditChainHashTest, EveryFieldIsCovered) {
  const AuditEntry base = sample_entry();
  const std::string h = audit_chain_hash(kZeros, base);
  EXPECT_NE(audit_chain_hash(std::string(63, '0') + "1", base), h);
  std::vector<AuditEntry> variants(10, base);
  variants[0].seq = 8;
  variants[1].at_ms += 1;
  variants[2].actor_id += "x";
  variants[3].actor_role += "x";
  variants[4].action += "x";
  variants[5].patient_id += "x";
  variants[6].visit_id += "x";
  variants[7].outcome += "x";
  variants[8].request_id += "x";
  variants[9].detail += "x";
  for (const AuditEntry& v : variants) {
    EXPECT_NE(audit_chain_hash(kZeros, v), h);
  }
}

TEST(AuditChainHashTest, FieldBoundariesCannotShift) {
  AuditEntry a = sample_entry();
  AuditEntry b = sample_entry();
  a.actor_id = "ab";
  a.actor_role = "c";
  b.actor_id = "a";
  b.actor_role = "bc";
  EXPECT_NE(audit_chain_hash(kZeros, a), audit_chain_hash(kZeros, b));
  a.detail = "";
  a.request_id = "r";
  b = a;
  b.detail = "r";
  b.request_id = "";
  EXPECT_NE(audit_chain_hash(kZeros, a), audit_chain_hash(kZeros, b));
}

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = open_or_fail(options_in(dir_));
    ASSERT_NE(store_, nullptr);
  }
  void TearDown() override {
    if (store_) {
      store_->close();
    }
  }
  void append(int count) {
    for (int i = 0; i < count; ++i) {
      ASSERT_TRUE(commit_and_wait(*store_, tx({audit("patient.read", 1000 + next_at_++)})));
    }
  }
  AuditVerifyResult verify() {
    auto result = store_->verify_audit();
    EXPECT_TRUE(result);
    return result ? *result : AuditVerifyResult{};
  }
  std::string db_file() const { return dir_.file("oshin.db"); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  int next_at_ = 0;
};

TEST_F(AuditStoreTest, EmptyChainVerifies) {
  const AuditVerifyResult r = verify();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 0);
  EXPECT_EQ(r.first_bad_seq, 0);
}

TEST_F(AuditStoreTest, StoreBuildsTheChain) {
  auto two = commit_and_wait(*store_, tx({audit("a", 1), audit("b", 2)}));
  ASSERT_TRUE(two);
  EXPECT_EQ(two.value().audit_seqs, (std::vector<std::int64_t>{1, 2}));
  append(3);
  auto range = store_->audit_range(0, 1'000'000, 100);
  ASSERT_TRUE(range);
  const std::vector<AuditEntry>& entries = range.value();
  ASSERT_EQ(entries.size(), 5U);
  std::string prev = kZeros;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const AuditEntry& e = entries[i];
    EXPECT_EQ(e.seq, static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(e.prev_hash, prev);
    EXPECT_EQ(e.hash, audit_chain_hash(prev, e));
    prev = e.hash;
  }
  const AuditVerifyResult r = verify();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 5);
  EXPECT_EQ(r.first_bad_seq, 0);
}

TEST_F(AuditStoreTest, EditedRowIsDetected) {
  append(5);
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_update"), SQLITE_OK);
    ASSERT_EQ(raw.exec("UPDATE audit SET detail = 'nothing to see' WHERE seq = 3"), SQLITE_OK);
  }
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.entries, 5);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(AuditStoreTest, EditedRowWithRecomputedHashIsDetectedAtTheNextRow) {
  append(5);
  auto entries = store_->audit_range(0, 1'000'000, 100);
  ASSERT_TRUE(entries);
  AuditEntry forged = entries.value()[1];
  forged.detail = "forged";
  const std::string forged_hash = audit_chain_hash(forged.prev_hash, forged);
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_update"), SQLITE_OK);
    ASSERT_EQ(
        raw.exec("UPDATE audit SET detail = 'forged', hash = '" + forged_hash + "' WHERE seq = 2"),
        SQLITE_OK);
  }
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
}

TEST_F(AuditStoreTest, DeletedRowIsDetected) {
  append(5);
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_delete"), SQLITE_OK);
    ASSERT_EQ(raw.exec("DELETE FROM audit WHERE seq = 2"), SQLITE_OK);
  }
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.entries, 4);
  EXPECT_EQ(r.first_bad_seq, 2);
}

TEST_F(AuditStoreTest, TruncatedTailIsDetected) {
  append(5);
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_delete"), SQLITE_OK);
    ASSERT_EQ(raw.exec("DELETE FROM audit WHERE seq >= 4"), SQLITE_OK);
  }
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.entries, 3);
  EXPECT_EQ(r.first_bad_seq, 4);
}

TEST_F(AuditStoreTest, TamperingSurvivesReopenAndLaterAppends) {
  append(4);
  store_->close();
  {
    RawDb raw(db_file());
    ASSERT_EQ(raw.exec("DROP TRIGGER audit_no_update"), SQLITE_OK);
    ASSERT_EQ(raw.exec("UPDATE audit SET outcome = 'denied' WHERE seq = 2"), SQLITE_OK);
  }
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  append(2);
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.entries, 6);
  EXPECT_EQ(r.first_bad_seq, 2);
}

TEST_F(AuditStoreTest, ChainContinuesAcrossReopen) {
  append(3);
  store_->close();
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  auto more = commit_and_wait(*store_, tx({audit("after.reopen", 5000)}));
  ASSERT_TRUE(more);
  EXPECT_EQ(more.value().audit_seqs, std::vector<std::int64_t>{4});
  auto entries = store_->audit_range(0, 1'000'000, 100);
  ASSERT_TRUE(entries);
  ASSERT_EQ(entries.value().size(), 4U);
  EXPECT_EQ(entries.value()[3].prev_hash, entries.value()[2].hash);
  const AuditVerifyResult r = verify();
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.entries, 4);
}

TEST_F(AuditStoreTest, TamperWithTheSqliteCli) {
  if (std::system("command -v sqlite3 >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "sqlite3 CLI not installed";
  }
  append(3);
  store_->close();
  const std::string cmd = "sqlite3 '" + db_file() +
                          "' \"DROP TRIGGER audit_no_update; UPDATE audit SET actor_id = 'x' "
                          "WHERE seq = 1;\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  store_ = open_or_fail(options_in(dir_));
  ASSERT_NE(store_, nullptr);
  const AuditVerifyResult r = verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 1);
}

}  // namespace
}  // namespace oshin::storage::testing
