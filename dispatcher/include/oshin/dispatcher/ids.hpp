#pragma once
/// Strong identifiers of the scheduling core. Values are opaque 64-bit numbers chosen by the
/// caller (the server maps its own ids, the simulator numbers scenario entries); the core only
/// compares them, and breaks every tie by the smaller id.

#include <compare>
#include <cstdint>

namespace oshin::dispatcher {

/// A 64-bit id that cannot be mixed up with an id of another kind.
template <typename Tag>
class StrongId {
 public:
  constexpr StrongId() = default;
  /// Wraps a raw value; 0 is a valid value but conventionally means "none".
  constexpr explicit StrongId(std::uint64_t value) : value_(value) {}
  /// The raw value.
  [[nodiscard]] constexpr std::uint64_t value() const { return value_; }
  friend constexpr auto operator<=>(const StrongId&, const StrongId&) = default;

 private:
  std::uint64_t value_{0};
};

struct TeamIdTag {};
struct VisitIdTag {};
struct OfferIdTag {};

/// An on-call team (doctor + driver + car on one shift).
using TeamId = StrongId<TeamIdTag>;
/// A visit request (one house call).
using VisitId = StrongId<VisitIdTag>;
/// An offer of one visit to one team; numbered by the core, rising from 1.
using OfferId = StrongId<OfferIdTag>;

}  // namespace oshin::dispatcher
