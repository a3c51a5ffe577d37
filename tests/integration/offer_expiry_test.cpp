// Offer expiry across restarts: the core is rebuilt by replaying its log, and an offer must
// lapse in the replay exactly when it lapsed live, even when offerTimeoutSeconds changed between
// the two runs (the replay once used the new timeout for every offer of the old run, so the
// rebuilt core disagreed with the stored offers and the visit was stuck).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "night.hpp"

namespace oshin::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::string str(const json::value& v) {
  return std::string(v.as_string());
}

/// Seconds since the epoch of an RFC 3339 UTC timestamp ("2026-11-24T22:30:01.123Z"), whole
/// seconds only.
std::int64_t epoch_seconds(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    ADD_FAILURE() << "not a timestamp: " << text;
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm));
}

/// The pending offer the visit names, with the doctor whose team holds it; nullopt while the
/// visit is not OFFERED or the offer is not (yet) listed.
struct Held {
  std::string doctor;
  json::object offer;
};
std::optional<Held> held_offer(Night& night, const std::string& visit_id) {
  auto visit = night.get("staff1", "/v1/visits/" + visit_id);
  EXPECT_EQ(visit.status, 200u) << visit.body;
  const auto& v = visit.json().as_object();
  if (str(v.at("status")) != "OFFERED" || !v.contains("offerId")) {
    return std::nullopt;
  }
  const std::string offer_id = str(v.at("offerId"));
  for (const std::string doctor : {"doctor1", "doctor2"}) {
    auto offers = night.get(doctor, "/v1/offers");
    EXPECT_EQ(offers.status, 200u) << offers.body;
    for (const auto& o : offers.json().at("offers").as_array()) {
      if (str(o.at("id")) == offer_id) {
        return Held{doctor, o.as_object()};
      }
    }
  }
  return std::nullopt;
}

std::int64_t lifetime_seconds(const json::object& offer) {
  return epoch_seconds(str(offer.at("expiresAt"))) - epoch_seconds(str(offer.at("createdAt")));
}

TEST(OfferExpiry, ReplayKeepsEachOffersTimeoutAfterTheConfiguredTimeoutChanges) {
  TempDir dir;
  // Rate limits off: the test polls.
  Night night(
      dir.path(),
      json::object{
          {"offerTimeoutSeconds", 2},
          {"limits", {{"requestsPerSecondPerAddress", 0}, {"requestsPerSecondPerAccount", 0}}}});
  const std::string patient =
      night.make_patient("Expiry Replay", Night::kCenterLat, Night::kCenterLon + 0.01);
  auto created = night.request_visit("nurse1", patient);
  ASSERT_EQ(created.status, 201u) << created.body;
  const std::string visit_id = str(created.json().at("id"));
  ASSERT_EQ(str(created.json().at("status")), "OFFERED") << created.body;
  const std::string first_offer = str(created.json().at("offerId"));

  // Live, with 2 s offers: the first lapses and the visit is offered again.
  std::optional<Held> again;
  for (const auto give_up = Clock::now() + std::chrono::seconds(30);;) {
    again = held_offer(night, visit_id);
    if (again && str(again->offer.at("id")) != first_offer) {
      break;
    }
    ASSERT_LT(Clock::now(), give_up) << "the first offer did not expire and move on";
  }
  const std::int64_t lived = lifetime_seconds(again->offer);
  EXPECT_TRUE(lived >= 1 && lived <= 3) << json::serialize(again->offer);

  // Restart with 60-minute offers. The replay must lapse the 2 s offers as they lapsed live; the
  // next offer made after the restart lives 60 minutes and can be accepted.
  night.restart_with_config({{"offerTimeoutSeconds", 3600}});
  std::optional<Held> lasting;
  for (const auto give_up = Clock::now() + std::chrono::seconds(30);;) {
    lasting = held_offer(night, visit_id);
    if (lasting && lifetime_seconds(lasting->offer) > 3000) {
      break;
    }
    ASSERT_LT(Clock::now(), give_up) << "no 60-minute offer after the restart; the visit: "
                                     << night.get("staff1", "/v1/visits/" + visit_id).body;
  }
  const std::string offer_id = str(lasting->offer.at("id"));
  auto accepted = night.post_empty(lasting->doctor, "/v1/offers/" + offer_id + "/accept");
  ASSERT_EQ(accepted.status, 200u) << accepted.body;
  EXPECT_EQ(str(accepted.json().at("status")), "ASSIGNED");

  // The log now holds offers under both timeouts; after kill -9 its replay gives the same state.
  night.restart_after_kill();
  auto visit = night.get("staff1", "/v1/visits/" + visit_id);
  ASSERT_EQ(visit.status, 200u) << visit.body;
  EXPECT_EQ(str(visit.json().at("status")), "ASSIGNED") << visit.body;
  EXPECT_EQ(str(visit.json().at("teamId")), night.team_of(lasting->doctor)) << visit.body;
  for (const std::string doctor : {"doctor1", "doctor2"}) {
    auto offers = night.get(doctor, "/v1/offers");
    ASSERT_EQ(offers.status, 200u) << offers.body;
    EXPECT_TRUE(offers.json().at("offers").as_array().empty()) << doctor << ": " << offers.body;
  }
  // The replayed core agrees: the team is busy with this visit, so a new request goes to the
  // other team.
  const std::string other = lasting->doctor == "doctor1" ? "doctor2" : "doctor1";
  auto second = night.request_visit("nurse1", patient);
  ASSERT_EQ(second.status, 201u) << second.body;
  auto next = held_offer(night, str(second.json().at("id")));
  ASSERT_TRUE(next) << second.body;
  EXPECT_EQ(next->doctor, other);
}

}  // namespace
}  // namespace oshin::testing
