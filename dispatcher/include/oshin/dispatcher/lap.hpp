#pragma once
/// Sparse rectangular linear assignment (min-cost bipartite matching) by successive shortest
/// augmenting paths with potentials (Jonker-Volgenant style Dijkstra). Every row must be given
/// at least one edge; a caller wanting "leave unassigned" adds a private dummy column per row.

#include <cstdint>
#include <vector>

namespace oshin::dispatcher {

/// One candidate edge of a row.
struct LapEdge {
  std::uint32_t column{0};
  double cost{0.0};  ///< finite, >= 0
};

/// A sparse cost structure: rows with their candidate columns.
class SparseLap {
 public:
  /// Starts a problem with `columns` columns and no rows.
  explicit SparseLap(std::uint32_t columns);
  /// Adds a row with its edges (each column at most once) and returns its index.
  std::uint32_t add_row(const std::vector<LapEdge>& edges);
  /// Solves; returns, per row, the assigned column, or -1 when the row had no reachable free
  /// column. Minimises the total cost over rows assigned. Deterministic: ties go to the
  /// smaller column index.
  [[nodiscard]] std::vector<std::int64_t> solve() const;
  /// Number of rows.
  [[nodiscard]] std::uint32_t rows() const { return static_cast<std::uint32_t>(start_.size() - 1); }

 private:
  std::uint32_t columns_;
  std::vector<std::uint32_t> start_{0};
  std::vector<LapEdge> edges_;
};

}  // namespace oshin::dispatcher
