#include "oshin/fhir/visit_bundle.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fhir_text.hpp"
#include "json_writer.hpp"
#include "uuid_maker.hpp"

namespace oshin::fhir {
namespace {

namespace json = boost::json;
using detail::clean_text;
using detail::format_instant;
using detail::has_text;
using detail::xhtml_escape;

// Code systems and fixed codes (FHIR R4 / HL7 terminology).
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kActCode = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
constexpr std::string_view kActPriority = "http://terminology.hl7.org/CodeSystem/v3-ActPriority";
constexpr std::string_view kParticipationType =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
constexpr std::string_view kConditionClinical =
    "http://terminology.hl7.org/CodeSystem/condition-clinical";
constexpr std::string_view kConditionVerStatus =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";
constexpr std::string_view kConditionCategory =
    "http://terminology.hl7.org/CodeSystem/condition-category";
constexpr std::string_view kDischargeDisposition =
    "http://terminology.hl7.org/CodeSystem/discharge-disposition";
constexpr std::string_view kListEmptyReason =
    "http://terminology.hl7.org/CodeSystem/list-empty-reason";
constexpr std::string_view kOrganizationType =
    "http://terminology.hl7.org/CodeSystem/organization-type";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kGeolocation = "http://hl7.org/fhir/StructureDefinition/geolocation";
constexpr std::string_view kRfc3986 = "urn:ietf:rfc:3986";
constexpr std::string_view kDivOpen = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";
constexpr std::string_view kDivClose = "</div>";

constexpr std::string_view kTitle = "往診サマリー / House-call visit summary";
constexpr std::string_view kNoneRecorded = "記載なし / None recorded";

/// A LOINC section code; code empty: the section has a title only.
struct SectionCode {
  std::string_view code;
  std::string_view display;
};

json::value jstr(std::string_view s) {
  return json::value(json::string(s.data(), s.size()));
}

/// A FHIR string from user text: cleaned; callers check has_text() first.
json::value jtext(std::string_view s) {
  return jstr(clean_text(s));
}

json::object coding(std::string_view system, std::string_view code, std::string_view display) {
  json::object c;
  c["system"] = jstr(system);
  c["code"] = jstr(code);
  c["display"] = jstr(display);
  return c;
}

json::object concept_of(std::string_view system, std::string_view code, std::string_view display) {
  json::array codings;
  codings.emplace_back(coding(system, code, display));
  json::object cc;
  cc["coding"] = std::move(codings);
  return cc;
}

json::object narrative(std::string_view status, std::string_view inner_xhtml) {
  json::object n;
  n["status"] = jstr(status);
  std::string div;
  div.reserve(kDivOpen.size() + inner_xhtml.size() + kDivClose.size());
  div.append(kDivOpen).append(inner_xhtml).append(kDivClose);
  n["div"] = jstr(div);
  return n;
}

std::string para(std::string_view escaped) {
  std::string p = "<p>";
  p.append(escaped).append("</p>");
  return p;
}

json::object reference(const std::string& url, std::string_view display) {
  json::object r;
  r["reference"] = jstr(url);
  if (has_text(display)) {
    r["display"] = jtext(display);
  }
  return r;
}

json::array identifiers(const std::string& system, std::string_view value) {
  json::array ids;
  if (has_text(value)) {
    json::object id;
    id["system"] = jstr(system);
    id["value"] = jtext(value);
    ids.emplace_back(std::move(id));
  }
  return ids;
}

json::object entry(const std::string& full_url, json::object resource) {
  json::object e;
  e["fullUrl"] = jstr(full_url);
  e["resource"] = std::move(resource);
  return e;
}

/// The resource id part of a "urn:uuid:..." fullUrl.
std::string id_of(const std::string& urn) {
  return urn.substr(std::string_view("urn:uuid:").size());
}

std::string display_name(const v1::User& u) {
  if (has_text(u.display_name())) {
    return u.display_name();
  }
  return u.username();
}

std::string_view gender_code(v1::Patient::Sex sex) {
  switch (sex) {
    case v1::Patient::FEMALE:
      return "female";
    case v1::Patient::MALE:
      return "male";
    case v1::Patient::OTHER:
      return "other";
    default:
      return "unknown";
  }
}

std::string_view encounter_status(v1::Visit::Status s) {
  switch (s) {
    case v1::Visit::COMPLETED:
      return "finished";
    case v1::Visit::ON_SITE:
      return "in-progress";
    case v1::Visit::REQUESTED:
    case v1::Visit::OFFERED:
    case v1::Visit::ASSIGNED:
    case v1::Visit::EN_ROUTE:
      return "planned";
    case v1::Visit::CANCELLED:
    case v1::Visit::REJECTED:
      return "cancelled";
    default:
      return "unknown";
  }
}

/// discharge-disposition code and display, and the bilingual label, of a Disposition.
struct DispositionText {
  std::string_view code;  // empty: unspecified
  std::string_view display;
  std::string_view label;
};

DispositionText disposition_text(v1::Disposition d) {
  switch (d) {
    case v1::STAYED_HOME:
      return {"home", "Home", "在宅療養継続 / Stayed home"};
    case v1::TRANSFERRED_TO_HOSPITAL:
      return {"other-hcf", "Other healthcare facility", "病院へ搬送 / Transferred to hospital"};
    case v1::DECEASED:
      return {"exp", "Expired", "死亡 / Deceased"};
    default:
      return {"", "", kNoneRecorded};
  }
}

bool is_provider_kind(v1::OrganizationKind k) {
  return k == v1::HOUSE_CALL_CENTER || k == v1::CLINIC || k == v1::HOSPITAL ||
         k == v1::VISITING_NURSE_STATION;
}

bool earlier(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() < b.seconds() || (a.seconds() == b.seconds() && a.nanos() < b.nanos());
}

/// Everything computed once and shared by the resource builders.
class BundleBuilder {
 public:
  explicit BundleBuilder(const FhirInput& in) : in_(in), uuids_(normalized_base(in.id_base)) {
    base_ = normalized_base(in.id_base);
    const std::string doc_key = in.visit.id() + "/" + in.summary.id();
    bundle_uuid_ = uuids_.make("Bundle/" + doc_key);
    composition_url_ = uuids_.urn("Composition/" + doc_key);
    patient_url_ = uuids_.urn("Patient/" + in.patient.id());
    author_url_ = uuids_.urn("Practitioner/" + in.on_call_doctor.id());
    if (!in.primary_doctor.id().empty()) {
      primary_url_ = in.primary_doctor.id() == in.on_call_doctor.id()
                         ? author_url_
                         : uuids_.urn("Practitioner/" + in.primary_doctor.id());
    }
    center_url_ = uuids_.urn("Organization/" + in.center.id());
    encounter_url_ = uuids_.urn("Encounter/" + in.visit.id());
    for (int i = 0; i < in.summary.diagnoses_size(); ++i) {
      if (has_text(in.summary.diagnoses(i))) {
        diagnoses_.push_back(i);
        condition_urls_.push_back(uuids_.urn("Condition/" + doc_key + "/" + std::to_string(i)));
      }
    }
    for (int i = 0; i < in.summary.prescriptions_size(); ++i) {
      if (has_text(in.summary.prescriptions(i).drug())) {
        prescriptions_.push_back(i);
        medication_urls_.push_back(
            uuids_.urn("MedicationRequest/" + doc_key + "/" + std::to_string(i)));
      }
    }
    summary_time_ = format_instant(in.summary.created_at());
    const google::protobuf::Timestamp* arrival = nullptr;
    const google::protobuf::Timestamp* completion = nullptr;
    for (const auto& change : in.visit.history()) {
      if (change.status() == v1::Visit::ON_SITE && arrival == nullptr) {
        arrival = &change.at();
      } else if (change.status() == v1::Visit::COMPLETED) {
        completion = &change.at();
      }
    }
    if (arrival != nullptr) {
      arrival_ = format_instant(*arrival);
    }
    if (completion != nullptr && (arrival == nullptr || !earlier(*completion, *arrival))) {
      completion_ = format_instant(*completion);
    }
    timestamp_ = format_instant(in.timestamp);
    if (!timestamp_) {
      timestamp_ =
          summary_time_ ? summary_time_ : std::optional<std::string>("1970-01-01T00:00:00Z");
    }
  }

