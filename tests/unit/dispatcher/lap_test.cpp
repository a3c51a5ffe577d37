#include "oshin/dispatcher/lap.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

namespace oshin::dispatcher {
namespace {

TEST(SparseLapTest, SolvesAClassicDenseInstance) {
  const double c[3][3] = {{4, 1, 3}, {2, 0, 5}, {3, 2, 2}};
  SparseLap lap(3);
  for (const auto& row : c) {
    lap.add_row({{0, row[0]}, {1, row[1]}, {2, row[2]}});
  }
  const auto a = lap.solve();
  ASSERT_EQ(a.size(), 3U);
  double total = 0;
  for (std::size_t r = 0; r < 3; ++r) {
    total += c[r][static_cast<std::size_t>(a[r])];
  }
  EXPECT_DOUBLE_EQ(total, 5.0);  // 1 + 2 + 2
}

TEST(SparseLapTest, RowWithoutReachableFreeColumnStaysUnassigned) {
  SparseLap lap(1);
  lap.add_row({{0, 1.0}});
  lap.add_row({{0, 2.0}});
  const auto a = lap.solve();
  EXPECT_EQ(std::count(a.begin(), a.end(), -1), 1);
}

// Random sparse rectangular instances (with a private dummy column per row) against brute force.
TEST(SparseLapTest, MatchesBruteForceOnRandomInstances) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const std::uint32_t rows = 1 + static_cast<std::uint32_t>(rng() % 5);
    const std::uint32_t cols = 1 + static_cast<std::uint32_t>(rng() % 6);
    std::vector<std::vector<double>> cost(rows, std::vector<double>(cols, -1.0));
    std::vector<double> dummy(rows);
    SparseLap lap(cols + rows);
    for (std::uint32_t r = 0; r < rows; ++r) {
      std::vector<LapEdge> edges;
      for (std::uint32_t c = 0; c < cols; ++c) {
        if (rng() % 3 != 0) {
          cost[r][c] = static_cast<double>(rng() % 100);
          edges.push_back({c, cost[r][c]});
        }
      }
      dummy[r] = 50.0 + static_cast<double>(rng() % 100);
      edges.push_back({cols + r, dummy[r]});
      lap.add_row(edges);
    }
    const auto got = lap.solve();
    double got_total = 0;
    for (std::uint32_t r = 0; r < rows; ++r) {
      ASSERT_GE(got[r], 0);
      const auto c = static_cast<std::uint32_t>(got[r]);
      got_total += c < cols ? cost[r][c] : dummy[r];
    }
    // Brute force over column choices (each row: a real column or its dummy).
    double best = std::numeric_limits<double>::infinity();
    std::vector<int> choice(rows, -1);
    const auto search = [&](auto&& self, std::uint32_t r, std::vector<bool>& used,
                            double total) -> void {
      if (total >= best) {
        return;
      }
      if (r == rows) {
        best = total;
        return;
      }
      self(self, r + 1, used, total + dummy[r]);
      for (std::uint32_t c = 0; c < cols; ++c) {
        if (!used[c] && cost[r][c] >= 0) {
          used[c] = true;
          self(self, r + 1, used, total + cost[r][c]);
          used[c] = false;
        }
      }
    };
    std::vector<bool> used(cols, false);
    search(search, 0, used, 0.0);
    EXPECT_NEAR(got_total, best, 1e-9) << "trial " << trial;
  }
}

}  // namespace
}  // namespace oshin::dispatcher
