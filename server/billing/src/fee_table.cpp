#include "oshin/billing/fee_table.hpp"

#include <algorithm>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <set>
#include <utility>

#include "embedded_fee_tables.hpp"

namespace oshin::billing {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxTextBytes = std::size_t{1024} * 1024;
constexpr std::size_t kMaxLabelBytes = 256;
constexpr std::size_t kMaxNoteBytes = 4096;
constexpr std::size_t kMaxCodeBytes = 64;
constexpr std::size_t kMaxEchoedKeyBytes = 64;
constexpr std::int64_t kMaxMinutes = std::int64_t{24} * 60;

Failure invalid(std::string_view path, std::string_view what) {
  std::string message = "fee table: ";
  if (!path.empty()) {
    message.append(path).append(": ");
  }
  message.append(what);
  return Failure{Errc::invalid_argument, std::move(message)};
}

// A key for an error message: control bytes replaced, cut at a UTF-8 boundary when long.
std::string printable_key(std::string_view key) {
  std::string out;
  std::size_t end = std::min(key.size(), kMaxEchoedKeyBytes);
  while (end < key.size() && end > 0 && (static_cast<unsigned char>(key[end]) & 0xC0U) == 0x80U) {
    --end;
  }
  for (char c : key.substr(0, end)) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte < 0x20U || byte == 0x7FU ? '?' : c);
  }
  if (end < key.size()) {
    out.append("...");
  }
  return out;
}

std::string_view kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

// Boost.JSON keeps the last of duplicate keys silently; this pass finds them first.
class DuplicateKeyFinder {
 public:
  // Names required by json::basic_parser.
  // NOLINTBEGIN(readability-identifier-naming)
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  // NOLINTEND(readability-identifier-naming)

  bool on_document_begin(json::error_code& /*ec*/) { return true; }
  bool on_document_end(json::error_code& /*ec*/) { return true; }
  bool on_array_begin(json::error_code& /*ec*/) {
    scopes_.emplace_back(false, std::set<std::string>{});
    return true;
  }
  bool on_array_end(std::size_t /*n*/, json::error_code& /*ec*/) { return pop(); }
  bool on_object_begin(json::error_code& /*ec*/) {
    scopes_.emplace_back(true, std::set<std::string>{});
    return true;
  }
  bool on_object_end(std::size_t /*n*/, json::error_code& /*ec*/) { return pop(); }
  bool on_string_part(json::string_view /*s*/, std::size_t /*n*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_string(json::string_view /*s*/, std::size_t /*n*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t /*n*/, json::error_code& /*ec*/) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t /*n*/, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!scopes_.empty() && scopes_.back().first) {
      if (!scopes_.back().second.insert(key_).second) {
        duplicate_ = key_;
        ec = make_error_code(Errc::invalid_argument);
        return false;
      }
    }
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_int64(std::int64_t /*i*/, json::string_view /*s*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_uint64(std::uint64_t /*u*/, json::string_view /*s*/, json::error_code& /*ec*/) {
    return true;
  }
  bool on_double(double /*d*/, json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_bool(bool /*b*/, json::error_code& /*ec*/) { return true; }
  bool on_null(json::error_code& /*ec*/) { return true; }
  bool on_comment_part(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }
  bool on_comment(json::string_view /*s*/, json::error_code& /*ec*/) { return true; }

  [[nodiscard]] const std::string& duplicate() const { return duplicate_; }

 private:
  bool pop() {
    if (!scopes_.empty()) {
      scopes_.pop_back();
    }
    return true;
  }

  std::vector<std::pair<bool, std::set<std::string>>> scopes_;  // (is object, keys seen)
  std::string key_;
  std::string duplicate_;
};

// Parses `text`, rejecting malformed JSON and duplicate keys.
Outcome<json::value> parse_json(std::string_view text) {
  if (text.size() > kMaxTextBytes) {
    return invalid("", "larger than 1 MiB");
  }
  json::basic_parser<DuplicateKeyFinder> checker{json::parse_options{}};
  json::error_code ec;
  checker.write_some(false, text.data(), text.size(), ec);
  if (!checker.handler().duplicate().empty()) {
    return invalid("", "duplicate key \"" + printable_key(checker.handler().duplicate()) + "\"");
  }
  if (ec) {
    return invalid("", "malformed JSON: " + ec.message());
  }
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) {
    return invalid("", "malformed JSON: " + ec.message());
  }
  return value;
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string out(path);
  out.append(".").append(key);
  return out;
}

// A JSON object being read, with its path for messages.
class Fields {
 public:
  Fields(const json::object& object, std::string path) : object_(&object), path_(std::move(path)) {}

