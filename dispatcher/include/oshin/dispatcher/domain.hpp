#pragma once
/// Domain vocabulary of the scheduling core: skills, urgency, teams and visit requests.

#include <cstdint>
#include <optional>
#include <string_view>

#include "oshin/dispatcher/geo.hpp"
#include "oshin/dispatcher/ids.hpp"
#include "oshin/dispatcher/time.hpp"

namespace oshin::dispatcher {

/// A clinical skill a visit may need and a team may have.
enum class Skill : std::uint8_t { kPediatric = 0, kPalliative = 1, kRespiratory = 2 };

/// A set of skills (bit i = Skill i).
class SkillSet {
 public:
  constexpr SkillSet() = default;
  /// Adds `s` and returns the new set.
  [[nodiscard]] constexpr SkillSet with(Skill s) const {
    return SkillSet(static_cast<std::uint8_t>(bits_ | bit(s)));
  }
  /// True when `s` is in the set.
  [[nodiscard]] constexpr bool has(Skill s) const { return (bits_ & bit(s)) != 0; }
  /// True when every skill of `needed` is in this set.
  [[nodiscard]] constexpr bool covers(SkillSet needed) const {
    return (needed.bits_ & static_cast<std::uint8_t>(~bits_)) == 0;
  }
  /// The raw bits.
  [[nodiscard]] constexpr std::uint8_t bits() const { return bits_; }
  friend constexpr bool operator==(SkillSet, SkillSet) = default;

 private:
  constexpr explicit SkillSet(std::uint8_t bits) : bits_(bits) {}
  static constexpr std::uint8_t bit(Skill s) {
    return static_cast<std::uint8_t>(1U << static_cast<unsigned>(s));
  }
  std::uint8_t bits_{0};
};

/// Parses an API skill name (PEDIATRIC, PALLIATIVE, RESPIRATORY).
[[nodiscard]] std::optional<Skill> parse_skill(std::string_view name);
/// The API name of a skill.
[[nodiscard]] std::string_view skill_name(Skill s);

/// How soon a visit is needed. Targets (request to arrival): URGENT 60 min, SOON 180 min.
enum class Urgency : std::uint8_t { kUrgent, kSoon };

/// Target response time of an urgency level.
[[nodiscard]] constexpr Duration target_response(Urgency u) {
  return u == Urgency::kUrgent ? minutes(60) : minutes(180);
}
/// Parses URGENT / SOON.
[[nodiscard]] std::optional<Urgency> parse_urgency(std::string_view name);
/// The API name of an urgency level.
[[nodiscard]] std::string_view urgency_name(Urgency u);

/// Why a visit is requested (API enum). Informational for the core.
enum class Reason : std::uint8_t { kAcuteChange, kEndOfLife, kDeathConfirmation, kOther };
/// Parses an API reason name.
[[nodiscard]] std::optional<Reason> parse_reason(std::string_view name);
/// The API name of a reason.
[[nodiscard]] std::string_view reason_name(Reason r);

/// A team on one shift.
struct TeamSpec {
  TeamId id;
  LatLon base;                  ///< where the shift starts
  TimePoint shift_start;        ///< first instant the team may be offered a visit
  TimePoint shift_end;          ///< arrivals must be no later than this
  Duration allowed_overtime{};  ///< completions may run this long past shift_end
  SkillSet skills;
};

/// A visit request as the core needs it.
struct VisitRequest {
  VisitId id;
  TimePoint requested_at;  ///< no team departs toward it before this instant
  LatLon location;         ///< the patient's home
  Urgency urgency{Urgency::kUrgent};
  Reason reason{Reason::kAcuteChange};
  SkillSet needed_skills;
  /// Planned time on site; when absent the dispatcher's configured default applies.
  std::optional<Duration> expected_service;
};

}  // namespace oshin::dispatcher
