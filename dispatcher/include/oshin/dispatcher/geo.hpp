#pragma once
/// Geography: WGS84 coordinates and great-circle (haversine) distance on a sphere of radius
/// 6,371.0088 km (the mean Earth radius, DESIGN.md "Simulator and scenarios").

namespace oshin::dispatcher {

/// Mean Earth radius in kilometres.
inline constexpr double kEarthRadiusKm = 6371.0088;

/// A coordinate in degrees.
struct LatLon {
  double lat{0.0};  ///< degrees north, in [-90, 90]
  double lon{0.0};  ///< degrees east, in [-180, 180]
  friend constexpr bool operator==(const LatLon&, const LatLon&) = default;
};

/// A coordinate with its trigonometry computed once: the unit vector on the sphere. Distances
/// between two GeoPoints need one sqrt and one asin, no sin/cos per pair.
class GeoPoint {
 public:
  GeoPoint() : GeoPoint(LatLon{}) {}
  /// Precomputes the unit vector of `where`.
  explicit GeoPoint(LatLon where);
  /// The coordinate in degrees.
  [[nodiscard]] LatLon lat_lon() const { return where_; }
  /// Great-circle distance in kilometres (exactly the haversine formula: hav(theta) = chord^2/4).
  [[nodiscard]] double distance_km(const GeoPoint& other) const;

 private:
  LatLon where_;
  double x_{0.0};
  double y_{0.0};
  double z_{0.0};
};

/// Textbook haversine distance in kilometres (reference implementation; uses trigonometry).
[[nodiscard]] double haversine_km(LatLon a, LatLon b);

/// True when the coordinate is finite and within the valid ranges.
[[nodiscard]] bool is_valid(LatLon where);

}  // namespace oshin::dispatcher