  std::string build() const {
    json::array entries;
    entries.emplace_back(entry(composition_url_, composition()));
    entries.emplace_back(entry(patient_url_, patient()));
    entries.emplace_back(entry(author_url_, practitioner(author_url_, in_.on_call_doctor)));
    if (!primary_url_.empty() && primary_url_ != author_url_) {
      entries.emplace_back(entry(primary_url_, practitioner(primary_url_, in_.primary_doctor)));
    }
    entries.emplace_back(entry(center_url_, organization()));
    entries.emplace_back(entry(encounter_url_, encounter()));
    for (std::size_t k = 0; k < diagnoses_.size(); ++k) {
      entries.emplace_back(entry(condition_urls_[k], condition(k)));
    }
    for (std::size_t k = 0; k < prescriptions_.size(); ++k) {
      entries.emplace_back(entry(medication_urls_[k], medication_request(k)));
    }

    json::object bundle;
    bundle["resourceType"] = "Bundle";
    bundle["id"] = jstr(bundle_uuid_);
    json::object identifier;
    identifier["system"] = jstr(kRfc3986);
    identifier["value"] = jstr("urn:uuid:" + bundle_uuid_);
    bundle["identifier"] = std::move(identifier);
    bundle["type"] = "document";
    bundle["timestamp"] = jstr(*timestamp_);
    bundle["entry"] = std::move(entries);
    return detail::to_compact_json(bundle);
  }

