#include "oshin/app/report_service.hpp"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <set>

#include "oshin/app/audit.hpp"
#include "oshin/app/records.hpp"
#include "oshin/billing/time_band.hpp"
#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::app {
namespace reports {
namespace {

using google::protobuf::util::TimeUtil;

constexpr auto kUtcOffset = std::chrono::minutes(billing::kTokyoUtcOffsetMinutes);

double minutes_between(SystemTime a, SystemTime b) {
  return std::chrono::duration<double, std::ratio<60>>(b - a).count();
}

bool in_range(const v1::Visit& visit, SystemTime from, SystemTime to) {
  const auto created = from_timestamp(visit.created_at());
  return created >= from && created < to;
}

/// Shortest text that reads back as the same double.
std::string number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  if (ec != std::errc()) {
    return "0";
  }
  return std::string(buf, end);
}

std::string time_text(const google::protobuf::Timestamp& t) {
  return TimeUtil::ToString(t);
}

}  // namespace

double target_minutes(v1::Urgency urgency) {
  return urgency == v1::SOON ? 180.0 : 60.0;
}

double nearest_rank(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto n = static_cast<double>(sorted.size());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * n));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

std::string csv_field(std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    return std::string(value);
  }
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) {
      out += ',';
    }
    out += csv_field(fields[i]);
  }
  out += "\r\n";
  return out;
}

std::string local_month(SystemTime t) {
  const auto local = std::chrono::floor<std::chrono::days>(t + kUtcOffset);
  const std::chrono::year_month_day ymd{local};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()));
  return buf;
}

std::optional<SystemTime> reached(const v1::Visit& visit, v1::Visit::Status status) {
  for (const auto& h : visit.history()) {
    if (h.status() == status) {
      return from_timestamp(h.at());
    }
  }
  return std::nullopt;
}

v1::DemandReport demand(const std::vector<v1::Visit>& visits, SystemTime from, SystemTime to) {
  v1::DemandReport out;
  auto& by_urgency = *out.mutable_by_urgency();
  auto& by_reason = *out.mutable_by_reason();
  auto& refusals = *out.mutable_refusals();
  // Every known name is present, zero or not, so a client never has to guess.
  for (auto u : {v1::URGENT, v1::SOON}) {
    by_urgency[v1::Urgency_Name(u)] = 0;
  }
  for (int r = v1::VisitReason_MIN; r <= v1::VisitReason_MAX; ++r) {
    if (r != 0 && v1::VisitReason_IsValid(r)) {
      by_reason[v1::VisitReason_Name(static_cast<v1::VisitReason>(r))] = 0;
    }
  }
  for (const char* code :
       {"CALL_EMERGENCY_SERVICES", "OUT_OF_SERVICE_AREA", "OUTSIDE_SERVICE_HOURS"}) {
    refusals[code] = 0;
  }
  std::array<std::array<std::int32_t, 24>, 7> grid{};
  std::map<v1::Urgency, std::vector<double>> response;
  for (const auto& v : visits) {
    if (!in_range(v, from, to)) {
      continue;
    }
    out.set_total(out.total() + 1);
    by_urgency[v1::Urgency_Name(v.urgency())] += 1;
    by_reason[v1::VisitReason_Name(v.reason())] += 1;
    if (v.status() == v1::Visit::REJECTED && v.has_rejection_code()) {
      refusals[v.rejection_code()] += 1;
    }
    const auto local = from_timestamp(v.created_at()) + kUtcOffset;
    const auto day = std::chrono::floor<std::chrono::days>(local);
    const auto hour = std::chrono::floor<std::chrono::hours>(local - day).count();
    // 1970-01-01 was a Thursday (weekday 3 when Monday is 0).
    const auto weekday = ((day.time_since_epoch().count() + 3) % 7 + 7) % 7;
    grid[static_cast<std::size_t>(weekday)][static_cast<std::size_t>(hour)] += 1;
    if (auto arrived = reached(v, v1::Visit::ON_SITE)) {
      response[v.urgency()].push_back(minutes_between(from_timestamp(v.created_at()), *arrived));
    }
  }
  for (std::size_t d = 0; d < grid.size(); ++d) {
    auto* row = out.add_by_weekday_hour();
    row->set_weekday(static_cast<std::int32_t>(d));
    for (auto n : grid[d]) {
      row->add_hours(n);
    }
  }
  for (auto u : {v1::URGENT, v1::SOON}) {
    auto& list = response[u];
    std::sort(list.begin(), list.end());
    v1::ResponseStats stats;
    stats.set_count(static_cast<std::int32_t>(list.size()));
    if (!list.empty()) {
      stats.set_p50(nearest_rank(list, 50));
      stats.set_p90(nearest_rank(list, 90));
      stats.set_max(list.back());
      const auto target = target_minutes(u);
      const auto within =
          std::count_if(list.begin(), list.end(), [target](double m) { return m <= target; });
      stats.set_within_target(static_cast<double>(within) / static_cast<double>(list.size()));
    }
    (*out.mutable_response_minutes())[v1::Urgency_Name(u)] = stats;
  }
  return out;
}

