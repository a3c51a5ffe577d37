#pragma once

#include <string>
#include <vector>

#include "oshin/app/account_service.hpp"
#include "oshin/storage/store.hpp"
#include "oshin/v1/config.pb.h"

namespace oshin::app {

/// A demo login printed at start-up.
struct DemoLogin {
  std::string username;
  std::string password;
  std::string role;
};

/// The demo accounts (fixed, documented passwords: demo data only, never for real patients).
std::vector<DemoLogin> demo_logins();

/// Seeds the demo center once: organizations, one account per role (two doctors and drivers),
/// patients with care teams, and tonight's two teams. Idempotent: a marker record says it ran.
/// Blocks until everything is committed. Call before serving, from the main thread.
Result<void> seed_demo(AccountService& accounts, storage::Store& store, const Clock& clock,
                       const v1::ServerConfig& config);

}  // namespace oshin::app