 private:
  static std::string normalized_base(std::string_view base) {
    std::string b = clean_text(base);
    while (!b.empty() && b.back() == '/') {
      b.pop_back();
    }
    if (!has_text(b)) {
      b = "urn:oshin";
    }
    return b;
  }

  std::string system(std::string_view kind) const {
    std::string s = base_;
    s.append("/").append(kind);
    return s;
  }

  std::string composition_date() const { return summary_time_ ? *summary_time_ : *timestamp_; }

  json::object patient_ref() const { return reference(patient_url_, in_.patient.name()); }
  json::object author_ref() const {
    return reference(author_url_, display_name(in_.on_call_doctor));
  }
  json::object encounter_ref() const { return reference(encounter_url_, {}); }

  // --- Composition --------------------------------------------------------------------------

  static json::object section(std::string_view title, SectionCode code,
                              std::string_view narrative_status, std::string_view inner_xhtml) {
    json::object s;
    s["title"] = jstr(title);
    if (!code.code.empty()) {
      s["code"] = concept_of(kLoinc, code.code, code.display);
    }
    s["text"] = narrative(narrative_status, inner_xhtml);
    return s;
  }

  /// A section holding one doctor-written text; blank text reads "None recorded".
  static json::object free_text_section(std::string_view title, SectionCode code,
                                        std::string_view text, std::string prefix_xhtml = {}) {
    const bool written = has_text(text);
    std::string body = std::move(prefix_xhtml);
    body += para(written ? xhtml_escape(text) : std::string(kNoneRecorded));
    return section(title, code, written ? "additional" : "generated", body);
  }

  static void mark_empty(json::object& s) {
    s["emptyReason"] = concept_of(kListEmptyReason, "nilknown", "Nil Known");
  }

