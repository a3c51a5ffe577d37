#include "oshin/app/patient_service.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "oshin/app/records.hpp"
#include "oshin/app/token.hpp"

namespace oshin::app {
namespace {

constexpr std::string_view kPatient = "patient";

Failure fail(Errc code, std::string message, std::string field = {}) {
  return Failure{code, std::move(message), std::move(field), {}};
}

bool text_ok(std::string_view s, std::size_t max_bytes, bool required) {
  if (s.empty()) {
    return !required;
  }
  if (s.size() > max_bytes) {
    return false;
  }
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 && c != '\n' && c != '\t' && c != '\r';
  });
}

std::optional<Failure> validate(const v1::CreatePatientRequest& req) {
  if (!text_ok(req.name(), 200, true)) {
    return fail(Errc::invalid_argument, "name is required (up to 200 bytes)", "name");
  }
  if (!valid_date(req.birth_date())) {
    return fail(Errc::invalid_argument, "birthDate must be a date like 1938-04-02", "birthDate");
  }
  if (!text_ok(req.address(), 500, true)) {
    return fail(Errc::invalid_argument, "address is required (up to 500 bytes)", "address");
  }
  if (!req.has_location() || !valid_location(req.location().lat(), req.location().lon())) {
    return fail(Errc::invalid_argument, "location needs lat in [-90, 90] and lon in [-180, 180]",
                "location");
  }
  if (!text_ok(req.allergies(), 2000, false)) {
    return fail(Errc::invalid_argument, "allergies is too long", "allergies");
  }
  if (!text_ok(req.advance_care_plan(), 4000, false)) {
    return fail(Errc::invalid_argument, "advanceCarePlan is too long", "advanceCarePlan");
  }
  if (!text_ok(req.notes(), 4000, false)) {
    return fail(Errc::invalid_argument, "notes is too long", "notes");
  }
  if (req.has_eligibility()) {
    const auto& e = req.eligibility();
    if (!e.last_scheduled_visit_date().empty() && !valid_date(e.last_scheduled_visit_date())) {
      return fail(Errc::invalid_argument, "lastScheduledVisitDate must be a date like 2026-11-01",
                  "eligibility.lastScheduledVisitDate");
    }
    if (!text_ok(e.partner_agreement_id(), 200, false)) {
      return fail(Errc::invalid_argument, "partnerAgreementId is too long",
                  "eligibility.partnerAgreementId");
    }
  }
  if (req.care_team_organization_ids_size() > 50) {
    return fail(Errc::invalid_argument, "at most 50 care team organizations",
                "careTeamOrganizationIds");
  }
  return std::nullopt;
}

}  // namespace

bool valid_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') {
    return false;
  }
  for (std::size_t i : {0U, 1U, 2U, 3U, 5U, 6U, 8U, 9U}) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
  }
  int y = std::stoi(std::string(s.substr(0, 4)));
  unsigned m = static_cast<unsigned>(std::stoi(std::string(s.substr(5, 2))));
  unsigned d = static_cast<unsigned>(std::stoi(std::string(s.substr(8, 2))));
  if (y < 1900 || y > 2100) {
    return false;
  }
  return std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m),
                                     std::chrono::day(d))
      .ok();
}

bool valid_location(double lat, double lon) {
  return std::isfinite(lat) && std::isfinite(lon) && lat >= -90.0 && lat <= 90.0 && lon >= -180.0 &&
         lon <= 180.0;
}

PatientService::PatientService(storage::Store& store, const Clock& clock,
                               const AccountService& accounts)
    : store_(store), clock_(clock), accounts_(accounts) {}

Result<void> PatientService::load() {
  std::unique_lock lock(mutex_);
  return load_records<v1::Patient>(store_, kPatient, [this](v1::Patient p) {
    auto id = p.id();
    patients_[id] = std::move(p);
  });
}

bool PatientService::can_see(const Principal& who, const v1::Patient& patient) const {
  switch (who.role) {
    case Role::staff:
      return true;
    case Role::nurse:
    case Role::care_manager: {
      const auto& ids = patient.care_team_organization_ids();
      return std::find(ids.begin(), ids.end(), who.organization_id) != ids.end();
    }
    case Role::primary_doctor:
      return patient.primary_doctor_id() == who.user_id;
    case Role::doctor:
    case Role::driver:
      return team_reach_ && team_reach_(who, patient.id());
    case Role::admin:
    case Role::unspecified:
      break;
  }
  return false;
}

