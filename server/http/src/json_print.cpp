#include "oshin/http/json_print.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/strutil.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

namespace oshin::http {
namespace {

namespace pb = google::protobuf;

// RFC 3339 range protobuf accepts for a Timestamp: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr std::int64_t kMinTimestampSeconds = -62135596800;
constexpr std::int64_t kMaxTimestampSeconds = 253402300799;

constexpr std::string_view kHex = "0123456789abcdef";

template <class Int>
void append_int(std::string& out, Int v) {
  std::array<char, 24> buf{};
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), res.ptr);
}

void append_u16_escape(std::string& out, std::uint32_t unit) {
  out += "\\u";
  out += kHex[(unit >> 12) & 0xf];
  out += kHex[(unit >> 8) & 0xf];
  out += kHex[(unit >> 4) & 0xf];
  out += kHex[unit & 0xf];
}

// The code points protobuf's JsonEscaping writes as a \u escape (beyond the ASCII ones handled by
// the caller): C1 controls and invisible or formatting characters that have caused security
// bugs in JavaScript.
bool escaped_code_point(std::uint32_t cp) {
  if (cp < 0xa0) {
    return cp >= 0x7f;
  }
  switch (cp) {
    case 0xfeff:
    case 0xfff9:
    case 0xfffa:
    case 0xfffb:
    case 0x00ad:
    case 0x06dd:
    case 0x070f:
    case 0x17b4:
    case 0x17b5:
      return true;
    default:
      break;
  }
  return (cp >= 0x0600 && cp <= 0x0603) || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
         (cp >= 0x206a && cp <= 0x206f) || cp == 0xe0001 || (cp >= 0x1d173 && cp <= 0x1d17a) ||
         (cp >= 0xe0020 && cp <= 0xe007f);
}

/// Decodes one UTF-8 code point at s[i]; returns its length, 0 when the bytes are not UTF-8
/// (protobuf drops such bytes; the caller falls back to protobuf's printer instead).
std::size_t decode_utf8(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t len = 0;
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  if (b0 >= 0xc0 && b0 <= 0xdf) {
    cp = b0 & 0x1fU;
    len = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    cp = b0 & 0x0fU;
    len = 3;
  } else if (b0 >= 0xf0 && b0 <= 0xf7) {
    cp = b0 & 0x07U;
    len = 4;
  } else {
    return 0;
  }
  if (i + len > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < 0x80 || b > 0xbf) {
      return 0;
    }
    cp = (cp << 6) | (b & 0x3fU);
  }
  // protobuf accepts overlong forms but not surrogates or code points past U+10FFFF.
  if ((cp & 0xfffff800U) == 0xd800U || cp > 0x10ffff) {
    return 0;
  }
  return len;
}

bool append_string(std::string& out, std::string_view s) {
  out += '"';
  std::size_t run = 0;  // start of the pending unescaped run
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>') {
      ++i;
      continue;
    }
    out.append(s.data() + run, i - run);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\r':
          out += "\\r";
          break;
        default:  // other controls, '<', '>', DEL
          append_u16_escape(out, c);
          break;
      }
      ++i;
    } else {
      std::uint32_t cp = 0;
      const std::size_t len = decode_utf8(s, i, cp);
      if (len == 0) {
        return false;
      }
      if (!escaped_code_point(cp)) {
        out.append(s.data() + i, len);
      } else if (cp < 0x10000) {
        append_u16_escape(out, cp);
      } else {
        const std::uint32_t v = cp - 0x10000;
        append_u16_escape(out, 0xd800 + (v >> 10));
        append_u16_escape(out, 0xdc00 + (v & 0x3ff));
      }
      i += len;
    }
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
  return true;
}

void append_digits(std::string& out, std::int64_t v, int width) {
  std::array<char, 16> buf{};
  for (int k = width - 1; k >= 0; --k) {
    buf[static_cast<std::size_t>(k)] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf.data(), static_cast<std::size_t>(width));
}