  json::object composition() const {
    const v1::VisitSummary& sum = in_.summary;
    json::array sections;

    sections.emplace_back(free_text_section(
        "所見 / Findings", {"29545-1", "Physical findings Narrative"}, sum.findings()));

    {
      std::string body;
      json::array refs;
      for (std::size_t k = 0; k < diagnoses_.size(); ++k) {
        body += "<li>" + xhtml_escape(sum.diagnoses(diagnoses_[k])) + "</li>";
        refs.emplace_back(reference(condition_urls_[k], {}));
      }
      body = refs.empty() ? para(kNoneRecorded) : "<ul>" + body + "</ul>";
      json::object s =
          section("診断 / Diagnoses", {"29548-5", "Diagnosis Narrative"}, "generated", body);
      if (refs.empty()) {
        mark_empty(s);
      } else {
        s["entry"] = std::move(refs);
      }
      sections.emplace_back(std::move(s));
    }

    sections.emplace_back(free_text_section("処置 / Treatment", {}, sum.treatment()));

    {
      std::string body;
      json::array refs;
      for (std::size_t k = 0; k < prescriptions_.size(); ++k) {
        body += "<li>" + prescription_xhtml(sum.prescriptions(prescriptions_[k])) + "</li>";
        refs.emplace_back(reference(medication_urls_[k], {}));
      }
      body = refs.empty() ? para(kNoneRecorded) : "<ul>" + body + "</ul>";
      json::object s =
          section("処方 / Prescriptions", {"10160-0", "History of Medication use Narrative"},
                  "generated", body);
      if (refs.empty()) {
        mark_empty(s);
      } else {
        s["entry"] = std::move(refs);
      }
      sections.emplace_back(std::move(s));
    }

    {
      const DispositionText d = disposition_text(sum.disposition());
      std::string body = para(d.label);
      if (sum.has_destination() && has_text(sum.destination())) {
        body += para("搬送先 / Destination: " + xhtml_escape(sum.destination()));
      }
      json::object s = section("転帰 / Disposition", {}, "generated", body);
      json::array refs;
      refs.emplace_back(encounter_ref());
      s["entry"] = std::move(refs);
      sections.emplace_back(std::move(s));
    }

    sections.emplace_back(free_text_section("ケアチームへの指示 / Instructions for the care team",
                                            {"69730-0", "Instructions"},
                                            sum.instructions_for_care_team()));

    {
      std::string to;
      if (!primary_url_.empty()) {
        to = para("宛先 / To: " + xhtml_escape(display_name(in_.primary_doctor)));
      }
      json::object s = free_text_section(
          "かかりつけ医への申し送り / Follow-up for the primary doctor",
          {"18776-5", "Plan of care note"}, sum.follow_up_for_primary_doctor(), std::move(to));
      if (!primary_url_.empty()) {
        json::array refs;
        refs.emplace_back(reference(primary_url_, display_name(in_.primary_doctor)));
        s["entry"] = std::move(refs);
      }
      sections.emplace_back(std::move(s));
    }

    json::object c;
    c["resourceType"] = "Composition";
    c["id"] = jstr(id_of(composition_url_));
    std::string text = para("<b>" + std::string(kTitle) + "</b>");
    if (has_text(in_.patient.name())) {
      text += para("患者 / Patient: " + xhtml_escape(in_.patient.name()));
    }
    if (has_text(display_name(in_.on_call_doctor))) {
      text += para("記載医 / Author: " + xhtml_escape(display_name(in_.on_call_doctor)));
    }
    c["text"] = narrative("generated", text);
    if (has_text(sum.id())) {
      json::object id;
      id["system"] = jstr(system("summaries"));
      id["value"] = jtext(sum.id());
      c["identifier"] = std::move(id);
    }
    c["status"] = "final";
    json::object type = concept_of(kLoinc, "57133-1", "Referral note");
    type["text"] = jstr(kTitle);
    c["type"] = std::move(type);
    c["subject"] = patient_ref();
    c["encounter"] = encounter_ref();
    c["date"] = jstr(composition_date());
    json::array authors;
    authors.emplace_back(author_ref());
    c["author"] = std::move(authors);
    c["title"] = jstr(kTitle);
    json::object attester;
    attester["mode"] = "professional";
    if (summary_time_) {
      attester["time"] = jstr(*summary_time_);
    }
    attester["party"] = author_ref();
    json::array attesters;
    attesters.emplace_back(std::move(attester));
    c["attester"] = std::move(attesters);
    c["custodian"] = reference(center_url_, in_.center.name());
    c["section"] = std::move(sections);
    return c;
  }

