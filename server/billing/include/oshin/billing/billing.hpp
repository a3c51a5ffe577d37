#pragma once
/// Billing of one house call: C000 往診料 with its add-ons, from the dated fee tables.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "oshin/billing/civil_date.hpp"
#include "oshin/billing/failure.hpp"
#include "oshin/billing/fee_table.hpp"
#include "oshin/billing/time_band.hpp"
#include "oshin/common/clock.hpp"

namespace oshin::billing {

/// Urgency of the request. Values equal oshin.v1.Urgency.
enum class Urgency { kUrgent = 1, kSoon = 2 };

/// The evidence that a patient is a 定める患者 (stored on the patient; DESIGN.md).
/// A default-constructed Eligibility is "no evidence": not eligible.
struct Eligibility {
  /// Local date of the last scheduled home visit billed by the center or by a partner clinic.
  std::optional<CivilDate> last_scheduled_visit;
  /// The written agreement with the partner clinic that billed it; empty: the center itself.
  /// Recorded for audit; it does not change the outcome.
  std::string partner_agreement_id;
  bool regular_outpatient = false;  ///< a regular outpatient of the center
  bool facility_agreement = false;  ///< lives in a facility with a standing agreement
};

/// How far back a billed scheduled visit makes a patient a 定める患者, in days (inclusive).
inline constexpr int kSadameruKanjaWindowDays = 60;

/// True when the patient is a 定める患者 on `visit_date` (local): a scheduled visit on a date in
/// [visit_date − 60 days, visit_date], or a regular outpatient, or a facility agreement.
/// An invalid date (either one) counts as no scheduled visit.
[[nodiscard]] bool is_sadameru_kanja(const Eligibility& evidence, CivilDate visit_date);

/// The facts of a completed visit that billing depends on.
struct BillableVisit {
  SystemTime started_at;  ///< arrival on site: the visit is billed on this instant
  /// Completion; time on site = ended_at − started_at, each instant truncated to its second.
  SystemTime ended_at;
  Urgency urgency = Urgency::kUrgent;
  InstitutionTier tier = InstitutionTier::kZaishin;  ///< the center's tier (config)
  Eligibility eligibility;
  bool deceased = false;  ///< the summary's disposition is DECEASED (死亡診断加算)
  int utc_offset_minutes = kTokyoUtcOffsetMinutes;  ///< the center's zone (Asia/Tokyo: 540)
};

/// One line of a bill, as API.md shows it: {"code","name","points"}.
struct BillingItem {
  std::string code;
  std::string name;
  std::int32_t points = 0;

  friend bool operator==(const BillingItem&, const BillingItem&) = default;
};

/// The bill of a visit.
struct Billing {
  /// 往診料, then at most one time add-on, then 患家診療時間加算 and 死亡診断加算 when they apply.
  std::vector<BillingItem> items;
  std::int32_t total_points = 0;  ///< sum of the items' points
  std::string fee_table;          ///< name of the fee table used
  CivilDate fee_table_effective_from;
  TimeBand time_band = TimeBand::kDay;
  std::string time_band_reason;  ///< e.g. "深夜 (22:00–06:00): started 23:14 JST"
  CivilDate local_date;          ///< local date of started_at
  bool sadameru_kanja = false;  ///< whether the tier's row (true) or the 定める患者以外 row applied
  std::chrono::seconds time_on_site{0};
};

/// Bills `visit` with the table in force on its local start date. Exactly one time add-on:
/// 深夜 → the late-night column; 休日 or 夜間 → the night/holiday column; daytime → the urgent
/// column only for an URGENT visit (none for SOON). The row is the tier's for a 定める患者, else
/// the 定める患者以外 row. 患家診療時間加算: points_per_step × ⌈(on site − 60 min) / 30 min⌉ when
/// on site longer than 60:00 (60:00 none, 60:01 one step, 90:00 one, 90:01 two). 死亡診断加算 when
/// `deceased`.
/// Failures: Errc::invalid_argument (ended before started, a UTC offset beyond ±14 h, an enum
/// value outside its range, a date outside the holiday tables' years 1980–2099, points beyond
/// int32), Errc::not_found (no table in force on that date, e.g. before 2024-06-01 with the
/// builtin tables); each with a message. Pure; any thread.
[[nodiscard]] Outcome<Billing> compute_billing(const BillableVisit& visit, const FeeTables& tables);

}  // namespace oshin::billing
