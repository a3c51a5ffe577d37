#pragma once

#include <functional>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "oshin/app/account_service.hpp"
#include "oshin/v1/patients.pb.h"

namespace oshin::app {

/// Patients and the reach rules of API.md "Patients": STAFF see all; NURSE and CARE_MANAGER see
/// patients whose care team holds their organization; PRIMARY_DOCTOR sees own patients; DOCTOR
/// and DRIVER see a patient only while their team holds an active visit for that patient; ADMIN
/// sees none. Every read and write of patient data is audited (one entry per patient touched).
/// Thread-safe.
class PatientService {
 public:
  /// Tells whether a DOCTOR or DRIVER's team holds an active visit for a patient.
  using TeamReach = std::function<bool(const Principal&, const std::string& patient_id)>;

  PatientService(storage::Store& store, const Clock& clock, const AccountService& accounts);

  /// Loads patients from the store. Call once before serving.
  Result<void> load();
  /// Installs the DOCTOR/DRIVER reach rule (the visit service knows active visits).
  void set_team_reach(TeamReach reach) { team_reach_ = std::move(reach); }

  void create(const Principal& who, v1::CreatePatientRequest req, std::string request_id,
              Decorate decorate, AccountService::Done<v1::Patient> done);
  /// One patient; NOT_FOUND when absent or outside the caller's reach (audited either way).
  void get(const Principal& who, const std::string& id, std::string request_id,
           AccountService::Done<v1::Patient> done);
  /// Every patient within the caller's reach.
  void list(const Principal& who, std::string request_id,
            AccountService::Done<v1::PatientList> done);

  /// The patient, without reach check or audit: for the server's own use.
  std::optional<v1::Patient> find(const std::string& id) const;
  /// Whether the caller may see this patient.
  bool can_see(const Principal& who, const v1::Patient& patient) const;

 private:
  storage::Store& store_;
  const Clock& clock_;
  const AccountService& accounts_;
  TeamReach team_reach_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, v1::Patient> patients_;
};

/// Validates a "YYYY-MM-DD" date (real calendar date, 1900..2100).
bool valid_date(std::string_view s);
/// Validates a latitude/longitude pair.
bool valid_location(double lat, double lon);

}  // namespace oshin::app
