#include "oshin/dispatcher/scenario.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <set>

#include "oshin/dispatcher/rfc3339.hpp"

namespace oshin::dispatcher {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxTeams = 10'000;
constexpr std::size_t kMaxRequests = 200'000;
constexpr std::size_t kMaxIdLength = 128;

// Reads one document, remembering the first error with the path where it happened.
class Reader {
 public:
  [[nodiscard]] bool failed() const { return !error_.empty(); }
  [[nodiscard]] const std::string& error() const { return error_; }

  bool fail(const std::string& path, const std::string& message) {
    if (error_.empty()) {
      error_ = path + ": " + message;
    }
    return false;
  }

  const json::object* object(const json::value& v, const std::string& path) {
    if (!v.is_object()) {
      fail(path, "expected an object");
      return nullptr;
    }
    return &v.get_object();
  }

  bool only_keys(const json::object& o, const std::string& path,
                 std::initializer_list<std::string_view> keys) {
    for (const auto& kv : o) {
      bool known = false;
      for (const std::string_view k : keys) {
        known = known || kv.key() == k;
      }
      if (!known) {
        return fail(path, "unknown field \"" + std::string(kv.key()) + "\"");
      }
    }
    return true;
  }

  std::optional<double> number(const json::object& o, std::string_view key, const std::string& path,
                               bool required) {
    const json::value* v = o.if_contains(key);
    const std::string where = path + "." + std::string(key);
    if (v == nullptr) {
      if (required) {
        fail(where, "missing");
      }
      return std::nullopt;
    }
    double d = 0.0;
    if (v->is_double()) {
      d = v->get_double();
    } else if (v->is_int64()) {
      d = static_cast<double>(v->get_int64());
    } else if (v->is_uint64()) {
      d = static_cast<double>(v->get_uint64());
    } else {
      fail(where, "expected a number");
      return std::nullopt;
    }
    if (!std::isfinite(d)) {
      fail(where, "expected a finite number");
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::string> string(const json::object& o, std::string_view key,
                                    const std::string& path) {
    const json::value* v = o.if_contains(key);
    const std::string where = path + "." + std::string(key);
    if (v == nullptr) {
      fail(where, "missing");
      return std::nullopt;
    }
    if (!v->is_string()) {
      fail(where, "expected a string");
      return std::nullopt;
    }
    return std::string(v->get_string());
  }

  std::optional<TimePoint> time(const json::object& o, std::string_view key,
                                const std::string& path, int& offset, bool& offset_seen) {
    const auto text = string(o, key, path);
    if (!text) {
      return std::nullopt;
    }
    const auto parsed = parse_rfc3339(*text);
    if (!parsed) {
      fail(path + "." + std::string(key), "expected an RFC 3339 date-time with offset");
      return std::nullopt;
    }
    if (!offset_seen) {
      offset = parsed->offset_minutes;
      offset_seen = true;
    }
    return parsed->at;
  }

  std::optional<LatLon> location(const json::object& o, std::string_view key,
                                 const std::string& path, bool required) {
    const json::value* v = o.if_contains(key);
    const std::string where = path + "." + std::string(key);
    if (v == nullptr) {
      if (required) {
        fail(where, "missing");
      }
      return std::nullopt;
    }
    const json::object* p = object(*v, where);
    if (p == nullptr || !only_keys(*p, where, {"lat", "lon"})) {
      return std::nullopt;
    }
    const auto lat = number(*p, "lat", where, true);
    const auto lon = number(*p, "lon", where, true);
    if (!lat || !lon) {
      return std::nullopt;
    }
    const LatLon result{*lat, *lon};
    if (!is_valid(result)) {
      fail(where, "latitude must be in [-90, 90] and longitude in [-180, 180]");
      return std::nullopt;
    }
    return result;
  }

  std::optional<SkillSet> skills(const json::object& o, const std::string& path) {
    SkillSet set;
    const json::value* v = o.if_contains("skills");
    if (v == nullptr) {
      return set;
    }
    if (!v->is_array()) {
      fail(path + ".skills", "expected an array of skill names");
      return std::nullopt;
    }
    for (const json::value& item : v->get_array()) {
      const auto skill = item.is_string() ? parse_skill(item.get_string()) : std::nullopt;
      if (!skill) {
        fail(path + ".skills", "expected PEDIATRIC, PALLIATIVE or RESPIRATORY");
        return std::nullopt;
      }
      set = set.with(*skill);
    }
    return set;
  }

  std::optional<std::string> id(const json::object& o, const std::string& path,
                                std::set<std::string>& seen) {
    auto value = string(o, "id", path);
    if (!value) {
      return std::nullopt;
    }
    if (value->empty() || value->size() > kMaxIdLength) {
      fail(path + ".id", "must be 1-128 characters");
      return std::nullopt;
    }
    if (!seen.insert(*value).second) {
      fail(path + ".id", "duplicate id \"" + *value + "\"");
      return std::nullopt;
    }
    return value;
  }

 private:
  std::string error_;
};

Duration from_minutes(double m) {
  return Duration(std::llround(m * 60000.0));
}
Duration from_seconds(double s) {
  return Duration(std::llround(s * 1000.0));
}

void read_scenario(Reader& r, const json::value& doc, Scenario& s) {
  const json::object* root = r.object(doc, "$");
  if (root == nullptr ||
      !r.only_keys(*root, "$",
                   {"center", "serviceRadiusKm", "travel", "offerTimeoutSeconds", "behavior",
                    "expectedServiceMinutes", "allowedOvertimeMinutes", "teams", "requests"})) {
    return;
  }
  if (const auto c = r.location(*root, "center", "$", false)) {
    s.center = *c;
  }
  if (const auto radius = r.number(*root, "serviceRadiusKm", "$", false)) {
    if (*radius <= 0.0 || *radius > 1000.0) {
      r.fail("$.serviceRadiusKm", "must be in (0, 1000]");
      return;
    }
    s.service_radius_km = *radius;
  }
  if (const json::value* t = root->if_contains("travel")) {
    const json::object* travel = r.object(*t, "$.travel");
    if (travel == nullptr ||
        !r.only_keys(*travel, "$.travel", {"circuity", "speedKmh", "fixedMinutes"})) {
      return;
    }
    if (const auto c = r.number(*travel, "circuity", "$.travel", false)) {
      if (*c < 1.0 || *c > 10.0) {
        r.fail("$.travel.circuity", "must be in [1, 10]");
        return;
      }
      s.travel.circuity = *c;
    }
    if (const auto v = r.number(*travel, "speedKmh", "$.travel", false)) {
      if (*v < 1.0 || *v > 300.0) {
        r.fail("$.travel.speedKmh", "must be in [1, 300]");
        return;
      }
      s.travel.speed_kmh = *v;
    }
    if (const auto f = r.number(*travel, "fixedMinutes", "$.travel", false)) {
      if (*f < 0.0 || *f > 240.0) {
        r.fail("$.travel.fixedMinutes", "must be in [0, 240]");
        return;
      }
      s.travel.fixed_minutes = *f;
    }
  }
  if (const auto timeout = r.number(*root, "offerTimeoutSeconds", "$", false)) {
    if (*timeout < 1.0 || *timeout > 86400.0) {
      r.fail("$.offerTimeoutSeconds", "must be in [1, 86400]");
      return;
    }
    s.offer_timeout = from_seconds(*timeout);
  }
  if (const json::value* b = root->if_contains("behavior")) {
    const json::object* behavior = r.object(*b, "$.behavior");
    if (behavior == nullptr ||
        !r.only_keys(*behavior, "$.behavior", {"declineProbability", "acceptDelaySeconds"})) {
      return;
    }
    if (const auto p = r.number(*behavior, "declineProbability", "$.behavior", false)) {
      if (*p < 0.0 || *p > 1.0) {
        r.fail("$.behavior.declineProbability", "must be in [0, 1]");
        return;
      }
      s.behavior.decline_probability = *p;
    }
    if (const auto d = r.number(*behavior, "acceptDelaySeconds", "$.behavior", false)) {
      if (*d < 0.0 || *d > 86400.0) {
        r.fail("$.behavior.acceptDelaySeconds", "must be in [0, 86400]");
        return;
      }
      s.behavior.accept_delay = from_seconds(*d);
    }
  }
  if (const auto m = r.number(*root, "expectedServiceMinutes", "$", false)) {
    if (*m < 1.0 || *m > 1440.0) {
      r.fail("$.expectedServiceMinutes", "must be in [1, 1440]");
      return;
    }
    s.expected_service = from_minutes(*m);
  }
  if (const auto m = r.number(*root, "allowedOvertimeMinutes", "$", false)) {
    if (*m < 0.0 || *m > 1440.0) {
      r.fail("$.allowedOvertimeMinutes", "must be in [0, 1440]");
      return;
    }
    s.allowed_overtime = from_minutes(*m);
  }
  bool offset_seen = false;
  const json::value* teams = root->if_contains("teams");
  if (teams == nullptr || !teams->is_array()) {
    r.fail("$.teams", "expected an array");
    return;
  }
  if (teams->get_array().size() > kMaxTeams) {
    r.fail("$.teams", "more than 10000 teams");
    return;
  }
  std::set<std::string> team_ids;
  std::size_t index = 0;
  for (const json::value& item : teams->get_array()) {
    const std::string path = "$.teams[" + std::to_string(index++) + "]";
    const json::object* o = r.object(item, path);
    if (o == nullptr ||
        !r.only_keys(*o, path, {"id", "base", "shiftStart", "shiftEnd", "skills"})) {
      return;
    }
    ScenarioTeam team;
    const auto id = r.id(*o, path, team_ids);
    const auto base = r.location(*o, "base", path, true);
    const auto start = r.time(*o, "shiftStart", path, s.utc_offset_minutes, offset_seen);
    const auto end = r.time(*o, "shiftEnd", path, s.utc_offset_minutes, offset_seen);
    const auto skills = r.skills(*o, path);
    if (!id || !base || !start || !end || !skills) {
      return;
    }
    if (*end <= *start || *end - *start > std::chrono::hours(72)) {
      r.fail(path + ".shiftEnd", "must be after shiftStart, at most 72 hours later");
      return;
    }
    team.id = *id;
    team.base = *base;
    team.shift_start = *start;
    team.shift_end = *end;
    team.skills = *skills;
    s.teams.push_back(std::move(team));
  }
  const json::value* requests = root->if_contains("requests");
  if (requests == nullptr || !requests->is_array()) {
    r.fail("$.requests", "expected an array");
    return;
  }
  if (requests->get_array().size() > kMaxRequests) {
    r.fail("$.requests", "more than 200000 requests");
    return;
  }
  std::set<std::string> request_ids;
  index = 0;
  for (const json::value& item : requests->get_array()) {
    const std::string path = "$.requests[" + std::to_string(index++) + "]";
    const json::object* o = r.object(item, path);
    if (o == nullptr ||
        !r.only_keys(*o, path,
                     {"id", "at", "location", "urgency", "serviceMinutes", "skills", "reason"})) {
      return;
    }
    ScenarioRequest req;
    const auto id = r.id(*o, path, request_ids);
    const auto at = r.time(*o, "at", path, s.utc_offset_minutes, offset_seen);
    const auto where = r.location(*o, "location", path, true);
    const auto urgency_text = r.string(*o, "urgency", path);
    const auto service = r.number(*o, "serviceMinutes", path, true);
    const auto skills = r.skills(*o, path);
    if (!id || !at || !where || !urgency_text || !service || !skills) {
      return;
    }
    const auto urgency = parse_urgency(*urgency_text);
    if (!urgency) {
      r.fail(path + ".urgency", "expected URGENT or SOON");
      return;
    }
    if (*service <= 0.0 || *service > 1440.0) {
      r.fail(path + ".serviceMinutes", "must be in (0, 1440]");
      return;
    }
    if (o->contains("reason")) {
      const auto reason_text = r.string(*o, "reason", path);
      const auto reason = reason_text ? parse_reason(*reason_text) : std::nullopt;
      if (!reason) {
        r.fail(path + ".reason", "expected ACUTE_CHANGE, END_OF_LIFE, DEATH_CONFIRMATION or OTHER");
        return;
      }
      req.reason = *reason;
    }
    req.id = *id;
    req.at = *at;
    req.location = *where;
    req.urgency = *urgency;
    req.service = from_minutes(*service);
    req.skills = *skills;
    s.requests.push_back(std::move(req));
  }
}

std::string number_text(double v, int precision) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", precision, v);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') {
      text.pop_back();
    }
    if (text.back() == '.') {
      text.pop_back();
    }
  }
  return text;
}

