#pragma once
/// Dated fee tables for C000 往診料. Each revision is a JSON file in server/billing/fee_tables/
/// named after its effective date ("2024-06-01.json"), embedded at build time: adding a revision
/// is adding a file. The format is documented on parse_fee_table().

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "oshin/billing/civil_date.hpp"
#include "oshin/billing/failure.hpp"

namespace oshin::billing {

/// The institution's tier for the C000 time add-ons. Values equal
/// oshin.v1.ServerConfig.InstitutionTier.
enum class InstitutionTier {
  kKyokaBeds = 1,    ///< 機能強化型 在支診/在支病 with beds ("KYOKA_BEDS")
  kKyokaNoBeds = 2,  ///< 機能強化型 在支診/在支病 without beds ("KYOKA_NO_BEDS")
  kZaishin = 3,      ///< 在支診/在支病 ("ZAISHIN")
  kOther = 4,        ///< any other clinic ("OTHER")
};

/// The config name of a tier ("KYOKA_BEDS", ...; "" for a value outside the enum).
[[nodiscard]] std::string_view to_string(InstitutionTier tier);

/// Parses a config name ("KYOKA_BEDS", "KYOKA_NO_BEDS", "ZAISHIN", "OTHER"); anything else →
/// Errc::invalid_argument.
[[nodiscard]] Result<InstitutionTier> parse_institution_tier(std::string_view name);

/// The code and name a bill shows for an item, e.g. {"C000", "往診料"}.
struct ItemLabel {
  std::string code;
  std::string name;
};

/// One row of the time add-on matrix, in points.
struct TimeAddOnPoints {
  std::int32_t urgent = 0;         ///< 緊急往診加算 (daytime, urgent visits)
  std::int32_t night_holiday = 0;  ///< 夜間・休日往診加算
  std::int32_t late_night = 0;     ///< 深夜往診加算
};

/// 患家診療時間加算: points_per_step for each started step_minutes beyond included_minutes.
struct LongVisitRule {
  ItemLabel label;
  std::int32_t included_minutes = 60;
  std::int32_t step_minutes = 30;
  std::int32_t points_per_step = 100;
};

/// One revision of the C000 fee table. Plain data; parse_fee_table() guarantees the invariants
/// stated here (non-empty texts, points 0..kMaxPoints, distinct codes, positive minutes).
struct FeeTable {
  std::string name;  ///< e.g. "診療報酬点数表 2024 (令和6年度改定) C000 往診料"
  CivilDate effective_from;  ///< first local date of visits billed with this table
  std::string note;          ///< free text for maintainers; may be empty
  ItemLabel base;            ///< 往診料
  std::int32_t base_points = 0;
  ItemLabel urgent;         ///< 緊急往診加算
  ItemLabel night_holiday;  ///< 夜間・休日往診加算
  ItemLabel late_night;     ///< 深夜往診加算
  /// Appended to an add-on's name for a patient who is not a 定める患者, e.g. "（定める患者以外）".
  std::string not_sadameru_kanja_suffix;
  TimeAddOnPoints kyoka_beds;
  TimeAddOnPoints kyoka_no_beds;
  TimeAddOnPoints zaishin;
  TimeAddOnPoints other;
  TimeAddOnPoints not_sadameru_kanja;  ///< any tier, patient not a 定める患者
  LongVisitRule long_visit;
  ItemLabel death_certification;  ///< 死亡診断加算
  std::int32_t death_certification_points = 0;
};

/// Largest points value a fee table may hold for one item.
inline constexpr std::int32_t kMaxPoints = 100000;

/// The add-on row of a tier for a 定める患者 (tier outside the enum: the `other` row).
[[nodiscard]] const TimeAddOnPoints& points_for(const FeeTable& table, InstitutionTier tier);

/// Parses and validates one fee table file (UTF-8 JSON, at most 1 MiB):
/// ```
/// {"name": "...", "effectiveFrom": "YYYY-MM-DD", "note"?: "...",
///  "base": {"code", "name", "points"},
///  "timeAddOns": {"urgent": {"code", "name"}, "nightHoliday": {...}, "lateNight": {...},
///                 "notSadameruKanjaSuffix": "...",
///                 "points": {"KYOKA_BEDS" | "KYOKA_NO_BEDS" | "ZAISHIN" | "OTHER" |
///                            "NOT_SADAMERU_KANJA": {"urgent", "nightHoliday", "lateNight"}}},
///  "longVisit": {"code", "name", "includedMinutes", "stepMinutes", "pointsPerStep"},
///  "deathCertification": {"code", "name", "points"}}
/// ```
/// Every field is required except "note"; unknown and duplicate keys are rejected; points are
/// integers 0..kMaxPoints; minutes are integers 1..1440; codes are distinct. On failure:
/// Errc::invalid_argument and a message naming the field ("timeAddOns.points.OTHER.lateNight:
/// expected an integer 0..100000"). Never throws (except std::bad_alloc); any thread.
[[nodiscard]] Outcome<FeeTable> parse_fee_table(std::string_view text);

/// A set of fee tables with distinct effective dates, sorted by date. Immutable; any thread.
class FeeTables {
 public:
  /// An empty set (table_for() always fails).
  FeeTables() = default;

  /// The set of `tables`; Errc::invalid_argument when two share an effective date.
  [[nodiscard]] static Outcome<FeeTables> from_tables(std::vector<FeeTable> tables);

  /// The tables embedded from server/billing/fee_tables/*.json, parsed on first use (thread-safe).
  /// A failure (a file that does not parse, or whose name is not its effectiveFrom) names the file:
  /// the server should refuse to start on it; the unit tests check that it cannot happen.
  [[nodiscard]] static const Outcome<FeeTables>& builtin();

  /// The newest table whose effective_from ≤ `local_date` (the visit's local date).
  /// Errc::not_found when every table starts later (or there is none), with a message.
  /// The pointer stays valid as long as this object.
  [[nodiscard]] Outcome<const FeeTable*> table_for(CivilDate local_date) const;

  /// All tables, oldest first.
  [[nodiscard]] const std::vector<FeeTable>& tables() const { return tables_; }

 private:
  std::vector<FeeTable> tables_;
};

}  // namespace oshin::billing
