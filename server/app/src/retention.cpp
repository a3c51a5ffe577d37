#include "oshin/app/retention.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <future>
#include <memory>
#include <optional>
#include <utility>

#include "oshin/app/account_service.hpp"
#include "oshin/app/audit.hpp"
#include "oshin/app/idempotency.hpp"
#include "oshin/app/records.hpp"
#include "oshin/delivery/webhook_outbox.hpp"
#include "oshin/v1/internal.pb.h"

namespace oshin::app {

void log_sweep(const RetentionSweep& swept) {
  if (swept.idempotency + swept.webhook_deliveries + swept.sessions > 0) {
    spdlog::info(
        "retention: erased {} idempotency record(s), {} delivered webhook record(s), {} expired "
        "session(s)",
        swept.idempotency, swept.webhook_deliveries, swept.sessions);
  }
}

std::vector<std::string> expired_idempotency_ids(const std::vector<storage::Record>& records,
                                                 SystemTime cutoff) {
  const std::int64_t cutoff_ms = to_unix_ms(cutoff);
  std::vector<std::string> out;
  for (const storage::Record& r : records) {
    if (r.updated_at_ms < cutoff_ms) {
      out.push_back(r.id);
    }
  }
  return out;
}

namespace {

// Ids of the records of `Stored` messages whose `time_of` (nullopt: keep) is before `cutoff`.
// A record that does not parse is kept, for a person to look at.
template <class Stored, class TimeOf>
std::vector<std::string> ids_before(const std::vector<storage::Record>& records, SystemTime cutoff,
                                    TimeOf time_of) {
  std::vector<std::string> out;
  for (const storage::Record& r : records) {
    Stored stored;
    if (!stored.ParseFromString(r.body)) {
      continue;
    }
    if (const std::optional<SystemTime> at = time_of(stored); at && *at < cutoff) {
      out.push_back(r.id);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> expired_webhook_ids(const std::vector<storage::Record>& records,
                                             SystemTime cutoff) {
  return ids_before<v1::WebhookDelivery>(
      records, cutoff, [](const v1::WebhookDelivery& d) -> std::optional<SystemTime> {
        if (!d.has_delivered_at()) {
          return std::nullopt;  // still being retried
        }
        return from_timestamp(d.delivered_at());
      });
}

std::vector<std::string> expired_session_ids(const std::vector<storage::Record>& records,
                                             SystemTime now) {
  return ids_before<v1::StoredSession>(records, now,
                                       [](const v1::StoredSession& s) -> std::optional<SystemTime> {
                                         if (!s.has_expires_at()) {
                                           return std::nullopt;
                                         }
                                         return from_timestamp(s.expires_at());
                                       });
}

RetentionSweeper::RetentionSweeper(storage::Store& store, const Clock& clock,
                                   boost::asio::any_io_executor timer,
                                   boost::asio::any_io_executor work, RetentionOptions options)
    : store_(store),
      clock_(clock),
      strand_(boost::asio::make_strand(std::move(timer))),
      work_(std::move(work)),
      options_(options),
      timer_(strand_) {}

Result<RetentionSweep> RetentionSweeper::sweep_once() {
  const SystemTime now = clock_.now();
  RetentionSweep swept;
  auto erased = sweep_kind(std::string(kIdempotencyKind), [&](const auto& records) {
    return expired_idempotency_ids(records, now - options_.idempotency);
  });
  if (!erased) {
    return erased.error();
  }
  swept.idempotency = *erased;
  erased = sweep_kind(std::string(delivery::kWebhookDeliveryKind), [&](const auto& records) {
    return expired_webhook_ids(records, now - options_.delivered_webhooks);
  });
  if (!erased) {
    return erased.error();
  }
  swept.webhook_deliveries = *erased;
  erased = sweep_kind(std::string(kSessionKind),
                      [&](const auto& records) { return expired_session_ids(records, now); });
  if (!erased) {
    return erased.error();
  }
  swept.sessions = *erased;
  return swept;
}

Result<std::size_t> RetentionSweeper::sweep_kind(
    const std::string& kind,
    const std::function<std::vector<std::string>(const std::vector<storage::Record>&)>& expired) {
  std::vector<std::string> ids;
  {
    auto records = store_.list(kind);
    if (!records) {
      return records.error();
    }
    ids = expired(*records);
  }  // the records (bodies included) go before the erasures start
  return erase(kind, ids);
}

Result<std::size_t> RetentionSweeper::erase(const std::string& kind,
                                            const std::vector<std::string>& ids) {
  const std::size_t batch = std::max<std::size_t>(options_.batch, 1);
  std::size_t erased = 0;
  for (std::size_t first = 0; first < ids.size(); first += batch) {
    const std::size_t last = std::min(ids.size(), first + batch);
    storage::Transaction tx;
    for (std::size_t i = first; i < last; ++i) {
      tx.mutations.emplace_back(storage::EraseRecord{kind, ids[i]});
    }
    // The erasure and its audit entry commit together; the actor is not a person: no role.
    const AuditContext who{"system", "", "retention", clock_.now()};
    tx.mutations.emplace_back(
        audit_entry(who, "retention.erase", "ok", kind + " " + std::to_string(last - first)));
    // Shared: the handler may still be inside set_value when get() returns here.
    auto committed = std::make_shared<std::promise<Result<storage::CommitResult>>>();
    auto done = committed->get_future();
    store_.commit(std::move(tx), [committed](Result<storage::CommitResult> r) {
      committed->set_value(std::move(r));
    });
    if (Result<storage::CommitResult> r = done.get(); !r) {
      return r.error();
    }
    erased += last - first;
  }
  return erased;
}

void RetentionSweeper::start() {
  boost::asio::post(strand_, [this] { arm(std::chrono::milliseconds(0)); });
}

void RetentionSweeper::stop() {
  stopped_.store(true);
  boost::asio::post(strand_, [this] { timer_.cancel(); });
}

void RetentionSweeper::arm(std::chrono::milliseconds delay) {
  if (stopped_.load()) {
    return;
  }
  timer_.expires_after(delay);
  timer_.async_wait([this](boost::system::error_code ec) { on_timer(ec); });
}

void RetentionSweeper::on_timer(boost::system::error_code ec) {
  if (ec || stopped_.load()) {
    return;
  }
  // The sweep reads and waits for commits: on the work pool, never on an I/O thread.
  // `tracked` keeps the timer's context running while the sweep is away, until it re-arms.
  boost::asio::post(work_, [this, tracked = boost::asio::prefer(
                                      strand_, boost::asio::execution::outstanding_work.tracked)] {
    if (!stopped_.load()) {
      if (Result<RetentionSweep> swept = sweep_once(); !swept) {
        spdlog::error("retention sweep failed: {}", swept.error().message());
      } else {
        log_sweep(*swept);
        if (options_.on_swept) {
          options_.on_swept(*swept);
        }
      }
    }
    boost::asio::post(tracked, [this] { arm(options_.interval); });
  });
}

}  // namespace oshin::app