std::string skills_json(SkillSet set) {
  std::string out = "[";
  bool first = true;
  for (const Skill s : {Skill::kPediatric, Skill::kPalliative, Skill::kRespiratory}) {
    if (set.has(s)) {
      out += first ? "\"" : ",\"";
      out += skill_name(s);
      out += "\"";
      first = false;
    }
  }
  return out + "]";
}

// Shortest decimal that reads back as the same double (coordinates survive a round trip).
std::string exact_text(double v) {
  char buffer[400];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed);
  return result.ec == std::errc() ? std::string(buffer, result.ptr) : std::string("0");
}

std::string location_json(LatLon where) {
  return "{\"lat\":" + exact_text(where.lat) + ",\"lon\":" + exact_text(where.lon) + "}";
}

std::string quoted(std::string_view text) {
  return json::serialize(json::string(text));
}

}  // namespace

ScenarioResult parse_scenario(std::string_view text) {
  ScenarioResult result;
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  const json::value doc = json::parse(text, ec, {}, options);
  if (ec) {
    result.error = "invalid JSON: " + ec.message();
    return result;
  }
  Reader reader;
  Scenario scenario;
  read_scenario(reader, doc, scenario);
  if (reader.failed()) {
    result.error = reader.error();
    return result;
  }
  result.scenario = std::move(scenario);
  return result;
}