  static std::string prescription_xhtml(const v1::Prescription& p) {
    std::string s = xhtml_escape(p.drug());
    if (has_text(p.dose())) {
      s += " — " + xhtml_escape(p.dose());
    }
    if (p.days() > 0) {
      const std::string days = std::to_string(p.days());
      s += " — " + days + "日分 / " + days + (p.days() == 1 ? " day" : " days");
    }
    return s;
  }

  // --- Patient, Practitioner, Organization --------------------------------------------------

  json::object patient() const {
    const v1::Patient& pt = in_.patient;
    json::object r;
    r["resourceType"] = "Patient";
    r["id"] = jstr(id_of(patient_url_));

    std::string text;
    text += para(has_text(pt.name()) ? xhtml_escape(pt.name()) : std::string("患者 / Patient"));
    std::string facts(gender_code(pt.sex()));
    if (detail::is_full_date(pt.birth_date())) {
      facts += ", " + pt.birth_date();
    }
    text += para(facts);
    r["text"] = narrative("generated", text);

    json::array ids = identifiers(system("patients"), pt.id());
    if (!ids.empty()) {
      r["identifier"] = std::move(ids);
    }
    if (has_text(pt.name())) {
      json::object name;
      name["text"] = jtext(pt.name());
      json::array names;
      names.emplace_back(std::move(name));
      r["name"] = std::move(names);
    }
    r["gender"] = jstr(gender_code(pt.sex()));
    if (detail::is_full_date(pt.birth_date())) {
      r["birthDate"] = jstr(pt.birth_date());
    }
    if (in_.summary.disposition() == v1::DECEASED) {
      if (completion_) {
        r["deceasedDateTime"] = jstr(*completion_);
      } else if (summary_time_) {
        r["deceasedDateTime"] = jstr(*summary_time_);
      } else {
        r["deceasedBoolean"] = true;
      }
    }
    // Address: the geolocation extension (context Address) first, as FHIR JSON orders it.
    json::object address;
    if (pt.has_location() && std::isfinite(pt.location().lat()) &&
        std::isfinite(pt.location().lon()) && std::abs(pt.location().lat()) <= 90.0 &&
        std::abs(pt.location().lon()) <= 180.0) {
      json::object lat;
      lat["url"] = "latitude";
      lat["valueDecimal"] = pt.location().lat();
      json::object lon;
      lon["url"] = "longitude";
      lon["valueDecimal"] = pt.location().lon();
      json::array parts;
      parts.emplace_back(std::move(lat));
      parts.emplace_back(std::move(lon));
      json::object geo;
      geo["url"] = jstr(kGeolocation);
      geo["extension"] = std::move(parts);
      json::array exts;
      exts.emplace_back(std::move(geo));
      address["extension"] = std::move(exts);
    }
    if (has_text(pt.address())) {
      address["text"] = jtext(pt.address());
    }
    if (!address.empty()) {
      json::array addresses;
      addresses.emplace_back(std::move(address));
      r["address"] = std::move(addresses);
    }
    if (!primary_url_.empty()) {
      json::array gps;
      gps.emplace_back(reference(primary_url_, display_name(in_.primary_doctor)));
      r["generalPractitioner"] = std::move(gps);
    }
    return r;
  }

