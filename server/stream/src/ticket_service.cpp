#include "oshin/stream/ticket_service.hpp"

#include <google/protobuf/util/time_util.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <array>
#include <exception>

namespace oshin::stream {
namespace {

using google::protobuf::util::TimeUtil;

constexpr std::size_t kTicketBytes = 32;      // 256 random bits
constexpr std::size_t kMaxTicketChars = 128;  // anything longer is not one of ours
constexpr std::size_t kMaxErasePerIssue = 64;

std::string base64url(const unsigned char* data, std::size_t size) {
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((size * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    unsigned v = (unsigned{data[i]} << 16U) | (unsigned{data[i + 1]} << 8U) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 6U) & 0x3FU]);
    out.push_back(kAlphabet[v & 0x3FU]);
  }
  if (size - i == 1) {
    unsigned v = unsigned{data[i]} << 16U;
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
  } else if (size - i == 2) {
    unsigned v = (unsigned{data[i]} << 16U) | (unsigned{data[i + 1]} << 8U);
    out.push_back(kAlphabet[(v >> 18U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 12U) & 0x3FU]);
    out.push_back(kAlphabet[(v >> 6U) & 0x3FU]);
  }
  return out;
}

// A fresh ticket, or nullopt when the system has no randomness to give.
std::optional<std::string> random_ticket() {
  std::array<unsigned char, kTicketBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return std::nullopt;
  }
  return base64url(bytes.data(), bytes.size());
}

// Lowercase hex SHA-256, the form tickets are stored and looked up in.
std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &length, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{length} * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[md[i] >> 4U]);
    out.push_back(kHex[md[i] & 0xFU]);
  }
  return out;
}

google::protobuf::Timestamp timestamp(SystemTime t) {
  return TimeUtil::MillisecondsToTimestamp(to_unix_ms(t));
}

SystemTime system_time(const google::protobuf::Timestamp& ts) {
  return from_unix_ms(TimeUtil::TimestampToMilliseconds(ts));
}

storage::Mutation put_ticket(const v1::StoredStreamTicket& stored, SystemTime now,
                             bool must_not_exist) {
  storage::PutRecord put;
  put.record.kind = std::string(kStreamTicketKind);
  put.record.id = stored.ticket_hash();
  put.record.body = stored.SerializeAsString();
  put.record.updated_at_ms = to_unix_ms(now);
  put.must_not_exist = must_not_exist;
  return put;
}

}  // namespace

TicketService::TicketService(storage::Store& store, const Clock& clock, TicketOptions options)
    : store_(store), clock_(clock), options_(options) {}

Result<void> TicketService::load() {
  auto records = store_.list(std::string(kStreamTicketKind));
  if (!records) {
    return records.error();
  }
  const SystemTime now = clock_.now();
  std::lock_guard lock(mutex_);
  for (const storage::Record& record : *records) {
    v1::StoredStreamTicket stored;
    if (!stored.ParseFromString(record.body) || stored.ticket_hash() != record.id) {
      spdlog::warn("stream tickets: unreadable record {} dropped", record.id);
      stale_.push_back(record.id);
      continue;
    }
    SystemTime expires_at = system_time(stored.expires_at());
    if (now >= expires_at) {
      stale_.push_back(record.id);
      continue;
    }
    live_[record.id] = Live{stored, expires_at};
    by_expiry_.emplace(expires_at, record.id);
    if (!stored.used()) {
      ++live_per_user_[stored.user_id()];
    }
  }
  return {};
}

void TicketService::prune_expired_locked(SystemTime now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    auto node = by_expiry_.extract(by_expiry_.begin());
    auto it = live_.find(node.value().second);
    if (it != live_.end()) {
      if (!it->second.stored.used()) {
        release_user_slot_locked(it->second.stored.user_id());
      }
      live_.erase(it);
    }
    stale_.push_back(std::move(node.value().second));
  }
}

void TicketService::release_user_slot_locked(const std::string& user_id) {
  auto it = live_per_user_.find(user_id);
  if (it == live_per_user_.end()) {
    return;
  }
  if (--it->second == 0) {
    live_per_user_.erase(it);
  }
}

