#include "oshin/dispatcher/lap.hpp"

#include <functional>
#include <limits>
#include <queue>
#include <utility>

namespace oshin::dispatcher {

SparseLap::SparseLap(std::uint32_t columns) : columns_(columns) {}

std::uint32_t SparseLap::add_row(const std::vector<LapEdge>& edges) {
  const auto row = rows();
  for (const LapEdge& e : edges) {
    if (e.column < columns_) {
      edges_.push_back(e);
    }
  }
  start_.push_back(static_cast<std::uint32_t>(edges_.size()));
  return row;
}

std::vector<std::int64_t> SparseLap::solve() const {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const std::uint32_t n = rows();
  std::vector<double> u(n, 0.0);
  std::vector<double> v(columns_, 0.0);
  std::vector<std::int64_t> row_col(n, -1);
  std::vector<std::int64_t> col_row(columns_, -1);
  std::vector<double> dist(columns_, kInf);
  std::vector<std::uint32_t> pred(columns_, 0);
  std::vector<char> done(columns_, 0);
  std::vector<std::uint32_t> touched;
  std::vector<std::uint32_t> finalized;
  using Item = std::pair<double, std::uint32_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> heap;

  for (std::uint32_t s = 0; s < n; ++s) {
    touched.clear();
    finalized.clear();
    heap = {};
    const auto relax = [&](std::uint32_t row, double base) {
      for (std::uint32_t k = start_[row]; k < start_[row + 1]; ++k) {
        const LapEdge& e = edges_[k];
        if (done[e.column] != 0) {
          continue;
        }
        double nd = base + e.cost - u[row] - v[e.column];
        if (nd < base) {
          nd = base;  // guards against rounding below the Dijkstra frontier
        }
        if (nd < dist[e.column]) {
          if (dist[e.column] == kInf) {
            touched.push_back(e.column);
          }
          dist[e.column] = nd;
          pred[e.column] = row;
          heap.emplace(nd, e.column);
        }
      }
    };
    relax(s, 0.0);
    std::int64_t end = -1;
    double total = 0.0;
    while (!heap.empty()) {
      const auto [d, j] = heap.top();
      heap.pop();
      if (done[j] != 0 || d > dist[j]) {
        continue;
      }
      done[j] = 1;
      if (col_row[j] < 0) {
        end = j;
        total = d;
        break;
      }
      finalized.push_back(j);
      relax(static_cast<std::uint32_t>(col_row[j]), d);
    }
    if (end >= 0) {
      for (const std::uint32_t j : finalized) {
        const double delta = total - dist[j];
        v[j] -= delta;
        u[static_cast<std::size_t>(col_row[j])] += delta;
      }
      u[s] += total;
      auto j = static_cast<std::uint32_t>(end);
      while (true) {
        const std::uint32_t i = pred[j];
        const std::int64_t previous = row_col[i];
        row_col[i] = j;
        col_row[j] = i;
        if (i == s) {
          break;
        }
        j = static_cast<std::uint32_t>(previous);
      }
    }
    for (const std::uint32_t j : touched) {
      dist[j] = kInf;
      done[j] = 0;
    }
  }
  return row_col;
}

}  // namespace oshin::dispatcher
