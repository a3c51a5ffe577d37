#include "oshin/billing/billing.hpp"

#include <limits>
#include <utility>

#include "oshin/billing/holidays.hpp"

namespace oshin::billing {
namespace {

Failure invalid(std::string message) {
  return Failure{Errc::invalid_argument, std::move(message)};
}

std::int64_t epoch_seconds(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

// The one time add-on of a visit, or none (a SOON visit in the daytime).
struct AddOn {
  const ItemLabel* label = nullptr;
  std::int32_t points = 0;
};

AddOn time_add_on(const FeeTable& table, const TimeAddOnPoints& row, TimeBand band,
                  Urgency urgency) {
  switch (band) {
    case TimeBand::kLateNight:
      return {&table.late_night, row.late_night};
    case TimeBand::kHoliday:
    case TimeBand::kNight:
      return {&table.night_holiday, row.night_holiday};
    case TimeBand::kDay:
      break;
  }
  if (urgency == Urgency::kUrgent) {
    return {&table.urgent, row.urgent};
  }
  return {};
}

// Started steps beyond the included time: ⌈(on site − included) / step⌉, 0 when not beyond.
std::int64_t long_visit_steps(std::int64_t seconds_on_site, const LongVisitRule& rule) {
  const std::int64_t included = std::int64_t{rule.included_minutes} * 60;
  const std::int64_t step = std::int64_t{rule.step_minutes} * 60;
  if (step <= 0 || seconds_on_site <= included) {
    return 0;
  }
  return (seconds_on_site - included + step - 1) / step;
}

}  // namespace

bool is_sadameru_kanja(const Eligibility& evidence, CivilDate visit_date) {
  if (evidence.regular_outpatient || evidence.facility_agreement) {
    return true;
  }
  if (!evidence.last_scheduled_visit || !is_valid(*evidence.last_scheduled_visit) ||
      !is_valid(visit_date)) {
    return false;
  }
  const std::int64_t last = days_since_epoch(*evidence.last_scheduled_visit);
  const std::int64_t visit = days_since_epoch(visit_date);
  return last <= visit && visit - last <= kSadameruKanjaWindowDays;
}

Outcome<Billing> compute_billing(const BillableVisit& visit, const FeeTables& tables) {
  if (visit.urgency != Urgency::kUrgent && visit.urgency != Urgency::kSoon) {
    return invalid("urgency must be URGENT or SOON");
  }
  if (to_string(visit.tier).empty()) {
    return invalid("unknown institution tier");
  }
  const std::int64_t started = epoch_seconds(visit.started_at);
  const std::int64_t ended = epoch_seconds(visit.ended_at);
  if (visit.ended_at < visit.started_at) {
    return invalid("the visit ended before it started");
  }
  auto band = classify_time_band(visit.started_at, visit.utc_offset_minutes);
  if (!band) {
    return invalid("UTC offset of " + std::to_string(visit.utc_offset_minutes) +
                   " minutes is beyond ±14 hours");
  }
  const CivilDate date = band->local.date;
  if (date.year < kFirstHolidayYear || date.year > kLastHolidayYear) {
    return invalid("visit date " + to_string(date) + " is outside the holiday tables (" +
                   std::to_string(kFirstHolidayYear) + "–" + std::to_string(kLastHolidayYear) +
                   ")");
  }
  auto table_or = tables.table_for(date);
  if (!table_or) {
    return table_or.error();
  }
  const FeeTable& table = **table_or;

  Billing bill;
  bill.fee_table = table.name;
  bill.fee_table_effective_from = table.effective_from;
  bill.time_band = band->band;
  bill.time_band_reason = std::move(band->reason);
  bill.local_date = date;
  bill.sadameru_kanja = is_sadameru_kanja(visit.eligibility, date);
  bill.time_on_site = std::chrono::seconds(ended - started);

  std::int64_t total = 0;
  bool overflow = false;
  auto add = [&](const ItemLabel& label, const std::string& suffix, std::int64_t points) {
    if (points > std::numeric_limits<std::int32_t>::max()) {
      overflow = true;
      return;
    }
    bill.items.push_back(
        BillingItem{label.code, label.name + suffix, static_cast<std::int32_t>(points)});
    total += points;
  };

  add(table.base, "", table.base_points);
  const TimeAddOnPoints& row =
      bill.sadameru_kanja ? points_for(table, visit.tier) : table.not_sadameru_kanja;
  if (const AddOn add_on = time_add_on(table, row, band->band, visit.urgency);
      add_on.label != nullptr) {
    add(*add_on.label, bill.sadameru_kanja ? std::string() : table.not_sadameru_kanja_suffix,
        add_on.points);
  }
  if (const std::int64_t steps = long_visit_steps(ended - started, table.long_visit); steps > 0) {
    // steps < 2^24 (a SystemTime span is under 600 years) and points_per_step ≤ kMaxPoints.
    add(table.long_visit.label, "", steps * table.long_visit.points_per_step);
  }
  if (visit.deceased) {
    add(table.death_certification, "", table.death_certification_points);
  }
  if (overflow || total > std::numeric_limits<std::int32_t>::max()) {
    return invalid("points exceed the int32 range (time on site " +
                   std::to_string((ended - started) / 60) + " minutes)");
  }
  bill.total_points = static_cast<std::int32_t>(total);
  return bill;
}

}  // namespace oshin::billing