  json::object practitioner(const std::string& url, const v1::User& u) const {
    json::object r;
    r["resourceType"] = "Practitioner";
    r["id"] = jstr(id_of(url));
    const std::string name = display_name(u);
    r["text"] = narrative("generated",
                          para(has_text(name) ? xhtml_escape(name) : std::string("医師 / Doctor")));
    json::array ids = identifiers(system("users"), u.id());
    if (!ids.empty()) {
      r["identifier"] = std::move(ids);
    }
    r["active"] = u.active();
    if (has_text(name)) {
      json::object n;
      n["text"] = jtext(name);
      json::array names;
      names.emplace_back(std::move(n));
      r["name"] = std::move(names);
    }
    return r;
  }

  json::object organization() const {
    const v1::Organization& org = in_.center;
    json::object r;
    r["resourceType"] = "Organization";
    r["id"] = jstr(id_of(center_url_));
    r["text"] =
        narrative("generated", para(has_text(org.name()) ? xhtml_escape(org.name())
                                                         : std::string("医療機関 / Organization")));
    json::array ids = identifiers(system("organizations"), org.id());
    if (!ids.empty()) {
      r["identifier"] = std::move(ids);
    }
    r["active"] = true;
    if (is_provider_kind(org.kind())) {
      json::array types;
      types.emplace_back(concept_of(kOrganizationType, "prov", "Healthcare Provider"));
      r["type"] = std::move(types);
    }
    if (has_text(org.name())) {
      r["name"] = jtext(org.name());
    }
    return r;
  }

  // --- Encounter, Condition, MedicationRequest ----------------------------------------------

  json::object encounter() const {
    const v1::Visit& v = in_.visit;
    const v1::VisitSummary& sum = in_.summary;
    const std::string_view status = encounter_status(v.status());
    json::object r;
    r["resourceType"] = "Encounter";
    r["id"] = jstr(id_of(encounter_url_));
    std::string text = para("往診 / House call (" + std::string(status) + ")");
    if (has_text(v.chief_complaint())) {
      text += para("主訴 / Chief complaint: " + xhtml_escape(v.chief_complaint()));
    }
    r["text"] = narrative("generated", text);
    json::array ids = identifiers(system("visits"), v.id());
    if (!ids.empty()) {
      r["identifier"] = std::move(ids);
    }
    r["status"] = jstr(status);
    r["class"] = coding(kActCode, "HH", "home health");
    if (v.urgency() == v1::URGENT) {
      r["priority"] = concept_of(kActPriority, "UR", "urgent");
    }
    r["subject"] = patient_ref();
    json::object participant;
    json::array participant_types;
    participant_types.emplace_back(concept_of(kParticipationType, "PPRF", "primary performer"));
    participant["type"] = std::move(participant_types);
    participant["individual"] = author_ref();
    json::array participants;
    participants.emplace_back(std::move(participant));
    r["participant"] = std::move(participants);
    if (arrival_ || completion_) {
      json::object period;
      if (arrival_) {
        period["start"] = jstr(*arrival_);
      }
      if (completion_) {
        period["end"] = jstr(*completion_);
      }
      r["period"] = std::move(period);
    }
    if (has_text(v.chief_complaint())) {
      json::object reason;
      reason["text"] = jtext(v.chief_complaint());
      json::array reasons;
      reasons.emplace_back(std::move(reason));
      r["reasonCode"] = std::move(reasons);
    }
    if (!condition_urls_.empty()) {
      json::array diagnoses;
      for (std::size_t k = 0; k < condition_urls_.size(); ++k) {
        json::object d;
        d["condition"] = reference(condition_urls_[k], sum.diagnoses(diagnoses_[k]));
        d["rank"] = static_cast<std::int64_t>(k + 1);
        diagnoses.emplace_back(std::move(d));
      }
      r["diagnosis"] = std::move(diagnoses);
    }
    const DispositionText d = disposition_text(sum.disposition());
    if (!d.code.empty()) {
      std::string label(d.label);
      if (sum.has_destination() && has_text(sum.destination())) {
        label += " — 搬送先 / Destination: " + clean_text(sum.destination());
      }
      json::object disposition = concept_of(kDischargeDisposition, d.code, d.display);
      disposition["text"] = jstr(label);
      json::object hospitalization;
      hospitalization["dischargeDisposition"] = std::move(disposition);
      r["hospitalization"] = std::move(hospitalization);
    }
    r["serviceProvider"] = reference(center_url_, in_.center.name());
    return r;
  }