/// RFC 3339 in UTC as protobuf writes it: fractional seconds in 0, 3, 6 or 9 digits.
bool append_timestamp(std::string& out, const pb::Message& ts) {
  const pb::Descriptor* d = ts.GetDescriptor();
  const pb::Reflection* r = ts.GetReflection();
  const pb::FieldDescriptor* sf = d->FindFieldByNumber(1);
  const pb::FieldDescriptor* nf = d->FindFieldByNumber(2);
  if (sf == nullptr || nf == nullptr) {
    return false;
  }
  const std::int64_t seconds = r->GetInt64(ts, sf);
  const std::int32_t nanos = r->GetInt32(ts, nf);
  if (seconds < kMinTimestampSeconds || seconds > kMaxTimestampSeconds || nanos < 0 ||
      nanos > 999999999) {
    return false;
  }
  std::int64_t days = seconds / 86400;
  std::int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  out += '"';
  append_digits(out, year, 4);
  out += '-';
  append_digits(out, month, 2);
  out += '-';
  append_digits(out, day, 2);
  out += 'T';
  append_digits(out, rem / 3600, 2);
  out += ':';
  append_digits(out, rem / 60 % 60, 2);
  out += ':';
  append_digits(out, rem % 60, 2);
  if (nanos != 0) {
    out += '.';
    if (nanos % 1000000 == 0) {
      append_digits(out, nanos / 1000000, 3);
    } else if (nanos % 1000 == 0) {
      append_digits(out, nanos / 1000, 6);
    } else {
      append_digits(out, nanos, 9);
    }
  }
  out += "Z\"";
  return true;
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    out += pb::SimpleDtoa(v);
  }
}

void append_float(std::string& out, float v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
  } else if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
  } else {
    out += pb::SimpleFtoa(v);
  }
}

bool append_message(std::string& out, const pb::Message& msg);

/// One value of `field` (element `index` when repeated, else index < 0).
bool append_value(std::string& out, const pb::Message& msg, const pb::FieldDescriptor* field,
                  int index) {
  const pb::Reflection* r = msg.GetReflection();
  const bool rep = index >= 0;
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      append_int(out, rep ? r->GetRepeatedInt32(msg, field, index) : r->GetInt32(msg, field));
      return true;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      append_int(out, rep ? r->GetRepeatedUInt32(msg, field, index) : r->GetUInt32(msg, field));
      return true;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      out += '"';
      append_int(out, rep ? r->GetRepeatedInt64(msg, field, index) : r->GetInt64(msg, field));
      out += '"';
      return true;
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      out += '"';
      append_int(out, rep ? r->GetRepeatedUInt64(msg, field, index) : r->GetUInt64(msg, field));
      out += '"';
      return true;
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      append_double(out, rep ? r->GetRepeatedDouble(msg, field, index) : r->GetDouble(msg, field));
      return true;
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
      append_float(out, rep ? r->GetRepeatedFloat(msg, field, index) : r->GetFloat(msg, field));
      return true;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      out +=
          (rep ? r->GetRepeatedBool(msg, field, index) : r->GetBool(msg, field)) ? "true" : "false";
      return true;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const int number =
          rep ? r->GetRepeatedEnumValue(msg, field, index) : r->GetEnumValue(msg, field);
      const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByNumber(number);
      if (value == nullptr) {
        return false;
      }
      out += '"';
      out += value->name();
      out += '"';
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(msg, field, index, &scratch)
                                 : r->GetStringReference(msg, field, &scratch);
      if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
        std::string encoded;
        pb::Base64Escape(s, &encoded);
        out += '"';
        out += encoded;
        out += '"';
        return true;
      }
      return append_string(out, s);
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const pb::Message& sub =
          rep ? r->GetRepeatedMessage(msg, field, index) : r->GetMessage(msg, field);
      const pb::Descriptor* type = field->message_type();
      if (type->file()->name().rfind("google/protobuf/", 0) == 0) {
        if (type->full_name() == "google.protobuf.Timestamp") {
          return append_timestamp(out, sub);
        }
        return false;  // Any, Struct, wrappers, Duration...: protobuf's printer
      }
      return append_message(out, sub);
    }
  }
  return false;
}

