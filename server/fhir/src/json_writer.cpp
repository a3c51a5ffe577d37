#include "json_writer.hpp"

#include <boost/json/serialize.hpp>
#include <charconv>
#include <cmath>

namespace oshin::fhir::detail {
namespace {

void write_value(const boost::json::value& v, std::string& out);

void write_object(const boost::json::object& o, std::string& out) {
  out += '{';
  bool first = true;
  for (const auto& kv : o) {
    if (!first) {
      out += ',';
    }
    first = false;
    out += boost::json::serialize(boost::json::string_view(kv.key()));
    out += ':';
    write_value(kv.value(), out);
  }
  out += '}';
}

void write_array(const boost::json::array& a, std::string& out) {
  out += '[';
  bool first = true;
  for (const auto& item : a) {
    if (!first) {
      out += ',';
    }
    first = false;
    write_value(item, out);
  }
  out += ']';
}

void write_double(double d, std::string& out) {
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, d);
  if (res.ec != std::errc{}) {
    out += "null";
    return;
  }
  out.append(buf, res.ptr);
}

void write_value(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object:
      write_object(v.get_object(), out);
      break;
    case boost::json::kind::array:
      write_array(v.get_array(), out);
      break;
    case boost::json::kind::double_:
      write_double(v.get_double(), out);
      break;
    case boost::json::kind::string:
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::bool_:
    case boost::json::kind::null:
      out += boost::json::serialize(v);
      break;
  }
}

}  // namespace

std::string to_compact_json(const boost::json::value& v) {
  std::string out;
  write_value(v, out);
  return out;
}

}  // namespace oshin::fhir::detail
