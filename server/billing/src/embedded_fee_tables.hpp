#pragma once
/// The fee table files embedded at build time (generated: embedded_fee_tables.cpp.in).

#include <span>
#include <string_view>

namespace oshin::billing {

/// One file of server/billing/fee_tables/.
struct EmbeddedFeeTable {
  std::string_view file_name;  ///< e.g. "2024-06-01.json"
  std::string_view text;       ///< the file's bytes
};

/// Every embedded file, sorted by name (hence by date).
std::span<const EmbeddedFeeTable> embedded_fee_tables();

}  // namespace oshin::billing
