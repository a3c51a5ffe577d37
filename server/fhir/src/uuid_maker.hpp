#pragma once

#include <boost/uuid/uuid.hpp>
#include <string>
#include <string_view>

namespace oshin::fhir::detail {

/// Name-based (version 5, SHA-1) UUIDs in a namespace of their own: the namespace is the v5 UUID
/// of `base` in the RFC 4122 URL namespace, so one deployment base gives stable UUIDs and two
/// bases never collide.
class UuidMaker {
 public:
  explicit UuidMaker(std::string_view base);

  /// "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx" for `name` (e.g. "Patient/p-17"), lower case.
  std::string make(std::string_view name) const;

  /// "urn:uuid:" + make(name).
  std::string urn(std::string_view name) const;

 private:
  boost::uuids::uuid namespace_;
};

}  // namespace oshin::fhir::detail
