// Reads the server's core log from DATA_DIR/oshin.db, read-only (the server may be running).

#include <sqlite3.h>

#include <filesystem>
#include <memory>

#include "oshin/sim/recorded.hpp"

namespace oshin::sim {

std::optional<std::vector<oshin::v1::CoreEvent>> read_core_log(const std::string& data_dir,
                                                               std::string& error) {
  const std::filesystem::path path = std::filesystem::path(data_dir) / "oshin.db";
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    error = "no store at " + path.string();
    return std::nullopt;
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(raw, sqlite3_close);
  if (rc != SQLITE_OK) {
    error = "cannot open " + path.string() + ": " + sqlite3_errstr(rc);
    return std::nullopt;
  }
  sqlite3_busy_timeout(db.get(), 5000);
  sqlite3_stmt* raw_stmt = nullptr;
  if (sqlite3_prepare_v2(db.get(),
                         "SELECT payload FROM events WHERE stream_key = 'core' ORDER BY seq", -1,
                         &raw_stmt, nullptr) != SQLITE_OK) {
    error = "cannot read " + path.string() + ": " + sqlite3_errmsg(db.get());
    return std::nullopt;
  }
  const std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw_stmt, sqlite3_finalize);
  std::vector<oshin::v1::CoreEvent> log;
  for (;;) {
    const int step = sqlite3_step(stmt.get());
    if (step == SQLITE_DONE) {
      break;
    }
    if (step != SQLITE_ROW) {
      error = "cannot read " + path.string() + ": " + sqlite3_errmsg(db.get());
      return std::nullopt;
    }
    const void* blob = sqlite3_column_blob(stmt.get(), 0);
    const int size = sqlite3_column_bytes(stmt.get(), 0);
    oshin::v1::CoreEvent ev;
    if (size > 0 && !ev.ParseFromArray(blob, size)) {
      error = path.string() + ": a core log event does not parse";
      return std::nullopt;
    }
    log.push_back(std::move(ev));
  }
  return log;
}

}  // namespace oshin::sim