v1::BillingReport billing(const std::vector<v1::Visit>& visits,
                          const std::map<std::string, v1::Billing>& bills, SystemTime from,
                          SystemTime to) {
  struct Row {
    SystemTime started;
    v1::BillingReportVisit visit;
  };
  std::vector<Row> rows;
  std::set<std::string> tables;
  for (const auto& v : visits) {
    if (!in_range(v, from, to) || v.status() != v1::Visit::COMPLETED) {
      continue;
    }
    auto started = reached(v, v1::Visit::ON_SITE);
    auto bill = bills.find(v.id());
    if (!started || bill == bills.end()) {
      continue;
    }
    v1::BillingReportVisit r;
    r.set_visit_id(v.id());
    r.set_patient_id(v.patient_id());
    *r.mutable_started_at() = TimeUtil::MillisecondsToTimestamp(to_unix_ms(*started));
    r.set_time_band(bill->second.time_band());
    r.set_time_band_reason(bill->second.time_band_reason());
    *r.mutable_items() = bill->second.items();
    r.set_total_points(bill->second.total_points());
    if (!bill->second.fee_table().empty()) {
      tables.insert(bill->second.fee_table());
    }
    rows.push_back(Row{*started, std::move(r)});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.started < b.started; });
  v1::BillingReport out;
  std::map<std::string, v1::BillingMonth> months;
  for (auto& row : rows) {
    out.set_total_points(out.total_points() + row.visit.total_points());
    auto& m = months[local_month(row.started)];
    m.set_total_points(m.total_points() + row.visit.total_points());
    m.set_visits(m.visits() + 1);
    *out.add_visits() = std::move(row.visit);
  }
  for (auto& [name, m] : months) {
    m.set_month(name);
    *out.add_months() = std::move(m);
  }
  std::string names;
  for (const auto& t : tables) {
    names += names.empty() ? t : "; " + t;
  }
  out.set_fee_table(names);
  return out;
}

v1::PayrollReport payroll(const std::vector<v1::Visit>& visits, const std::vector<v1::Team>& teams,
                          SystemTime from, SystemTime to, const ReturnLeg& return_leg,
                          const DisplayName& display_name, PayRates rates) {
  std::map<std::string, const v1::Team*> team_by_id;
  for (const auto& t : teams) {
    team_by_id[t.id()] = &t;
  }
  // Each team's last completed visit (a team is one shift), among every visit given.
  std::map<std::string, const v1::Visit*> last_of_team;
  for (const auto& v : visits) {
    auto done = reached(v, v1::Visit::COMPLETED);
    if (v.status() != v1::Visit::COMPLETED || !done || !v.has_team_id()) {
      continue;
    }
    auto& last = last_of_team[v.team_id()];
    if (last == nullptr || *reached(*last, v1::Visit::COMPLETED) < *done) {
      last = &v;
    }
  }
  struct Person {
    v1::Role role = v1::ROLE_UNSPECIFIED;
    std::int32_t visits = 0;
    double minutes = 0;
    std::map<std::string, double> by_month;
  };
  std::map<std::string, Person> people;
  for (const auto& v : visits) {
    if (!in_range(v, from, to) || v.status() != v1::Visit::COMPLETED || !v.has_team_id()) {
      continue;
    }
    auto team = team_by_id.find(v.team_id());
    auto accepted = reached(v, v1::Visit::ASSIGNED);
    auto completed = reached(v, v1::Visit::COMPLETED);
    if (team == team_by_id.end() || !accepted || !completed) {
      continue;
    }
    double minutes = std::max(0.0, minutes_between(*accepted, *completed));
    if (last_of_team[v.team_id()] == &v && return_leg) {
      if (auto leg = return_leg(v, *team->second)) {
        minutes += std::chrono::duration<double, std::ratio<60>>(*leg).count();
      }
    }
    const auto month = local_month(*accepted);
    for (auto [id, role] : {std::pair{team->second->doctor_id(), v1::DOCTOR},
                            std::pair{team->second->driver_id(), v1::DRIVER}}) {
      if (id.empty()) {
        continue;
      }
      auto& p = people[id];
      p.role = role;
      p.visits += 1;
      p.minutes += minutes;
      p.by_month[month] += minutes;
    }
  }
  std::vector<std::pair<std::string, Person>> sorted(people.begin(), people.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second.role != b.second.role ? a.second.role == v1::DOCTOR : a.first < b.first;
  });
  v1::PayrollReport out;
  for (const auto& [id, p] : sorted) {
    auto* e = out.add_people();
    e->set_user_id(id);
    e->set_role(p.role);
    e->set_visits(p.visits);
    e->set_worked_minutes(p.minutes);
    const double rate = p.role == v1::DOCTOR ? rates.doctor_hourly_yen : rates.driver_hourly_yen;
    e->set_pay(p.minutes / 60.0 * rate);
    e->set_over_monthly_cap(std::any_of(p.by_month.begin(), p.by_month.end(), [](const auto& m) {
      return m.second > kMonthlyCapMinutes;
    }));
    if (display_name) {
      e->set_display_name(display_name(id));
    }
  }
  return out;
}