  // Fails on the first key not in `allowed`.
  [[nodiscard]] Outcome<void> only(std::initializer_list<std::string_view> allowed) const {
    for (const auto& entry : *object_) {
      const std::string_view key(entry.key().data(), entry.key().size());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        return invalid(path_, "unknown field \"" + printable_key(key) + "\"");
      }
    }
    return {};
  }

  [[nodiscard]] Outcome<Fields> object(std::string_view key) const {
    auto value = required(key);
    if (!value) {
      return value.error();
    }
    const json::object* object = (*value)->if_object();
    if (object == nullptr) {
      return invalid(join(path_, key), "expected an object, got " + std::string(kind_of(**value)));
    }
    return Fields(*object, join(path_, key));
  }

  // A string of at most `max_bytes` without control characters; empty only when allowed.
  [[nodiscard]] Outcome<std::string> text(std::string_view key, std::size_t max_bytes,
                                          bool allow_empty = false) const {
    auto value = required(key);
    if (!value) {
      return value.error();
    }
    const json::string* s = (*value)->if_string();
    if (s == nullptr) {
      return invalid(join(path_, key), "expected a string, got " + std::string(kind_of(**value)));
    }
    if (s->empty() && !allow_empty) {
      return invalid(join(path_, key), "must not be empty");
    }
    if (s->size() > max_bytes) {
      return invalid(join(path_, key), "longer than " + std::to_string(max_bytes) + " bytes");
    }
    for (char c : *s) {
      if (static_cast<unsigned char>(c) < 0x20U || c == '\x7F') {
        return invalid(join(path_, key), "contains a control character");
      }
    }
    return std::string(s->data(), s->size());
  }

  [[nodiscard]] Outcome<std::string> optional_text(std::string_view key,
                                                   std::size_t max_bytes) const {
    if (object_->if_contains(json::string_view(key.data(), key.size())) == nullptr) {
      return std::string();
    }
    return text(key, max_bytes, true);
  }

  [[nodiscard]] Outcome<std::int32_t> integer(std::string_view key, std::int64_t min,
                                              std::int64_t max) const {
    auto value = required(key);
    if (!value) {
      return value.error();
    }
    const std::string range = std::to_string(min) + ".." + std::to_string(max);
    const std::int64_t* i = (*value)->if_int64();
    if (i == nullptr || *i < min || *i > max) {
      std::string what = "expected an integer " + range;
      if (i == nullptr) {
        what += ", got " + std::string(kind_of(**value));
      }
      return invalid(join(path_, key), what);
    }
    return static_cast<std::int32_t>(*i);
  }

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  [[nodiscard]] Outcome<const json::value*> required(std::string_view key) const {
    const json::value* value = object_->if_contains(json::string_view(key.data(), key.size()));
    if (value == nullptr) {
      return invalid(path_, "missing field \"" + std::string(key) + "\"");
    }
    return value;
  }

  const json::object* object_;
  std::string path_;
};

