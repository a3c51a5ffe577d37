#include <gtest/gtest.h>

#include <random>

#include "oshin/dispatcher/geo.hpp"
#include "oshin/dispatcher/rfc3339.hpp"
#include "oshin/dispatcher/travel_model.hpp"

namespace oshin::dispatcher {
namespace {

TEST(GeoTest, HaversineKnownDistance) {
  // One degree of latitude on a sphere of radius 6371.0088 km.
  EXPECT_NEAR(haversine_km({35.0, 139.0}, {36.0, 139.0}), 6371.0088 * 3.14159265358979 / 180.0,
              1e-9);
  EXPECT_DOUBLE_EQ(haversine_km({35.6716, 139.395}, {35.6716, 139.395}), 0.0);
}

TEST(GeoTest, CachedPointsMatchTheTextbookFormula) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> lat(35.3, 36.0);
  std::uniform_real_distribution<double> lon(139.0, 139.8);
  for (int i = 0; i < 2000; ++i) {
    const LatLon a{lat(rng), lon(rng)};
    const LatLon b{lat(rng), lon(rng)};
    const double expected = haversine_km(a, b);
    EXPECT_NEAR(GeoPoint(a).distance_km(GeoPoint(b)), expected, 1e-9 + expected * 1e-12);
  }
}

TEST(GeoTest, ValidatesCoordinates) {
  EXPECT_TRUE(is_valid({35.0, 139.0}));
  EXPECT_FALSE(is_valid({91.0, 0.0}));
  EXPECT_FALSE(is_valid({0.0, -181.0}));
  EXPECT_FALSE(is_valid({std::numeric_limits<double>::quiet_NaN(), 0.0}));
}

TEST(TravelModelTest, HaversineCircuitySpeedAndFixedMinutes) {
  const HaversineTravelModel model(TravelParams{1.3, 28.0, 4.0});
  const LatLon a{35.6716, 139.395};
  const LatLon b{35.7000, 139.420};
  const double seconds = haversine_km(a, b) * 1.3 / 28.0 * 3600.0 + 240.0;
  EXPECT_NEAR(model.travel_seconds(a, b), seconds, 1e-9);
  const Duration d = model.travel(model.make_place(a), model.make_place(b));
  // Rounded up to the millisecond, never down.
  EXPECT_GE(static_cast<double>(d.count()) / 1000.0, seconds - 1e-9);
  EXPECT_LT(static_cast<double>(d.count()) / 1000.0, seconds + 0.001);
  EXPECT_EQ(model.travel(model.make_place(a), model.make_place(a)), std::chrono::minutes(4));
}

TEST(TravelModelTest, CeilSeconds) {
  EXPECT_EQ(ceil_seconds(1.0), Duration(1000));
  EXPECT_EQ(ceil_seconds(1.0001), Duration(1001));
  EXPECT_EQ(ceil_seconds(-5.0), Duration(0));
}

TEST(TravelModelTest, MatrixSnapsToNearestNodeAndLooksUp) {
  const auto model = MatrixTravelModel::create({{35.0, 139.0}, {35.1, 139.0}}, {0, 600, 660, 0});
  ASSERT_NE(model, nullptr);
  const Place a = model->make_place({35.01, 139.0});
  const Place b = model->make_place({35.09, 139.0});
  EXPECT_EQ(a.node, 0);
  EXPECT_EQ(b.node, 1);
  EXPECT_EQ(model->travel(a, b), std::chrono::seconds(600));
  EXPECT_EQ(model->travel(b, a), std::chrono::seconds(660));
  EXPECT_EQ(MatrixTravelModel::create({{35.0, 139.0}}, {0, 1}), nullptr);
  EXPECT_EQ(MatrixTravelModel::create({{35.0, 139.0}}, {-1}), nullptr);
}

TEST(Rfc3339Test, ParsesOffsetsAndFractions) {
  const auto t = parse_rfc3339("2026-01-10T21:14:00+09:00");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->offset_minutes, 540);
  EXPECT_EQ(t->at, parse_rfc3339("2026-01-10T12:14:00Z")->at);
  EXPECT_EQ(parse_rfc3339("2026-01-10T12:14:00.250Z")->at - t->at, Duration(250));
  EXPECT_EQ(format_rfc3339(t->at, 540), "2026-01-10T21:14:00+09:00");
  EXPECT_EQ(format_rfc3339(t->at + Duration(5), 0), "2026-01-10T12:14:00.005Z");
  EXPECT_EQ(format_rfc3339(t->at, -330), "2026-01-10T06:44:00-05:30");
  for (const char* bad : {"", "2026-01-10", "2026-13-10T00:00:00Z", "2026-02-30T00:00:00Z",
                          "2026-01-10T24:00:00Z", "2026-01-10T00:00:00", "2026-01-10T00:00:00+9",
                          "2026-01-10T00:00:00.Z", "2026-01-10T00:00:00Zjunk"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace oshin::dispatcher
