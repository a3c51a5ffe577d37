#pragma once

#include <iosfwd>
#include <optional>

#include "oshin/common/clock.hpp"
#include "oshin/v1/config.pb.h"

namespace oshin::app {

/// Runs oshin-server with a loaded configuration until SIGTERM or SIGINT: loads the TLS
/// certificate and key when `tls` is configured (returns 2 with a message naming the file when
/// one is missing, unreadable or mismatched), opens the store,
/// bootstraps the admin (or exits non-zero when OSHIN_ADMIN_PASSWORD is missing and `demo` is
/// off), seeds the demo, wires services and routes, listens, prints `listening on HOST:PORT`,
/// and on a signal drains in-flight requests, syncs and returns 0. `out` receives the human
/// start-up text (URL and demo logins); errors go to `err`. `clock_start` (tests and demo
/// replays) runs the server's clock from that instant at real speed (an OffsetClock).
int run_server(const v1::ServerConfig& config, bool demo, std::ostream& out, std::ostream& err,
               std::optional<SystemTime> clock_start = std::nullopt);

}  // namespace oshin::app