  json::object condition(std::size_t k) const {
    const std::string& diagnosis = in_.summary.diagnoses(diagnoses_[k]);
    json::object r;
    r["resourceType"] = "Condition";
    r["id"] = jstr(id_of(condition_urls_[k]));
    r["text"] = narrative("generated", para(xhtml_escape(diagnosis)));
    r["clinicalStatus"] = concept_of(kConditionClinical, "active", "Active");
    // A house-call diagnosis made at night without work-up: the primary doctor confirms it.
    r["verificationStatus"] = concept_of(kConditionVerStatus, "provisional", "Provisional");
    json::array categories;
    categories.emplace_back(
        concept_of(kConditionCategory, "encounter-diagnosis", "Encounter Diagnosis"));
    r["category"] = std::move(categories);
    json::object code;
    code["text"] = jtext(diagnosis);
    r["code"] = std::move(code);
    r["subject"] = patient_ref();
    r["encounter"] = encounter_ref();
    if (summary_time_) {
      r["recordedDate"] = jstr(*summary_time_);
    }
    r["recorder"] = author_ref();
    return r;
  }

  json::object medication_request(std::size_t k) const {
    const v1::Prescription& p = in_.summary.prescriptions(prescriptions_[k]);
    json::object r;
    r["resourceType"] = "MedicationRequest";
    r["id"] = jstr(id_of(medication_urls_[k]));
    r["text"] = narrative("generated", para(prescription_xhtml(p)));
    r["status"] = "active";
    r["intent"] = "order";
    json::object medication;
    medication["text"] = jtext(p.drug());
    r["medicationCodeableConcept"] = std::move(medication);
    r["subject"] = patient_ref();
    r["encounter"] = encounter_ref();
    if (summary_time_) {
      r["authoredOn"] = jstr(*summary_time_);
    }
    r["requester"] = author_ref();
    if (has_text(p.dose())) {
      json::object dosage;
      dosage["text"] = jtext(p.dose());
      json::array dosages;
      dosages.emplace_back(std::move(dosage));
      r["dosageInstruction"] = std::move(dosages);
    }
    if (p.days() > 0) {
      json::object duration;
      duration["value"] = static_cast<std::int64_t>(p.days());
      duration["unit"] = "days";
      duration["system"] = jstr(kUcum);
      duration["code"] = "d";
      json::object dispense;
      dispense["expectedSupplyDuration"] = std::move(duration);
      r["dispenseRequest"] = std::move(dispense);
    }
    return r;
  }

  const FhirInput& in_;
  detail::UuidMaker uuids_;
  std::string base_;
  std::string bundle_uuid_;
  std::string composition_url_;
  std::string patient_url_;
  std::string author_url_;
  std::string primary_url_;  // empty: no primary doctor
  std::string center_url_;
  std::string encounter_url_;
  std::vector<int> diagnoses_;  // indexes of the non-blank diagnoses
  std::vector<std::string> condition_urls_;
  std::vector<int> prescriptions_;  // indexes of the prescriptions with a drug
  std::vector<std::string> medication_urls_;
  std::optional<std::string> summary_time_;
  std::optional<std::string> arrival_;
  std::optional<std::string> completion_;
  std::optional<std::string> timestamp_;
};

}  // namespace

std::string build_visit_bundle(const FhirInput& in) {
  return BundleBuilder(in).build();
}

}  // namespace oshin::fhir
