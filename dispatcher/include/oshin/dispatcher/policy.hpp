#pragma once
/// Dispatch policies behind one interface. A policy reads a PlanningContext and names the
/// (visit, idle team) pairs to offer now; everything else waits for a later event.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "oshin/dispatcher/planning.hpp"

namespace oshin::dispatcher {

/// Offer ctx.visits[visit] to ctx.teams[team] now.
struct Assignment {
  std::uint32_t visit{0};
  std::uint32_t team{0};
  friend bool operator==(const Assignment&, const Assignment&) = default;
};

/// A dispatch policy. Policies may keep state between calls (e.g. the previous plan) but must
/// be deterministic: the same sequence of contexts gives the same answers. Not thread-safe;
/// called on the dispatcher's strand only.
class Policy {
 public:
  virtual ~Policy() = default;
  /// The policy's name as used on the command line.
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Chooses offers to make now. Every returned team must be idle and every pair allowed and
  /// fitting the shift; the dispatcher drops pairs that are not.
  [[nodiscard]] virtual std::vector<Assignment> decide(const PlanningContext& ctx) = 0;
};

/// The online policies.
enum class PolicyKind : std::uint8_t { kClosestIdle, kOptimal, kRolling };

/// Tuning of the online policies (all deterministic work limits, no wall clock).
struct PolicyOptions {
  std::uint32_t candidate_teams{8};  ///< teams considered per visit (nearest by arrival)
  /// rolling: hard budget of route-stop evaluations per decision (anytime local search).
  std::uint64_t work_budget{5000};
  /// optimal: how much later a visit left unassigned in this batch is assumed to be served.
  Duration defer{minutes(45)};
};

/// Parses closest-idle / optimal / rolling.
[[nodiscard]] std::optional<PolicyKind> parse_policy_kind(std::string_view name);
/// The command-line name of a policy kind.
[[nodiscard]] std::string_view policy_kind_name(PolicyKind kind);
/// Creates a policy.
[[nodiscard]] std::unique_ptr<Policy> make_policy(PolicyKind kind, PolicyOptions options = {});

}  // namespace oshin::dispatcher