// Codes appear in CSV reports and API payloads: keep them to a safe ASCII alphabet.
bool is_valid_code(std::string_view code) {
  return std::all_of(code.begin(), code.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// Reads {"code","name"} of an object whose keys must be among `allowed` (the caller reads the
// others).
Outcome<ItemLabel> read_label(const Fields& fields,
                              std::initializer_list<std::string_view> allowed) {
  if (auto ok = fields.only(allowed); !ok) {
    return ok.error();
  }
  auto code = fields.text("code", kMaxCodeBytes);
  if (!code) {
    return code.error();
  }
  if (!is_valid_code(*code)) {
    return invalid(join(fields.path(), "code"),
                   "may hold only ASCII letters, digits, '-', '_', '.'");
  }
  auto name = fields.text("name", kMaxLabelBytes);
  if (!name) {
    return name.error();
  }
  return ItemLabel{std::move(*code), std::move(*name)};
}

Outcome<TimeAddOnPoints> read_row(const Fields& points, std::string_view tier) {
  auto row = points.object(tier);
  if (!row) {
    return row.error();
  }
  if (auto ok = row->only({"urgent", "nightHoliday", "lateNight"}); !ok) {
    return ok.error();
  }
  auto urgent = row->integer("urgent", 0, kMaxPoints);
  if (!urgent) {
    return urgent.error();
  }
  auto night_holiday = row->integer("nightHoliday", 0, kMaxPoints);
  if (!night_holiday) {
    return night_holiday.error();
  }
  auto late_night = row->integer("lateNight", 0, kMaxPoints);
  if (!late_night) {
    return late_night.error();
  }
  return TimeAddOnPoints{*urgent, *night_holiday, *late_night};
}

Outcome<void> read_time_add_ons(const Fields& top, FeeTable& table) {
  auto add_ons = top.object("timeAddOns");
  if (!add_ons) {
    return add_ons.error();
  }
  if (auto ok = add_ons->only(
          {"urgent", "nightHoliday", "lateNight", "notSadameruKanjaSuffix", "points"});
      !ok) {
    return ok.error();
  }
  const std::pair<std::string_view, ItemLabel*> labels[] = {
      {"urgent", &table.urgent},
      {"nightHoliday", &table.night_holiday},
      {"lateNight", &table.late_night},
  };
  for (const auto& [key, label] : labels) {
    auto fields = add_ons->object(key);
    if (!fields) {
      return fields.error();
    }
    auto read = read_label(*fields, {"code", "name"});
    if (!read) {
      return read.error();
    }
    *label = std::move(*read);
  }
  auto suffix = add_ons->text("notSadameruKanjaSuffix", kMaxLabelBytes, true);
  if (!suffix) {
    return suffix.error();
  }
  table.not_sadameru_kanja_suffix = std::move(*suffix);

  auto points = add_ons->object("points");
  if (!points) {
    return points.error();
  }
  if (auto ok =
          points->only({"KYOKA_BEDS", "KYOKA_NO_BEDS", "ZAISHIN", "OTHER", "NOT_SADAMERU_KANJA"});
      !ok) {
    return ok.error();
  }
  const std::pair<std::string_view, TimeAddOnPoints*> rows[] = {
      {"KYOKA_BEDS", &table.kyoka_beds},
      {"KYOKA_NO_BEDS", &table.kyoka_no_beds},
      {"ZAISHIN", &table.zaishin},
      {"OTHER", &table.other},
      {"NOT_SADAMERU_KANJA", &table.not_sadameru_kanja},
  };
  for (const auto& [key, row] : rows) {
    auto read = read_row(*points, key);
    if (!read) {
      return read.error();
    }
    *row = *read;
  }
  return {};
}

Outcome<void> read_long_visit(const Fields& top, FeeTable& table) {
  auto fields = top.object("longVisit");
  if (!fields) {
    return fields.error();
  }
  auto label =
      read_label(*fields, {"code", "name", "includedMinutes", "stepMinutes", "pointsPerStep"});
  if (!label) {
    return label.error();
  }
  auto included = fields->integer("includedMinutes", 1, kMaxMinutes);
  if (!included) {
    return included.error();
  }
  auto step = fields->integer("stepMinutes", 1, kMaxMinutes);
  if (!step) {
    return step.error();
  }
  auto points = fields->integer("pointsPerStep", 0, kMaxPoints);
  if (!points) {
    return points.error();
  }
  table.long_visit = LongVisitRule{std::move(*label), *included, *step, *points};
  return {};
}

// Reads {"code","name","points"} into `label` and `points`.
Outcome<void> read_pointed_item(const Fields& top, std::string_view key, ItemLabel& label,
                                std::int32_t& points) {
  auto fields = top.object(key);
  if (!fields) {
    return fields.error();
  }
  auto read = read_label(*fields, {"code", "name", "points"});
  if (!read) {
    return read.error();
  }
  auto value = fields->integer("points", 0, kMaxPoints);
  if (!value) {
    return value.error();
  }
  label = std::move(*read);
  points = *value;
  return {};
}

Outcome<void> check_distinct_codes(const FeeTable& table) {
  const std::pair<std::string_view, const ItemLabel*> labels[] = {
      {"base", &table.base},
      {"timeAddOns.urgent", &table.urgent},
      {"timeAddOns.nightHoliday", &table.night_holiday},
      {"timeAddOns.lateNight", &table.late_night},
      {"longVisit", &table.long_visit.label},
      {"deathCertification", &table.death_certification},
  };
  for (std::size_t i = 0; i < std::size(labels); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (labels[i].second->code == labels[j].second->code) {
        return invalid(join(labels[i].first, "code"), "\"" + labels[i].second->code +
                                                          "\" is also the code of " +
                                                          std::string(labels[j].first));
      }
    }
  }
  return {};
}

}  // namespace

std::string_view to_string(InstitutionTier tier) {
  switch (tier) {
    case InstitutionTier::kKyokaBeds:
      return "KYOKA_BEDS";
    case InstitutionTier::kKyokaNoBeds:
      return "KYOKA_NO_BEDS";
    case InstitutionTier::kZaishin:
      return "ZAISHIN";
    case InstitutionTier::kOther:
      return "OTHER";
  }
  return {};
}

