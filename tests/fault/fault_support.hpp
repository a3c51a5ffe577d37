#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace oshin::testing {

/// `PRAGMA integrity_check` on a closed or live SQLite file, opened read-only; "ok" when sound,
/// else SQLite's report (or the open error).
std::string integrity_check(const std::filesystem::path& db_file);

/// The environment that loads the fault shim (tests/fault/fault_shim.c) into the server, plus
/// `extra` (the shim's OSHIN_FAULT_* variables). Keeps ASan quiet about the preload order.
std::map<std::string, std::string> shim_env(std::map<std::string, std::string> extra);

/// Lines in a file (0 when it does not exist): the shim's count of injected faults.
std::size_t count_lines(const std::filesystem::path& file);

/// An unsigned number from the environment, or `fallback`.
std::uint64_t env_number(const char* name, std::uint64_t fallback);

}  // namespace oshin::testing
