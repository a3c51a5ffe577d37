#pragma once
/// Travel-time models. Decisions call travel() in their inner loops, so a model must do all
/// expensive work (trigonometry, snapping to matrix nodes) in make_place(), once per location.

#include <cstdint>
#include <memory>
#include <vector>

#include "oshin/dispatcher/geo.hpp"
#include "oshin/dispatcher/time.hpp"

namespace oshin::dispatcher {

/// A location prepared for fast travel queries by the model that made it.
struct Place {
  GeoPoint geo;           ///< the coordinate, with cached trigonometry
  std::int32_t node{-1};  ///< matrix node for matrix models, -1 otherwise
};

/// Parameters of the default model: haversine x circuity / speed + fixed minutes.
struct TravelParams {
  double circuity{1.3};       ///< road distance / straight-line distance, >= 1
  double speed_kmh{28.0};     ///< mean night driving speed, > 0
  double fixed_minutes{4.0};  ///< parking and reaching the door, >= 0
};

/// Interface of a travel-time provider. Implementations are immutable after construction and
/// therefore safe to share; travel() must be cheap (no trigonometry, no I/O, no allocation).
class TravelModel {
 public:
  virtual ~TravelModel() = default;
  /// Prepares `where` for travel() queries (the only place allowed to do expensive work).
  [[nodiscard]] virtual Place make_place(LatLon where) const = 0;
  /// Driving time from `from` to `to`, rounded up to the millisecond; zero when from == to
  /// is not guaranteed (the fixed minutes apply to every leg).
  [[nodiscard]] virtual Duration travel(const Place& from, const Place& to) const = 0;
};

/// The default model of DESIGN.md "Travel time".
class HaversineTravelModel final : public TravelModel {
 public:
  /// Uses `params` (callers validate: circuity >= 1, speed > 0, fixed >= 0).
  explicit HaversineTravelModel(TravelParams params = {});
  [[nodiscard]] Place make_place(LatLon where) const override;
  [[nodiscard]] Duration travel(const Place& from, const Place& to) const override;
  /// Travel time in fractional seconds, unrounded (for checks and tests).
  [[nodiscard]] double travel_seconds(LatLon from, LatLon to) const;
  /// The parameters in force.
  [[nodiscard]] const TravelParams& params() const { return params_; }

 private:
  TravelParams params_;
  double seconds_per_km_;
  double fixed_seconds_;
};

/// A precomputed travel-time matrix between fixed nodes (e.g. exported from OSRM /table).
/// make_place() snaps a coordinate to its nearest node (a linear scan, done once per place);
/// travel() is one table lookup.
class MatrixTravelModel final : public TravelModel {
 public:
  /// `nodes` are the matrix's points; `seconds` is row-major, nodes.size()^2 entries, the
  /// driving time from row node to column node. Returns nullptr when sizes do not match or a
  /// value is negative or not finite.
  [[nodiscard]] static std::unique_ptr<MatrixTravelModel> create(std::vector<LatLon> nodes,
                                                                 std::vector<double> seconds);
  [[nodiscard]] Place make_place(LatLon where) const override;
  [[nodiscard]] Duration travel(const Place& from, const Place& to) const override;
  /// Number of nodes.
  [[nodiscard]] std::size_t size() const { return nodes_.size(); }

 private:
  MatrixTravelModel(std::vector<LatLon> nodes, std::vector<Duration> table);
  std::vector<LatLon> nodes_;
  std::vector<GeoPoint> points_;
  std::vector<Duration> table_;
};

}  // namespace oshin::dispatcher
