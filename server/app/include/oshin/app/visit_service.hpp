#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "oshin/app/account_service.hpp"
#include "oshin/app/audit.hpp"
#include "oshin/app/patient_service.hpp"
#include "oshin/common/metrics.hpp"
#include "oshin/dispatcher/dispatcher.hpp"
#include "oshin/stream/stream_hub.hpp"
#include "oshin/v1/config.pb.h"
#include "oshin/v1/core_log.pb.h"
#include "oshin/v1/inbox.pb.h"
#include "oshin/v1/offers.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/teams.pb.h"
#include "oshin/v1/visits.pb.h"

namespace oshin::delivery {
class WebhookOutbox;
}

namespace oshin::app {

/// The travel model's parameters from the config (the dispatcher's defaults where unset). The
/// scheduling core and the payroll report's return legs use the same ones.
dispatcher::TravelParams travel_params(const v1::ServerConfig& config);

/// Filters of GET /v1/visits.
struct VisitFilter {
  std::optional<v1::Visit::Status> status;
  std::optional<SystemTime> from;
  std::optional<SystemTime> to;
  std::optional<std::string> patient_id;
};

/// Progress steps of the assigned team.
enum class Step { depart, arrive, complete };

/// Teams, visits, offers, progress, summaries and their delivery: everything that moves a house
/// call through the night. The scheduling core (dispatcher::Dispatcher) runs on this service's
/// strand; every input it gets is appended to a durable core log in the same transaction as its
/// consequences, so a restart (or a failed commit) rebuilds the core by replaying the log.
///
/// Thread-safety: public methods may be called from any thread. Mutations run on the strand;
/// reads use the committed view (never state that is not yet durable). Completions run on the
/// store's completion thread or the strand and must only respond or post.
class VisitService {
 public:
  template <class T>
  using Done = AccountService::Done<T>;

  VisitService(boost::asio::io_context& ioc, storage::Store& store, const Clock& clock,
               AccountService& accounts, PatientService& patients, stream::StreamHub& hub,
               delivery::WebhookOutbox* webhooks, ServerMetrics& metrics, v1::ServerConfig config);
  ~VisitService();
  VisitService(const VisitService&) = delete;
  VisitService& operator=(const VisitService&) = delete;

  /// Loads records, replays the core log and brings every team record into the core.
  /// Call once before serving, before the io_context runs.
  Result<void> load();
  /// Arms the core's timers and the acknowledgement deadlines.
  void start();
  /// Cancels timers (shutdown).
  void stop();

  // Teams (STAFF creates; doctor/driver update their location).
  void create_team(const Principal& who, v1::CreateTeamRequest req, std::string request_id,
                   Decorate decorate, Done<v1::Team> done);
  v1::TeamList list_teams(const Principal& who) const;
  void update_location(const Principal& who, std::string team_id, v1::LocationUpdate req,
                       std::string request_id, Done<void> done);

  // Visits.
  void create_visit(const Principal& who, v1::CreateVisitRequest req, std::string request_id,
                    Decorate decorate, Done<v1::Visit> done);
  void get_visit(const Principal& who, std::string id, std::string request_id,
                 Done<v1::Visit> done);
  void list_visits(const Principal& who, VisitFilter filter, std::string request_id,
                   Done<v1::VisitList> done);
  void cancel_visit(const Principal& who, std::string id, v1::CancelVisitRequest req,
                    std::string request_id, Done<v1::Visit> done);

  // Offers.
  v1::OfferList list_offers(const Principal& who) const;
  void accept_offer(const Principal& who, std::string offer_id, std::string request_id,
                    Done<v1::Visit> done);
  void decline_offer(const Principal& who, std::string offer_id, v1::DeclineOfferRequest req,
                     std::string request_id, Done<void> done);

  // Progress.
  void progress(const Principal& who, std::string visit_id, Step step, std::string request_id,
                Done<v1::Visit> done);

  // Summary, inbox, FHIR.
  void post_summary(const Principal& who, std::string visit_id, v1::CreateSummaryRequest req,
                    std::string request_id, Decorate decorate, Done<v1::VisitSummary> done);
  void inbox(const Principal& who, bool unacknowledged_only, std::string request_id,
             Done<v1::InboxList> done);
  void ack(const Principal& who, std::string item_id, std::string request_id, Done<void> done);
  /// STAFF (the route checks the role): every summary item whose acknowledgement deadline has
  /// passed unacknowledged (escalated or about to be), oldest deadline first, whoever its
  /// recipient is, so that the center can follow up. Each listed item is audited
  /// (`inbox.overdue.read`); listing does not mark anything delivered.
  void overdue_inbox(const Principal& who, std::string request_id, Done<v1::InboxList> done);
  void fhir(const Principal& who, std::string visit_id, std::string request_id,
            Done<std::string> done);