std::string billing_csv(const v1::BillingReport& report) {
  std::string out(kBom);
  out += csv_row({"visitId", "patientId", "startedAt", "timeBand", "timeBandReason", "items",
                  "totalPoints", "month"});
  for (const auto& v : report.visits()) {
    std::string items;
    for (const auto& i : v.items()) {
      if (!items.empty()) {
        items += "; ";
      }
      items += i.code() + " " + i.name() + " " + std::to_string(i.points());
    }
    out += csv_row({v.visit_id(), v.patient_id(), time_text(v.started_at()),
                    v1::TimeBand_Name(v.time_band()), v.time_band_reason(), items,
                    std::to_string(v.total_points()), local_month(from_timestamp(v.started_at()))});
  }
  return out;
}

std::string payroll_csv(const v1::PayrollReport& report) {
  std::string out(kBom);
  out += csv_row(
      {"userId", "displayName", "role", "visits", "workedMinutes", "pay", "overMonthlyCap"});
  for (const auto& p : report.people()) {
    out += csv_row({p.user_id(), p.display_name(), v1::Role_Name(p.role()),
                    std::to_string(p.visits()), number(p.worked_minutes()), number(p.pay()),
                    p.over_monthly_cap() ? "true" : "false"});
  }
  return out;
}

}  // namespace reports

namespace {

namespace dp = oshin::dispatcher;

/// The dispatcher's travel model with the configured parameters (same as VisitService's core).
std::shared_ptr<const dp::TravelModel> travel_model(const v1::ServerConfig& config) {
  return std::make_shared<dp::HaversineTravelModel>(travel_params(config));
}

/// Later visits decide which visit was a team's last; shifts last at most 48 hours.
constexpr auto kShiftHorizon = std::chrono::hours(48);

}  // namespace

ReportService::ReportService(storage::Store& store, const Clock& clock, VisitService& visits,
                             PatientService& patients, AccountService& accounts,
                             boost::asio::any_io_executor work, v1::ServerConfig config)
    : store_(store),
      clock_(clock),
      visits_(visits),
      patients_(patients),
      accounts_(accounts),
      work_(std::move(work)),
      config_(std::move(config)) {}

void ReportService::demand(const Principal&, SystemTime from, SystemTime to, std::string,
                           Done<v1::DemandReport> done) {
  boost::asio::post(work_, [this, from, to, done = std::move(done)] {
    auto view = visits_.report_view(from, to);
    done(reports::demand(view.visits, from, to));
  });
}

void ReportService::billing(const Principal& who, SystemTime from, SystemTime to,
                            std::string request_id, Done<v1::BillingReport> done) {
  boost::asio::post(work_, [this, who, from, to, request_id = std::move(request_id),
                            done = std::move(done)]() mutable {
    auto view = visits_.report_view(from, to);
    auto report =
        std::make_shared<v1::BillingReport>(reports::billing(view.visits, view.billing, from, to));
    // Every listed visit is a read of patient data: one audit entry each, committed first.
    storage::Transaction tx;
    const auto ctx = audit_context(who, request_id, clock_.now());
    for (const auto& v : report->visits()) {
      tx.mutations.emplace_back(
          audit_entry(ctx, "report.billing", "ok", {}, v.patient_id(), v.visit_id()));
    }
    if (report->visits().empty()) {
      tx.mutations.emplace_back(audit_entry(ctx, "report.billing", "ok", "no visits"));
    }
    store_.commit(std::move(tx), [report, done = std::move(done)](Result<storage::CommitResult> r) {
      if (!r) {
        done(Failure{Errc::unavailable, "the audit entry could not be stored", {}, {}});
        return;
      }
      done(std::move(*report));
    });
  });
}

void ReportService::payroll(const Principal&, SystemTime from, SystemTime to, std::string,
                            Done<v1::PayrollReport> done) {
  boost::asio::post(work_, [this, from, to, done = std::move(done)] {
    auto view = visits_.report_view(from, to + kShiftHorizon);
    auto model = travel_model(config_);
    reports::ReturnLeg leg = [this, &model](
                                 const v1::Visit& v,
                                 const v1::Team& team) -> std::optional<std::chrono::milliseconds> {
      auto patient = patients_.find(v.patient_id());
      if (!patient || !patient->has_location() || !team.has_base()) {
        return std::nullopt;
      }
      auto home =
          model->make_place(dp::LatLon{patient->location().lat(), patient->location().lon()});
      auto base = model->make_place(dp::LatLon{team.base().lat(), team.base().lon()});
      return std::chrono::duration_cast<std::chrono::milliseconds>(model->travel(home, base));
    };
    reports::DisplayName name = [this](const std::string& id) {
      auto user = accounts_.find_user(id);
      return user ? user->display_name() : std::string();
    };
    reports::PayRates rates;
    rates.doctor_hourly_yen = config_.pay().doctor_hourly_yen();
    rates.driver_hourly_yen = config_.pay().driver_hourly_yen();
    done(reports::payroll(view.visits, view.teams, from, to, leg, name, rates));
  });
}

}  // namespace oshin::app
