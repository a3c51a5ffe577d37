#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/app/account_service.hpp"
#include "oshin/app/patient_service.hpp"
#include "oshin/app/visit_service.hpp"
#include "oshin/http/router.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/config.pb.h"
#include "oshin/v1/reports.pb.h"

namespace oshin::app {

/// The pure parts of the clinic operations reports (API.md "Clinic operations"): plain functions
/// of the visits, so each figure has a unit test. Times of day and months are in the center's
/// time zone (Asia/Tokyo, a fixed +09:00). Any thread.
namespace reports {

/// The UTF-8 byte order mark every CSV answer starts with.
inline constexpr std::string_view kBom = "\xEF\xBB\xBF";

/// Target response (request to arrival), minutes: URGENT 60, SOON 180.
double target_minutes(v1::Urgency urgency);

/// Nearest-rank percentile `p` (0 < p <= 100) of an ascending list: the value at rank
/// ceil(p / 100 * n). 0 for an empty list.
double nearest_rank(const std::vector<double>& sorted, double p);

/// One RFC 4180 field: quoted when it holds a comma, a double quote, CR or LF (quotes doubled).
std::string csv_field(std::string_view value);
/// One RFC 4180 record ending in CRLF.
std::string csv_row(const std::vector<std::string>& fields);

/// Local "YYYY-MM" of an instant in the center's time zone.
std::string local_month(SystemTime t);

/// When the visit first reached `status`; nullopt when it never did.
std::optional<SystemTime> reached(const v1::Visit& visit, v1::Visit::Status status);

/// GET /v1/reports/demand over the visits requested in [from, to).
v1::DemandReport demand(const std::vector<v1::Visit>& visits, SystemTime from, SystemTime to);

/// GET /v1/reports/billing: completed visits requested in [from, to), their billing from
/// `bills` (by visit id), sorted by arrival, totals per month of arrival.
v1::BillingReport billing(const std::vector<v1::Visit>& visits,
                          const std::map<std::string, v1::Billing>& bills, SystemTime from,
                          SystemTime to);

/// Hourly rates, yen.
struct PayRates {
  double doctor_hourly_yen = 0;
  double driver_hourly_yen = 0;
};
/// Return leg of a team's last visit: the drive from that patient's home back to the team's base
/// (nullopt when unknown, e.g. the patient record is gone).
using ReturnLeg =
    std::function<std::optional<std::chrono::milliseconds>(const v1::Visit&, const v1::Team&)>;
/// Display name of an account ("" when unknown).
using DisplayName = std::function<std::string(const std::string& user_id)>;

/// Worked hours in one calendar month above which a person is flagged.
inline constexpr double kMonthlyCapMinutes = 100.0 * 60.0;

/// GET /v1/reports/payroll: per doctor and driver of a team, the completed visits requested in
/// [from, to); worked minutes = offer accepted (ASSIGNED) to COMPLETED, plus the return leg after
/// the last completed visit of each team (a team is one shift), counted in the month the visit
/// was accepted. `visits` may hold later visits too: they only decide which visit is a team's
/// last. Sorted by role (doctors first), then user id.
v1::PayrollReport payroll(const std::vector<v1::Visit>& visits, const std::vector<v1::Team>& teams,
                          SystemTime from, SystemTime to, const ReturnLeg& return_leg,
                          const DisplayName& display_name, PayRates rates);

/// The CSV answers (UTF-8 with a BOM, CRLF): a header row, then one row per visit / person.
std::string billing_csv(const v1::BillingReport& report);
std::string payroll_csv(const v1::PayrollReport& report);

}  // namespace reports

/// The clinic operations reports over VisitService's committed view. Reports run on `work`,
/// never on the I/O threads. The billing report lists patients' visits, so every visit it lists
/// is audited ("report.billing") in one transaction that commits before the answer.
class ReportService {
 public:
  template <class T>
  using Done = AccountService::Done<T>;

  ReportService(storage::Store& store, const Clock& clock, VisitService& visits,
                PatientService& patients, AccountService& accounts,
                boost::asio::any_io_executor work, v1::ServerConfig config);

  /// Each may be called from any thread; `done` runs on the work pool or the store's writer.
  void demand(const Principal& who, SystemTime from, SystemTime to, std::string request_id,
              Done<v1::DemandReport> done);
  void billing(const Principal& who, SystemTime from, SystemTime to, std::string request_id,
               Done<v1::BillingReport> done);
  void payroll(const Principal& who, SystemTime from, SystemTime to, std::string request_id,
               Done<v1::PayrollReport> done);

 private:
  storage::Store& store_;
  const Clock& clock_;
  VisitService& visits_;
  PatientService& patients_;
  AccountService& accounts_;
  boost::asio::any_io_executor work_;
  v1::ServerConfig config_;
};

/// GET /v1/reports/demand, /billing, /payroll (STAFF). Billing and payroll answer CSV for
/// `Accept: text/csv`.
void add_report_routes(http::Router& router, ReportService& reports, const Clock& clock);

}  // namespace oshin::app
