#include "oshin/dispatcher/geo.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace oshin::dispatcher {
namespace {

constexpr double kRadiansPerDegree = std::numbers::pi / 180.0;

}  // namespace

GeoPoint::GeoPoint(LatLon where) : where_(where) {
  const double lat = where.lat * kRadiansPerDegree;
  const double lon = where.lon * kRadiansPerDegree;
  const double cos_lat = std::cos(lat);
  x_ = cos_lat * std::cos(lon);
  y_ = cos_lat * std::sin(lon);
  z_ = std::sin(lat);
}

double GeoPoint::distance_km(const GeoPoint& other) const {
  // hav(theta) = sin^2(theta/2) = chord^2 / 4, so theta = 2 asin(chord / 2).
  const double dx = x_ - other.x_;
  const double dy = y_ - other.y_;
  const double dz = z_ - other.z_;
  const double half_chord = std::min(1.0, 0.5 * std::sqrt(dx * dx + dy * dy + dz * dz));
  return 2.0 * kEarthRadiusKm * std::asin(half_chord);
}

double haversine_km(LatLon a, LatLon b) {
  const double lat1 = a.lat * kRadiansPerDegree;
  const double lat2 = b.lat * kRadiansPerDegree;
  const double dlat = lat2 - lat1;
  const double dlon = (b.lon - a.lon) * kRadiansPerDegree;
  const double s1 = std::sin(dlat / 2.0);
  const double s2 = std::sin(dlon / 2.0);
  const double h = std::min(1.0, s1 * s1 + std::cos(lat1) * std::cos(lat2) * s2 * s2);
  return 2.0 * kEarthRadiusKm * std::asin(std::sqrt(h));
}

bool is_valid(LatLon where) {
  return std::isfinite(where.lat) && std::isfinite(where.lon) && where.lat >= -90.0 &&
         where.lat <= 90.0 && where.lon >= -180.0 && where.lon <= 180.0;
}

}  // namespace oshin::dispatcher
