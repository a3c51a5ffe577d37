#include "uuid_maker.hpp"

#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid_io.hpp>

namespace oshin::fhir::detail {

UuidMaker::UuidMaker(std::string_view base)
    : namespace_(
          boost::uuids::name_generator_sha1(boost::uuids::ns::url())(base.data(), base.size())) {}

std::string UuidMaker::make(std::string_view name) const {
  const boost::uuids::name_generator_sha1 gen(namespace_);
  return boost::uuids::to_string(gen(name.data(), name.size()));
}

std::string UuidMaker::urn(std::string_view name) const {
  return "urn:uuid:" + make(name);
}

}  // namespace oshin::fhir::detail