bool is_well_known(const pb::FieldDescriptor* field) {
  return field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE &&
         field->message_type()->file()->name().rfind("google/protobuf/", 0) == 0;
}

/// One field as `"name":value`; false when the value is one this printer declines.
bool append_field(std::string& out, const pb::Message& msg, const pb::FieldDescriptor* field,
                  bool& first) {
  const pb::Reflection* r = msg.GetReflection();
  if (!first) {
    out += ',';
  }
  first = false;
  out += '"';
  out += field->json_name();
  out += "\":";
  if (field->is_map()) {
    if (r->FieldSize(msg, field) > 0) {
      return false;  // entry order and key rendering: left to protobuf
    }
    out += "{}";
    return true;
  }
  if (field->is_repeated()) {
    const int size = r->FieldSize(msg, field);
    out += '[';
    for (int k = 0; k < size; ++k) {
      if (k > 0) {
        out += ',';
      }
      if (!append_value(out, msg, field, k)) {
        return false;
      }
    }
    out += ']';
    return true;
  }
  return append_value(out, msg, field, -1);
}

// Field order is protobuf's printer's (DefaultValueObjectWriter): it lays out, in declaration
// order, a slot for every field except scalar oneof members (proto3 optionals included) and
// prints the slots of plain fields, lists, maps and set messages of the schema's own types
// there; set fields that had no slot (scalar oneof members) or arrive as a string into a
// message slot (well-known types such as Timestamp) follow, in the order of the wire format it
// re-reads, i.e. by field number.
bool append_message(std::string& out, const pb::Message& msg) {
  const pb::Descriptor* d = msg.GetDescriptor();
  const pb::Reflection* r = msg.GetReflection();
  out += '{';
  bool first = true;
  std::array<const pb::FieldDescriptor*, 64> late_fixed{};
  std::vector<const pb::FieldDescriptor*> late_spill;
  std::size_t late = 0;
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* field = d->field(i);
    const bool is_message = field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE;
    const bool known_in_advance =
        !is_well_known(field) && (is_message || field->containing_oneof() == nullptr);
    if (known_in_advance) {
      if (!field->is_repeated() && is_message && !r->HasField(msg, field)) {
        continue;  // an unset message is left out
      }
      if (!append_field(out, msg, field, first)) {
        return false;
      }
    } else if (field->is_repeated() ? r->FieldSize(msg, field) > 0 : r->HasField(msg, field)) {
      if (late < late_fixed.size()) {
        late_fixed[late++] = field;
      } else {
        late_spill.push_back(field);
      }
    }
  }
  const auto by_number = [](const pb::FieldDescriptor* a, const pb::FieldDescriptor* b) {
    return a->number() < b->number();
  };
  const pb::FieldDescriptor** begin = late_fixed.data();
  const pb::FieldDescriptor** end = late_fixed.data() + late;
  if (!late_spill.empty()) {  // more than 64 late fields: not in this schema, but handled
    late_spill.insert(late_spill.begin(), begin, end);
    begin = late_spill.data();
    end = late_spill.data() + late_spill.size();
  }
  std::sort(begin, end, by_number);
  for (const pb::FieldDescriptor** it = begin; it != end; ++it) {
    if (!append_field(out, msg, *it, first)) {
      return false;
    }
  }
  out += '}';
  return true;
}

}  // namespace

bool append_json_fast(const google::protobuf::Message& msg, std::string& out) {
  if (msg.GetDescriptor()->file()->name().rfind("google/protobuf/", 0) == 0) {
    return false;  // a well-known type at the top: protobuf's printer
  }
  const std::size_t mark = out.size();
  if (!append_message(out, msg)) {
    out.resize(mark);
    return false;
  }
  return true;
}

}  // namespace oshin::http