std::string scenario_to_json(const Scenario& s) {
  const int offset = s.utc_offset_minutes;
  std::string out;
  out += "{\"center\":" + location_json(s.center) +
         ",\"serviceRadiusKm\":" + number_text(s.service_radius_km, 3) + ",\n";
  out += " \"travel\":{\"circuity\":" + number_text(s.travel.circuity, 3) +
         ",\"speedKmh\":" + number_text(s.travel.speed_kmh, 3) +
         ",\"fixedMinutes\":" + number_text(s.travel.fixed_minutes, 3) + "},\n";
  out += " \"offerTimeoutSeconds\":" +
         number_text(static_cast<double>(s.offer_timeout.count()) / 1000.0, 3) + ",\n";
  out += " \"behavior\":{\"declineProbability\":" + number_text(s.behavior.decline_probability, 4) +
         ",\"acceptDelaySeconds\":" +
         number_text(static_cast<double>(s.behavior.accept_delay.count()) / 1000.0, 3) + "},\n";
  out += " \"expectedServiceMinutes\":" + number_text(to_minutes(s.expected_service), 3) +
         ",\"allowedOvertimeMinutes\":" + number_text(to_minutes(s.allowed_overtime), 3) + ",\n";
  out += " \"teams\":[";
  for (std::size_t i = 0; i < s.teams.size(); ++i) {
    const ScenarioTeam& t = s.teams[i];
    out += i == 0 ? "\n  " : ",\n  ";
    out += "{\"id\":" + quoted(t.id) + ",\"base\":" + location_json(t.base) + ",\"shiftStart\":\"" +
           format_rfc3339(t.shift_start, offset) + "\",\"shiftEnd\":\"" +
           format_rfc3339(t.shift_end, offset) + "\",\"skills\":" + skills_json(t.skills) + "}";
  }
  out += "],\n \"requests\":[";
  for (std::size_t i = 0; i < s.requests.size(); ++i) {
    const ScenarioRequest& r = s.requests[i];
    out += i == 0 ? "\n  " : ",\n  ";
    out += "{\"id\":" + quoted(r.id) + ",\"at\":\"" + format_rfc3339(r.at, offset) +
           "\",\"location\":" + location_json(r.location) + ",\"urgency\":\"" +
           std::string(urgency_name(r.urgency)) +
           "\",\"serviceMinutes\":" + number_text(to_minutes(r.service), 3) +
           ",\"skills\":" + skills_json(r.skills) + "}";
  }
  out += "]}\n";
  return out;
}

}  // namespace oshin::dispatcher