std::optional<v1::Patient> PatientService::find(const std::string& id) const {
  std::shared_lock lock(mutex_);
  auto it = patients_.find(id);
  if (it == patients_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void PatientService::create(const Principal& who, v1::CreatePatientRequest req,
                            std::string request_id, Decorate decorate,
                            AccountService::Done<v1::Patient> done) {
  if (auto bad = validate(req)) {
    done(std::move(*bad));
    return;
  }
  auto doctor = accounts_.find_user(req.primary_doctor_id());
  if (!doctor || doctor->role() != v1::PRIMARY_DOCTOR) {
    done(fail(Errc::invalid_argument, "primaryDoctorId must name a PRIMARY_DOCTOR account",
              "primaryDoctorId"));
    return;
  }
  std::set<std::string> team;
  for (const auto& org : req.care_team_organization_ids()) {
    if (!accounts_.find_organization(org)) {
      done(fail(Errc::invalid_argument, "careTeamOrganizationIds names an unknown organization",
                "careTeamOrganizationIds"));
      return;
    }
    team.insert(org);
  }
  if ((who.role == Role::nurse || who.role == Role::care_manager) &&
      team.count(who.organization_id) == 0) {
    done(fail(Errc::invalid_argument, "the care team must include your own organization",
              "careTeamOrganizationIds"));
    return;
  }
  SystemTime now = clock_.now();
  v1::Patient p;
  p.set_id(generate_id("pat_"));
  p.set_name(req.name());
  p.set_birth_date(req.birth_date());
  p.set_sex(req.sex());
  p.set_address(req.address());
  *p.mutable_location() = req.location();
  p.set_primary_doctor_id(req.primary_doctor_id());
  for (const auto& org : team) {
    p.add_care_team_organization_ids(org);
  }
  p.set_sharing_consent(req.sharing_consent());
  p.set_allergies(req.allergies());
  p.set_advance_care_plan(req.advance_care_plan());
  p.set_notes(req.notes());
  if (req.has_eligibility()) {
    *p.mutable_eligibility() = req.eligibility();
  }
  *p.mutable_created_at() = to_timestamp(now);
  p.set_created_by(who.user_id);
  storage::Transaction tx;
  tx.mutations.emplace_back(put_record(kPatient, p.id(), p, now, std::nullopt, true));
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "patient.create", "ok", {}, p.id()));
  if (decorate) {
    decorate(p, tx);
  }
  store_.commit(std::move(tx), [this, p, done = std::move(done)](Result<storage::CommitResult> r) {
    if (!r) {
      done(fail(to_errc(r.error()), std::string(default_message(to_errc(r.error())))));
      return;
    }
    {
      std::unique_lock lock(mutex_);
      patients_[p.id()] = p;
    }
    done(p);
  });
}

void PatientService::get(const Principal& who, const std::string& id, std::string request_id,
                         AccountService::Done<v1::Patient> done) {
  auto p = find(id);
  bool visible = p && can_see(who, *p);
  SystemTime now = clock_.now();
  storage::Transaction tx;
  tx.mutations.emplace_back(audit_entry(audit_context(who, std::move(request_id), now),
                                        "patient.read", visible ? "ok" : "not_found", {},
                                        p ? id : std::string{}));
  // The answer waits for its audit entry: no patient data leaves unaudited.
  store_.commit(std::move(tx), [visible, p = std::move(p),
                                done = std::move(done)](Result<storage::CommitResult> r) {
    if (!r) {
      done(fail(to_errc(r.error()), std::string(default_message(to_errc(r.error())))));
      return;
    }
    if (!visible) {
      done(fail(Errc::not_found, "no such patient"));
      return;
    }
    done(*p);
  });
}

void PatientService::list(const Principal& who, std::string request_id,
                          AccountService::Done<v1::PatientList> done) {
  v1::PatientList out;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [id, p] : patients_) {
      if (can_see(who, p)) {
        *out.add_patients() = p;
      }
    }
  }
  SystemTime now = clock_.now();
  AuditContext ctx = audit_context(who, std::move(request_id), now);
  storage::Transaction tx;
  for (const auto& p : out.patients()) {
    tx.mutations.emplace_back(audit_entry(ctx, "patient.list", "ok", {}, p.id()));
  }
  if (tx.mutations.empty()) {
    done(std::move(out));
    return;
  }
  store_.commit(std::move(tx), [out = std::move(out),
                                done = std::move(done)](Result<storage::CommitResult> r) mutable {
    if (!r) {
      done(fail(to_errc(r.error()), std::string(default_message(to_errc(r.error())))));
      return;
    }
    done(std::move(out));
  });
}

}  // namespace oshin::app
