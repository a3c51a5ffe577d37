#include "oshin/dispatcher/travel_model.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace oshin::dispatcher {

Duration ceil_seconds(double seconds) {
  if (!(seconds > 0.0)) {
    return Duration::zero();
  }
  // Nudge down by a hair so that an exact millisecond value is not pushed up by FP noise; the
  // result still never undercuts the true time by more than 1e-9 s.
  const double ms = std::ceil(seconds * 1000.0 - 1e-6);
  if (ms >= static_cast<double>(std::numeric_limits<std::int64_t>::max() / 2)) {
    return Duration(std::numeric_limits<std::int64_t>::max() / 2);
  }
  return Duration(static_cast<std::int64_t>(ms));
}

HaversineTravelModel::HaversineTravelModel(TravelParams params)
    : params_(params),
      seconds_per_km_(params.circuity / params.speed_kmh * 3600.0),
      fixed_seconds_(params.fixed_minutes * 60.0) {}

Place HaversineTravelModel::make_place(LatLon where) const {
  return Place{GeoPoint(where), -1};
}

Duration HaversineTravelModel::travel(const Place& from, const Place& to) const {
  return ceil_seconds(from.geo.distance_km(to.geo) * seconds_per_km_ + fixed_seconds_);
}

double HaversineTravelModel::travel_seconds(LatLon from, LatLon to) const {
  return haversine_km(from, to) * seconds_per_km_ + fixed_seconds_;
}

std::unique_ptr<MatrixTravelModel> MatrixTravelModel::create(std::vector<LatLon> nodes,
                                                             std::vector<double> seconds) {
  if (nodes.empty() || seconds.size() != nodes.size() * nodes.size()) {
    return nullptr;
  }
  std::vector<Duration> table;
  table.reserve(seconds.size());
  for (const double s : seconds) {
    if (!std::isfinite(s) || s < 0.0) {
      return nullptr;
    }
    table.push_back(ceil_seconds(s));
  }
  for (const LatLon& n : nodes) {
    if (!is_valid(n)) {
      return nullptr;
    }
  }
  return std::unique_ptr<MatrixTravelModel>(
      new MatrixTravelModel(std::move(nodes), std::move(table)));
}

MatrixTravelModel::MatrixTravelModel(std::vector<LatLon> nodes, std::vector<Duration> table)
    : nodes_(std::move(nodes)), table_(std::move(table)) {
  points_.reserve(nodes_.size());
  for (const LatLon& n : nodes_) {
    points_.emplace_back(n);
  }
}

Place MatrixTravelModel::make_place(LatLon where) const {
  const GeoPoint p(where);
  std::size_t best = 0;
  double best_km = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < points_.size(); ++i) {
    const double d = p.distance_km(points_[i]);
    if (d < best_km) {
      best_km = d;
      best = i;
    }
  }
  return Place{p, static_cast<std::int32_t>(best)};
}

Duration MatrixTravelModel::travel(const Place& from, const Place& to) const {
  if (from.node < 0 || to.node < 0) {
    return Duration::max() / 4;
  }
  const auto n = nodes_.size();
  return table_[static_cast<std::size_t>(from.node) * n + static_cast<std::size_t>(to.node)];
}

}  // namespace oshin::dispatcher
