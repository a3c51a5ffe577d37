#include "fault_support.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <fstream>

#ifndef OSHIN_FAULT_SHIM_PATH
#error "OSHIN_FAULT_SHIM_PATH must name the fault shim"
#endif

namespace oshin::testing {

std::string integrity_check(const std::filesystem::path& db_file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return "cannot open: " + error;
  }
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (!result.empty()) {
        result += "\n";
      }
      result += text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
  } else {
    result = std::string("cannot check: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

std::map<std::string, std::string> shim_env(std::map<std::string, std::string> extra) {
  extra["LD_PRELOAD"] = OSHIN_FAULT_SHIM_PATH;
  // Under ASan the runtime wants to be first in the preload list; the shim has no sanitizer
  // and only wraps libc calls, so the order does not matter. (This entry comes before the one
  // ServerProcess passes through, and the first one wins.)
  const char* asan = std::getenv("ASAN_OPTIONS");
  extra["ASAN_OPTIONS"] = std::string(asan != nullptr ? asan : "") +
                          (asan != nullptr && *asan ? ":" : "") + "verify_asan_link_order=0";
  return extra;
}

std::size_t count_lines(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::size_t n = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++n;
  }
  return n;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    return fallback;
  }
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  return end != nullptr && *end == '\0' ? static_cast<std::uint64_t>(n) : fallback;
}

}  // namespace oshin::testing