  /// PatientService's DOCTOR/DRIVER rule: the caller's team holds an active visit for it.
  bool team_reach(const Principal& who, const std::string& patient_id) const;
  /// Whether the caller may see a visit (API.md: same reach as patients; DOCTOR/DRIVER their
  /// team's visits).
  bool can_see_visit(const Principal& who, const v1::Visit& visit) const;

  /// A webhook delivery reached its receiver (called by the outbox).
  void on_webhook_delivered(const std::string& inbox_item_id);

 private:
  struct State;
  struct Change;
  /// A committed or pending visit. Immutable once made: the working state, a Change and the
  /// committed view share one copy; a mutation makes a new one (copy-on-write), so readers of the
  /// view never see the strand's uncommitted edits.
  using VisitPtr = std::shared_ptr<const v1::Visit>;

  void commit(std::unique_ptr<Change> change, std::function<void(Result<void>)> then);
  /// The audit entry of reading inbox item `id` (with its visit's patient when known). Strand,
  /// with the view lock held.
  storage::AppendAudit item_read_entry(const AuditContext& ctx, std::string action,
                                       const std::string& id, const v1::InboxItem& item) const;
  /// Inbox reads: answers `out` once `change` (audit entries, delivery marks) is durable, at
  /// once when it holds nothing. Strand.
  void answer_when_durable(std::unique_ptr<Change> change, v1::InboxList out,
                           Done<v1::InboxList> done);
  void apply_committed(const Change& change);
  void rebuild_after_failure();
  Result<void> replay_core_log(State& state);
  dispatcher::Outcome apply_core(State& state, const v1::CoreEvent& event, bool replaying);
  void absorb(const dispatcher::Outcome& outcome, SystemTime now, Change& change);
  void sync_team_statuses(SystemTime now, Change& change);
  /// Strand only: stores `visit` (with `status`, recorded in its history when it changes) as the
  /// working state's new version, adds it to `change` and its visitUpdated event. Returns it.
  VisitPtr touch_visit(v1::Visit visit, v1::Visit::Status status, SystemTime now, Change& change);
  void visit_updated_event(const v1::Visit& visit, SystemTime now, Change& change);
  std::vector<std::string> team_members(const std::string& team_id) const;
  std::vector<std::string> teams_of(const std::string& user_id) const;  // working state
  void arm_core_timer();
  void on_core_timer();
  void arm_ack_timer();
  void on_ack_timer();
  void run_core_event(v1::CoreEvent event, std::unique_ptr<Change> change,
                      std::function<void(Result<void>)> then);
  Failure refusal(Errc code, const std::string& visit_id) const;
  Result<bool> within_service_hours(SystemTime t) const;
  void recompute_billing(v1::VisitSummary& summary, const v1::Visit& visit) const;
  SystemTime ack_due(SystemTime posted) const;
  bool is_recipient(const Principal& who, const v1::InboxItem& item) const;
  void add_webhooks(storage::Transaction& tx, Change& change);
  void start_webhooks(Change& change);

  boost::asio::io_context& ioc_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  storage::Store& store_;
  const Clock& clock_;
  AccountService& accounts_;
  PatientService& patients_;
  stream::StreamHub& hub_;
  delivery::WebhookOutbox* webhooks_;
  ServerMetrics& metrics_;
  v1::ServerConfig config_;

  std::unique_ptr<State> work_;  ///< strand only: the core and state including uncommitted changes
  mutable std::shared_mutex view_mutex_;
  std::unique_ptr<State> view_;  ///< committed state, for reads
  boost::asio::steady_timer core_timer_;
  boost::asio::steady_timer ack_timer_;
  bool stopped_ = false;

 public:
  /// What the clinic operations reports read (ReportService): committed visits and teams, and
  /// each completed visit's billing.
  struct ReportView {
    std::vector<v1::Visit> visits;  ///< requested in [from, to), ascending by id
    std::vector<v1::Team> teams;    ///< every team
    /// By visit id, completed visits only: the summary's billing, or (no summary yet) the billing
    /// a summary without a death certificate would get.
    std::map<std::string, v1::Billing> billing;
  };
  /// A copy of the committed view for [from, to) (request time). Any thread.
  ReportView report_view(SystemTime from, SystemTime to) const;
};

}  // namespace oshin::app