void TicketService::issue(const Principal& who, IssueDone done) {
  std::optional<std::string> ticket = random_ticket();
  if (!ticket) {
    spdlog::error("stream tickets: no randomness available");
    return done(Errc::internal);
  }
  const SystemTime now = clock_.now();
  const SystemTime expires_at = now + options_.ttl;

  v1::StoredStreamTicket stored;
  stored.set_ticket_hash(sha256_hex(*ticket));
  stored.set_user_id(who.user_id);
  stored.set_session_token_hash(who.token_hash);
  *stored.mutable_created_at() = timestamp(now);
  *stored.mutable_expires_at() = timestamp(expires_at);
  if (stored.ticket_hash().empty()) {
    return done(Errc::internal);
  }

  storage::Transaction tx;
  tx.mutations.push_back(put_ticket(stored, now, true));
  std::vector<std::string> erased;
  bool limited = false;
  {
    std::lock_guard lock(mutex_);
    prune_expired_locked(now);
    std::size_t& live_count = live_per_user_[who.user_id];
    if (live_count >= options_.max_live_per_user) {
      limited = true;
    } else {
      // Reserved now, so that concurrent requests cannot exceed the limit.
      ++live_count;
      // Expired records ride along with this write, a bounded number at a time.
      while (!stale_.empty() && erased.size() < kMaxErasePerIssue) {
        erased.push_back(std::move(stale_.back()));
        stale_.pop_back();
      }
    }
  }
  if (limited) {
    return done(Errc::rate_limited);
  }
  for (const std::string& id : erased) {
    tx.mutations.emplace_back(storage::EraseRecord{std::string(kStreamTicketKind), id});
  }

  v1::StreamTicket answer;
  answer.set_ticket(std::move(*ticket));
  *answer.mutable_expires_at() = stored.expires_at();

  store_.commit(std::move(tx), [this, stored = std::move(stored), expires_at,
                                erased = std::move(erased), answer = std::move(answer),
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    try {
      {
        std::lock_guard lock(mutex_);
        if (!r) {
          release_user_slot_locked(stored.user_id());
          stale_.insert(stale_.end(), erased.begin(), erased.end());
        } else {
          by_expiry_.emplace(expires_at, stored.ticket_hash());
          std::string id = stored.ticket_hash();
          live_[id] = Live{std::move(stored), expires_at};
        }
      }
      if (!r) {
        return done(r.error());
      }
      done(std::move(answer));
    } catch (const std::exception& e) {
      // On the store's completion thread: nothing may escape.
      spdlog::error("stream tickets: issue completion failed: {}", e.what());
    }
  });
}

void TicketService::redeem(std::string_view ticket, RedeemDone done) {
  if (ticket.empty() || ticket.size() > kMaxTicketChars) {
    return done(std::nullopt);
  }
  const std::string hash = sha256_hex(ticket);
  const SystemTime now = clock_.now();
  v1::StoredStreamTicket used;
  {
    std::lock_guard lock(mutex_);
    auto it = live_.find(hash);
    if (it == live_.end() || it->second.stored.used() || now >= it->second.expires_at) {
      return done(std::nullopt);
    }
    // Marked in memory first: a concurrent redeem of the same ticket fails from here on, even if
    // the durable write below fails (fail closed).
    it->second.stored.set_used(true);
    release_user_slot_locked(it->second.stored.user_id());
    used = it->second.stored;
  }
  storage::Transaction tx;
  tx.mutations.push_back(put_ticket(used, now, false));
  store_.commit(std::move(tx), [user_id = used.user_id(),
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    try {
      if (!r) {
        spdlog::warn("stream tickets: marking a ticket used failed: {}", r.error().message());
        return done(std::nullopt);
      }
      done(std::move(user_id));
    } catch (const std::exception& e) {
      // On the store's completion thread: nothing may escape.
      spdlog::error("stream tickets: redeem completion failed: {}", e.what());
    }
  });
}

}  // namespace oshin::stream