Result<InstitutionTier> parse_institution_tier(std::string_view name) {
  for (InstitutionTier tier : {InstitutionTier::kKyokaBeds, InstitutionTier::kKyokaNoBeds,
                               InstitutionTier::kZaishin, InstitutionTier::kOther}) {
    if (to_string(tier) == name) {
      return tier;
    }
  }
  return Errc::invalid_argument;
}

const TimeAddOnPoints& points_for(const FeeTable& table, InstitutionTier tier) {
  switch (tier) {
    case InstitutionTier::kKyokaBeds:
      return table.kyoka_beds;
    case InstitutionTier::kKyokaNoBeds:
      return table.kyoka_no_beds;
    case InstitutionTier::kZaishin:
      return table.zaishin;
    case InstitutionTier::kOther:
      return table.other;
  }
  return table.other;
}

Outcome<FeeTable> parse_fee_table(std::string_view text) {
  auto value = parse_json(text);
  if (!value) {
    return value.error();
  }
  const json::object* root = value->if_object();
  if (root == nullptr) {
    return invalid("", "expected a JSON object, got " + std::string(kind_of(*value)));
  }
  const Fields top(*root, "");
  if (auto ok = top.only({"name", "effectiveFrom", "note", "base", "timeAddOns", "longVisit",
                          "deathCertification"});
      !ok) {
    return ok.error();
  }
  FeeTable table;
  auto name = top.text("name", kMaxLabelBytes);
  if (!name) {
    return name.error();
  }
  table.name = std::move(*name);
  auto effective_from = top.text("effectiveFrom", kMaxLabelBytes);
  if (!effective_from) {
    return effective_from.error();
  }
  auto date = parse_civil_date(*effective_from);
  if (!date) {
    return invalid("effectiveFrom", "expected a date \"YYYY-MM-DD\"");
  }
  table.effective_from = *date;
  auto note = top.optional_text("note", kMaxNoteBytes);
  if (!note) {
    return note.error();
  }
  table.note = std::move(*note);
  if (auto ok = read_pointed_item(top, "base", table.base, table.base_points); !ok) {
    return ok.error();
  }
  if (auto ok = read_time_add_ons(top, table); !ok) {
    return ok.error();
  }
  if (auto ok = read_long_visit(top, table); !ok) {
    return ok.error();
  }
  if (auto ok = read_pointed_item(top, "deathCertification", table.death_certification,
                                  table.death_certification_points);
      !ok) {
    return ok.error();
  }
  if (auto ok = check_distinct_codes(table); !ok) {
    return ok.error();
  }
  return table;
}

Outcome<FeeTables> FeeTables::from_tables(std::vector<FeeTable> tables) {
  std::sort(tables.begin(), tables.end(), [](const FeeTable& a, const FeeTable& b) {
    return a.effective_from < b.effective_from;
  });
  for (std::size_t i = 1; i < tables.size(); ++i) {
    if (tables[i].effective_from == tables[i - 1].effective_from) {
      return Failure{Errc::invalid_argument, "fee tables \"" + tables[i - 1].name + "\" and \"" +
                                                 tables[i].name + "\" both take effect " +
                                                 to_string(tables[i].effective_from)};
    }
  }
  FeeTables out;
  out.tables_ = std::move(tables);
  return out;
}

const Outcome<FeeTables>& FeeTables::builtin() {
  static const Outcome<FeeTables> builtin_tables = []() -> Outcome<FeeTables> {
    std::vector<FeeTable> tables;
    for (const EmbeddedFeeTable& file : embedded_fee_tables()) {
      auto table = parse_fee_table(file.text);
      if (!table) {
        Failure failure = table.error();
        failure.message = std::string(file.file_name) + ": " + failure.message;
        return failure;
      }
      if (to_string(table->effective_from) + ".json" != file.file_name) {
        return Failure{Errc::invalid_argument, std::string(file.file_name) + ": effectiveFrom is " +
                                                   to_string(table->effective_from) +
                                                   "; the file must be named after it"};
      }
      tables.push_back(std::move(*table));
    }
    return from_tables(std::move(tables));
  }();
  return builtin_tables;
}

Outcome<const FeeTable*> FeeTables::table_for(CivilDate local_date) const {
  if (!is_valid(local_date)) {
    return Failure{Errc::invalid_argument, "not a valid date"};
  }
  for (auto it = tables_.rbegin(); it != tables_.rend(); ++it) {
    if (it->effective_from <= local_date) {
      return &*it;
    }
  }
  if (tables_.empty()) {
    return Failure{Errc::not_found, "no fee table is loaded"};
  }
  return Failure{Errc::not_found, "no fee table in force on " + to_string(local_date) +
                                      ": the oldest, \"" + tables_.front().name +
                                      "\", takes effect " +
                                      to_string(tables_.front().effective_from)};
}

}  // namespace oshin::billing
