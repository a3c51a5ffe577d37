#include "oshin/app/demo.hpp"

#include <google/protobuf/util/time_util.h>

#include <future>

#include "oshin/app/records.hpp"
#include "oshin/app/token.hpp"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/teams.pb.h"

namespace oshin::app {
namespace {

using google::protobuf::util::TimeUtil;

constexpr const char* kMetaKind = "meta";
constexpr const char* kDemoMarker = "demo-seeded";

template <class T>
Outcome<T> wait_for(const std::function<void(AccountService::Done<T>)>& start) {
  std::promise<Outcome<T>> promise;
  auto future = promise.get_future();
  start([&promise](Outcome<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Result<void> commit_and_wait(storage::Store& store, storage::Transaction tx) {
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  store.commit(std::move(tx), [&promise](Result<storage::CommitResult> r) {
    if (!r) {
      promise.set_value(r.error());
      return;
    }
    promise.set_value(Result<void>{});
  });
  return future.get();
}

Outcome<v1::Organization> make_org(AccountService& accounts, const std::string& name,
                                   v1::OrganizationKind kind) {
  v1::CreateOrganizationRequest req;
  req.set_name(name);
  req.set_kind(kind);
  return wait_for<v1::Organization>([&](AccountService::Done<v1::Organization> done) {
    accounts.create_organization(Principal{}, req, "demo-seed", {}, std::move(done));
  });
}

Outcome<v1::User> make_user(AccountService& accounts, const DemoLogin& login,
                            const std::string& display_name, v1::Role role,
                            const std::string& org_id) {
  if (auto existing = accounts.find_user_by_username(login.username)) {
    return *existing;
  }
  v1::CreateUserRequest req;
  req.set_username(login.username);
  req.set_password(login.password);
  req.set_display_name(display_name);
  req.set_role(role);
  req.set_organization_id(org_id);
  return wait_for<v1::User>([&](AccountService::Done<v1::User> done) {
    accounts.create_user(Principal{}, req, "demo-seed", {}, std::move(done));
  });
}

}  // namespace

std::vector<DemoLogin> demo_logins() {
  return {
      {"staff1", "staff1-demo-pass", "STAFF"},
      {"nurse1", "nurse1-demo-pass", "NURSE"},
      {"nurse2", "nurse2-demo-pass", "NURSE"},
      {"caremanager1", "caremanager1-demo-pass", "CARE_MANAGER"},
      {"doctor1", "doctor1-demo-pass", "DOCTOR"},
      {"doctor2", "doctor2-demo-pass", "DOCTOR"},
      {"driver1", "driver1-demo-pass", "DRIVER"},
      {"driver2", "driver2-demo-pass", "DRIVER"},
      {"primary1", "primary1-demo-pass", "PRIMARY_DOCTOR"},
  };
}

Result<void> seed_demo(AccountService& accounts, storage::Store& store, const Clock& clock,
                       const v1::ServerConfig& config) {
  auto marker = store.get(kMetaKind, kDemoMarker);
  if (!marker) {
    return marker.error();
  }
  if (*marker) {
    return {};
  }
  std::string center_id;
  for (const auto& org : accounts.list_organizations()) {
    if (org.kind() == v1::HOUSE_CALL_CENTER) {
      center_id = org.id();
      break;
    }
  }
  if (center_id.empty()) {
    return Errc::internal;
  }
  auto station =
      make_org(accounts, "Hino Minami Visiting Nurse Station", v1::VISITING_NURSE_STATION);
  auto office = make_org(accounts, "Hino Care Plan Office", v1::CARE_MANAGEMENT_OFFICE);
  auto clinic = make_org(accounts, "Tamadaira Home Clinic", v1::CLINIC);
  if (!station || !office || !clinic) {
    return Errc::internal;
  }
  const auto logins = demo_logins();
  struct Spec {
    const char* display;
    v1::Role role;
    std::string org;
  };
  const std::vector<Spec> specs = {
      {"Center staff Sato", v1::STAFF, center_id},
      {"Nurse Tanaka", v1::NURSE, station->id()},
      {"Nurse Ito", v1::NURSE, station->id()},
      {"Care manager Suzuki", v1::CARE_MANAGER, office->id()},
      {"Dr. Takahashi (on call)", v1::DOCTOR, center_id},
      {"Dr. Watanabe (on call)", v1::DOCTOR, center_id},
      {"Driver Yamamoto", v1::DRIVER, center_id},
      {"Driver Nakamura", v1::DRIVER, center_id},
      {"Dr. Kobayashi (primary)", v1::PRIMARY_DOCTOR, clinic->id()},
  };
  std::map<std::string, v1::User> users;
  for (std::size_t i = 0; i < logins.size(); ++i) {
    auto u = make_user(accounts, logins[i], specs[i].display, specs[i].role, specs[i].org);
    if (!u) {
      return u.error().code;
    }
    users[logins[i].username] = *u;
  }

  const auto now = clock.now();
  const auto now_ms = to_unix_ms(now);
  const double center_lat = config.center().location().lat();
  const double center_lon = config.center().location().lon();
  storage::Transaction tx;
  struct PatientSpec {
    const char* name;
    const char* birth;
    v1::Patient::Sex sex;
    const char* address;
    double dlat;
    double dlon;
    const char* allergies;
    const char* acp;
    bool eligible;
  };
  const std::vector<PatientSpec> patients = {
      {"Hanako Yamada", "1938-04-02", v1::Patient::FEMALE, "Hino-shi Tamadaira 3-1-1", 0.004,
       -0.006, "penicillin", "wishes to stay at home; no intubation", true},
      {"Taro Kimura", "1941-09-15", v1::Patient::MALE, "Hino-shi Toyoda 2-10-5", -0.006, 0.010, "",
       "full treatment", true},
      {"Fumiko Abe", "1935-01-20", v1::Patient::FEMALE, "Hino-shi Asahigaoka 5-4-2", 0.012, -0.015,
       "none known", "comfort care only (palliative)", false},
  };
  for (const auto& ps : patients) {
    v1::Patient p;
    p.set_id(generate_id("pat_"));
    p.set_name(ps.name);
    p.set_birth_date(ps.birth);
    p.set_sex(ps.sex);
    p.set_address(ps.address);
    p.mutable_location()->set_lat(center_lat + ps.dlat);
    p.mutable_location()->set_lon(center_lon + ps.dlon);
    p.set_primary_doctor_id(users["primary1"].id());
    p.add_care_team_organization_ids(station->id());
    p.add_care_team_organization_ids(office->id());
    p.set_sharing_consent(true);
    p.set_allergies(ps.allergies);
    p.set_advance_care_plan(ps.acp);
    if (ps.eligible) {
      p.mutable_eligibility()->set_last_scheduled_visit_date("2026-11-01");
    }
    *p.mutable_created_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
    p.set_created_by(users["staff1"].id());
    tx.mutations.emplace_back(put_record("patient", p.id(), p, now));
  }
  // Tonight's shift: from now until 14 hours later, so the demo can dispatch at once.
  for (int i = 1; i <= 2; ++i) {
    v1::Team t;
    t.set_id(generate_id("team_"));
    t.set_doctor_id(users["doctor" + std::to_string(i)].id());
    t.set_driver_id(users["driver" + std::to_string(i)].id());
    t.set_vehicle(i == 1 ? "Toyota Sienta (Tama 500 a 12-34)" : "Honda Freed (Tama 500 a 56-78)");
    *t.mutable_shift_start() = TimeUtil::MillisecondsToTimestamp(now_ms);
    *t.mutable_shift_end() = TimeUtil::MillisecondsToTimestamp(now_ms + 14LL * 3600 * 1000);
    t.mutable_base()->set_lat(center_lat);
    t.mutable_base()->set_lon(center_lon);
    *t.mutable_location() = t.base();
    if (i == 2) {
      t.add_skills(v1::PALLIATIVE);
    }
    t.set_status(v1::Team::AVAILABLE);
    *t.mutable_created_at() = TimeUtil::MillisecondsToTimestamp(now_ms);
    tx.mutations.emplace_back(put_record("team", t.id(), t, now));
  }
  storage::PutRecord m;
  m.record.kind = kMetaKind;
  m.record.id = kDemoMarker;
  m.record.body = "1";
  m.record.updated_at_ms = now_ms;
  m.must_not_exist = true;
  tx.mutations.emplace_back(std::move(m));
  return commit_and_wait(store, std::move(tx));
}

}  // namespace oshin::app
