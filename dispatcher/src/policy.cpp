#include "oshin/dispatcher/policy.hpp"

#include "policies.hpp"

namespace oshin::dispatcher {

std::unique_ptr<Policy> make_policy(PolicyKind kind, PolicyOptions options) {
  switch (kind) {
    case PolicyKind::kClosestIdle:
      return std::make_unique<detail::ClosestIdlePolicy>();
    case PolicyKind::kOptimal:
      return std::make_unique<detail::OptimalPolicy>(options);
    case PolicyKind::kRolling:
      return std::make_unique<detail::RollingPolicy>(options);
  }
  return std::make_unique<detail::ClosestIdlePolicy>();
}

}  // namespace oshin::dispatcher
