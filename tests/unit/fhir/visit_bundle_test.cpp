// Unit tests of the FHIR R4 document Bundle of a visit (oshin::fhir::build_visit_bundle).
#include "oshin/fhir/visit_bundle.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace oshin::fhir {
namespace {

namespace json = boost::json;

constexpr std::string_view kXhtmlDiv = "<div xmlns=\"http://www.w3.org/1999/xhtml\">";

void set_time(google::protobuf::Timestamp* t, std::int64_t seconds, std::int32_t nanos = 0) {
  t->set_seconds(seconds);
  t->set_nanos(nanos);
}

void add_history(v1::Visit& v, v1::Visit::Status s, std::int64_t seconds, std::int32_t nanos = 0) {
  auto* change = v.add_history();
  change->set_status(s);
  set_time(change->mutable_at(), seconds, nanos);
}

void add_prescription(v1::VisitSummary& s, const std::string& drug, const std::string& dose,
                      int days) {
  auto* p = s.add_prescriptions();
  p->set_drug(drug);
  p->set_dose(dose);
  p->set_days(days);
}

/// A completed night visit: 2 diagnoses, 3 prescriptions, Japanese text throughout.
FhirInput full_input() {
  FhirInput in;
  in.id_base = "https://oshin.example.jp";
  in.timestamp = from_unix_ms(1719842700000);  // 2024-07-01T14:05:00Z

  v1::Visit& v = in.visit;
  v.set_id("v-100");
  v.set_patient_id("p-7");
  v.set_status(v1::Visit::COMPLETED);
  v.set_urgency(v1::URGENT);
  v.set_chief_complaint("発熱と呼吸苦");
  add_history(v, v1::Visit::REQUESTED, 1719835200);
  add_history(v, v1::Visit::EN_ROUTE, 1719837000);
  add_history(v, v1::Visit::ON_SITE, 1719839100);               // 13:05:00Z
  add_history(v, v1::Visit::COMPLETED, 1719841830, 250000000);  // 13:50:30.250Z

  v1::Patient& p = in.patient;
  p.set_id("p-7");
  p.set_name("山田 花子");
  p.set_birth_date("1938-04-12");
  p.set_sex(v1::Patient::FEMALE);
  p.set_address("東京都八王子市元本郷町3-24-1");
  p.mutable_location()->set_lat(35.6716);
  p.mutable_location()->set_lon(139.3160);
  p.set_primary_doctor_id("u-primary");

  v1::VisitSummary& s = in.summary;
  s.set_id("s-55");
  s.set_visit_id("v-100");
  s.set_author_id("u-doc");
  set_time(s.mutable_created_at(), 1719842400);  // 14:00:00Z
  s.set_findings("SpO2 92%、右下肺野に湿性ラ音。");
  s.add_diagnoses("誤嚥性肺炎");
  s.add_diagnoses("脱水症");
  s.set_treatment("酸素投与 2L/分、補液 500mL");
  add_prescription(s, "アモキシシリン・クラブラン酸", "1回1錠 1日3回 毎食後", 7);
  add_prescription(s, "アセトアミノフェン 200mg", "1回2錠 発熱時", 3);
  add_prescription(s, "経口補水液", "500mL/日", 2);
  s.set_disposition(v1::STAYED_HOME);
  s.set_instructions_for_care_team("明朝、訪問看護でバイタル確認をお願いします。");
  s.set_follow_up_for_primary_doctor("明日の定期往診で再評価をお願いします。");

  in.on_call_doctor.set_id("u-doc");
  in.on_call_doctor.set_username("doc1");
  in.on_call_doctor.set_display_name("佐藤 一郎");
  in.on_call_doctor.set_role(v1::DOCTOR);
  in.on_call_doctor.set_active(true);

  in.primary_doctor.set_id("u-primary");
  in.primary_doctor.set_username("kakari");
  in.primary_doctor.set_display_name("鈴木 次郎");
  in.primary_doctor.set_role(v1::PRIMARY_DOCTOR);
  in.primary_doctor.set_active(true);

  in.center.set_id("o-center");
  in.center.set_name("八王子夜間往診センター");
  in.center.set_kind(v1::HOUSE_CALL_CENTER);
  return in;
}

json::object parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(v.is_object());
  if (!v.is_object()) {
    return {};
  }
  return v.as_object();
}

std::string str(const json::value& v) {
  if (!v.is_string()) {
    return {};
  }
  return std::string(v.as_string().data(), v.as_string().size());
}

const json::object& resource_at(const json::object& bundle, std::size_t i) {
  return bundle.at("entry").as_array().at(i).as_object().at("resource").as_object();
}

std::vector<json::object> resources_of(const json::object& bundle, std::string_view type) {
  std::vector<json::object> out;
  for (const auto& e : bundle.at("entry").as_array()) {
    const auto& r = e.as_object().at("resource").as_object();
    if (str(r.at("resourceType")) == type) {
      out.push_back(r);
    }
  }
  return out;
}

std::string full_url_of(const json::object& bundle, std::string_view type) {
  for (const auto& e : bundle.at("entry").as_array()) {
    const auto& entry = e.as_object();
    if (str(entry.at("resource").as_object().at("resourceType")) == type) {
      return str(entry.at("fullUrl"));
    }
  }
  return {};
}

void collect_references(const json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      if (kv.key() == "reference" && kv.value().is_string()) {
        out.push_back(str(kv.value()));
      } else {
        collect_references(kv.value(), out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      collect_references(item, out);
    }
  }
}

void collect_strings(const json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      collect_strings(kv.value(), out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      collect_strings(item, out);
    }
  } else if (v.is_string()) {
    out.push_back(str(v));
  }
}

void collect_divs(const json::value& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (const auto& kv : v.as_object()) {
      if (kv.key() == "div" && kv.value().is_string()) {
        out.push_back(str(kv.value()));
      } else {
        collect_divs(kv.value(), out);
      }
    }
  } else if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      collect_divs(item, out);
    }
  }
}

/// The document-bundle rules every output must meet, whatever the input.
void expect_valid_document(const json::object& b) {
  EXPECT_EQ(str(b.at("resourceType")), "Bundle");
  EXPECT_EQ(str(b.at("type")), "document");
  ASSERT_TRUE(b.contains("timestamp"));
  const std::regex instant(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z)");
  EXPECT_TRUE(std::regex_match(str(b.at("timestamp")), instant));
  // bdl-9: a document has an identifier with a system and a value.
  const auto& id = b.at("identifier").as_object();
  EXPECT_FALSE(str(id.at("system")).empty());
  EXPECT_FALSE(str(id.at("value")).empty());
  // bdl-11: the first resource is a Composition.
  const auto& entries = b.at("entry").as_array();
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(str(resource_at(b, 0).at("resourceType")), "Composition");

  // Every entry: a unique urn:uuid fullUrl that agrees with the resource id.
  const std::regex urn(
      "urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> urls;
  for (const auto& e : entries) {
    const auto& entry = e.as_object();
    const std::string url = str(entry.at("fullUrl"));
    EXPECT_TRUE(std::regex_match(url, urn)) << url;
    EXPECT_TRUE(urls.insert(url).second) << "duplicate fullUrl " << url;
    EXPECT_EQ("urn:uuid:" + str(entry.at("resource").as_object().at("id")), url);
  }
  // Every reference resolves inside the bundle.
  std::vector<std::string> refs;
  collect_references(b.at("entry"), refs);
  EXPECT_FALSE(refs.empty());
  for (const auto& r : refs) {
    EXPECT_TRUE(urls.count(r) == 1) << "dangling reference " << r;
  }
  // FHIR has no empty strings.
  std::vector<std::string> strings;
  collect_strings(b, strings);
  for (const auto& s : strings) {
    EXPECT_NE(s.find_first_not_of(" \t\r\n"), std::string::npos) << "blank string in output";
  }
  // Narratives are XHTML divs.
  for (const auto& e : entries) {
    const auto& r = e.as_object().at("resource").as_object();
    ASSERT_TRUE(r.contains("text")) << str(r.at("resourceType"));
    const std::string div = str(r.at("text").as_object().at("div"));
    EXPECT_EQ(div.rfind(kXhtmlDiv, 0), 0u);
  }
  // Composition required elements (status, type, date, author, title) and its sections.
  const auto& c = resource_at(b, 0);
  EXPECT_EQ(str(c.at("status")), "final");
  EXPECT_TRUE(c.contains("type"));
  EXPECT_TRUE(c.contains("date"));
  EXPECT_FALSE(c.at("author").as_array().empty());
  EXPECT_FALSE(str(c.at("title")).empty());
  for (const auto& s : c.at("section").as_array()) {
    const auto& sec = s.as_object();
    EXPECT_FALSE(str(sec.at("title")).empty());
    const auto& text = sec.at("text").as_object();
    const std::string status = str(text.at("status"));
    EXPECT_TRUE(status == "generated" || status == "additional") << status;
    const std::string div = str(text.at("div"));
    EXPECT_EQ(div.rfind(kXhtmlDiv, 0), 0u);
    EXPECT_EQ(div.substr(div.size() - 6), "</div>");
    // cmp-2: emptyReason only on a section without entries.
    EXPECT_FALSE(sec.contains("emptyReason") && sec.contains("entry"));
  }
}

const json::object* section_titled(const json::object& composition, std::string_view prefix) {
  for (const auto& s : composition.at("section").as_array()) {
    const auto& sec = s.as_object();
    if (str(sec.at("title")).rfind(prefix, 0) == 0) {
      return &sec;
    }
  }
  return nullptr;
}

TEST(VisitBundle, BundleHeader) {
  const auto b = parse(build_visit_bundle(full_input()));
  expect_valid_document(b);
  EXPECT_EQ(str(b.at("timestamp")), "2024-07-01T14:05:00Z");
  const auto& id = b.at("identifier").as_object();
  EXPECT_EQ(str(id.at("system")), "urn:ietf:rfc:3986");
  EXPECT_EQ(str(id.at("value")), "urn:uuid:" + str(b.at("id")));
}

TEST(VisitBundle, FirstEntryIsReferralNoteComposition) {
  const auto b = parse(build_visit_bundle(full_input()));
  const auto& c = resource_at(b, 0);
  ASSERT_EQ(str(c.at("resourceType")), "Composition");
  const auto& coding = c.at("type").as_object().at("coding").as_array().at(0).as_object();
  EXPECT_EQ(str(coding.at("system")), "http://loinc.org");
  EXPECT_EQ(str(coding.at("code")), "57133-1");
  EXPECT_EQ(str(coding.at("display")), "Referral note");
  EXPECT_EQ(str(c.at("date")), "2024-07-01T14:00:00Z");
  EXPECT_EQ(str(c.at("subject").as_object().at("reference")), full_url_of(b, "Patient"));
  EXPECT_EQ(str(c.at("encounter").as_object().at("reference")), full_url_of(b, "Encounter"));
  EXPECT_EQ(str(c.at("custodian").as_object().at("reference")), full_url_of(b, "Organization"));
  EXPECT_EQ(str(c.at("author").as_array().at(0).as_object().at("reference")),
            str(b.at("entry").as_array().at(2).as_object().at("fullUrl")));
  EXPECT_EQ(str(c.at("identifier").as_object().at("value")), "s-55");
  EXPECT_EQ(str(c.at("identifier").as_object().at("system")), "https://oshin.example.jp/summaries");

  // Seven sections: findings, diagnoses, treatment, prescriptions, disposition, instructions,
  // follow-up.
  EXPECT_EQ(c.at("section").as_array().size(), 7u);
  const auto* dx = section_titled(c, "診断");
  ASSERT_NE(dx, nullptr);
  EXPECT_EQ(dx->at("entry").as_array().size(), 2u);
  const auto* rx = section_titled(c, "処方");
  ASSERT_NE(rx, nullptr);
  EXPECT_EQ(rx->at("entry").as_array().size(), 3u);
  const auto* follow = section_titled(c, "かかりつけ医");
  ASSERT_NE(follow, nullptr);
  const std::string follow_div = str(follow->at("text").as_object().at("div"));
  EXPECT_NE(follow_div.find("鈴木 次郎"), std::string::npos);
  EXPECT_NE(follow_div.find("明日の定期往診で再評価をお願いします。"), std::string::npos);
}

TEST(VisitBundle, ResourceCounts) {
  const auto b = parse(build_visit_bundle(full_input()));
  expect_valid_document(b);
  std::map<std::string, int> counts;
  for (const auto& e : b.at("entry").as_array()) {
    ++counts[str(e.as_object().at("resource").as_object().at("resourceType"))];
  }
  EXPECT_EQ(counts["Composition"], 1);
  EXPECT_EQ(counts["Patient"], 1);
  EXPECT_EQ(counts["Practitioner"], 2);
  EXPECT_EQ(counts["Organization"], 1);
  EXPECT_EQ(counts["Encounter"], 1);
  EXPECT_EQ(counts["Condition"], 2);
  EXPECT_EQ(counts["MedicationRequest"], 3);
  EXPECT_EQ(b.at("entry").as_array().size(), 11u);
}

TEST(VisitBundle, PatientDemographicsAndPrimaryDoctor) {
  const auto b = parse(build_visit_bundle(full_input()));
  const auto patients = resources_of(b, "Patient");
  ASSERT_EQ(patients.size(), 1u);
  const auto& p = patients[0];
  EXPECT_EQ(str(p.at("name").as_array().at(0).as_object().at("text")), "山田 花子");
  EXPECT_EQ(str(p.at("gender")), "female");
  EXPECT_EQ(str(p.at("birthDate")), "1938-04-12");
  EXPECT_FALSE(p.contains("deceasedDateTime"));
  const auto& address = p.at("address").as_array().at(0).as_object();
  EXPECT_EQ(str(address.at("text")), "東京都八王子市元本郷町3-24-1");
  const auto& geo = address.at("extension").as_array().at(0).as_object();
  EXPECT_EQ(str(geo.at("url")), "http://hl7.org/fhir/StructureDefinition/geolocation");
  const auto& lat = geo.at("extension").as_array().at(0).as_object();
  EXPECT_EQ(str(lat.at("url")), "latitude");
  EXPECT_DOUBLE_EQ(lat.at("valueDecimal").to_number<double>(), 35.6716);
  const auto& identifier = p.at("identifier").as_array().at(0).as_object();
  EXPECT_EQ(str(identifier.at("system")), "https://oshin.example.jp/patients");
  EXPECT_EQ(str(identifier.at("value")), "p-7");

  // The primary doctor is the patient's general practitioner, a Practitioner in the bundle.
  const std::string gp =
      str(p.at("generalPractitioner").as_array().at(0).as_object().at("reference"));
  bool found = false;
  for (const auto& e : b.at("entry").as_array()) {
    const auto& entry = e.as_object();
    if (str(entry.at("fullUrl")) == gp) {
      const auto& r = entry.at("resource").as_object();
      EXPECT_EQ(str(r.at("resourceType")), "Practitioner");
      EXPECT_EQ(str(r.at("name").as_array().at(0).as_object().at("text")), "鈴木 次郎");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(VisitBundle, DecimalsAreWrittenPlainly) {
  const std::string out = build_visit_bundle(full_input());
  EXPECT_NE(out.find("\"valueDecimal\":35.6716"), std::string::npos);
  EXPECT_NE(out.find("\"valueDecimal\":139.316"), std::string::npos);
  EXPECT_EQ(out.find("E1"), std::string::npos);
}

TEST(VisitBundle, EncounterIsFinishedHomeHealthVisit) {
  const auto b = parse(build_visit_bundle(full_input()));
  const auto encounters = resources_of(b, "Encounter");
  ASSERT_EQ(encounters.size(), 1u);
  const auto& e = encounters[0];
  EXPECT_EQ(str(e.at("status")), "finished");
  const auto& cls = e.at("class").as_object();
  EXPECT_EQ(str(cls.at("system")), "http://terminology.hl7.org/CodeSystem/v3-ActCode");
  EXPECT_EQ(str(cls.at("code")), "HH");
  EXPECT_EQ(str(cls.at("display")), "home health");
  EXPECT_EQ(str(e.at("period").as_object().at("start")), "2024-07-01T13:05:00Z");
  EXPECT_EQ(str(e.at("period").as_object().at("end")), "2024-07-01T13:50:30.250Z");
  EXPECT_EQ(str(e.at("subject").as_object().at("reference")), full_url_of(b, "Patient"));
  const auto& participant = e.at("participant").as_array().at(0).as_object();
  EXPECT_EQ(str(participant.at("individual").as_object().at("reference")),
            str(b.at("entry").as_array().at(2).as_object().at("fullUrl")));
  EXPECT_EQ(e.at("diagnosis").as_array().size(), 2u);
  const auto& disposition =
      e.at("hospitalization").as_object().at("dischargeDisposition").as_object();
  EXPECT_EQ(str(disposition.at("coding").as_array().at(0).as_object().at("code")), "home");
  EXPECT_EQ(str(e.at("reasonCode").as_array().at(0).as_object().at("text")), "発熱と呼吸苦");
}

TEST(VisitBundle, EncounterOnSiteIsInProgressWithoutEnd) {
  FhirInput in = full_input();
  in.visit.set_status(v1::Visit::ON_SITE);
  in.visit.mutable_history()->RemoveLast();  // drop COMPLETED
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  const auto e = resources_of(b, "Encounter").at(0);
  EXPECT_EQ(str(e.at("status")), "in-progress");
  EXPECT_EQ(str(e.at("period").as_object().at("start")), "2024-07-01T13:05:00Z");
  EXPECT_FALSE(e.at("period").as_object().contains("end"));
}

TEST(VisitBundle, ConditionsPerDiagnosis) {
  const auto b = parse(build_visit_bundle(full_input()));
  const auto conditions = resources_of(b, "Condition");
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(str(conditions[0].at("code").as_object().at("text")), "誤嚥性肺炎");
  EXPECT_EQ(str(conditions[1].at("code").as_object().at("text")), "脱水症");
  for (const auto& c : conditions) {
    EXPECT_EQ(str(c.at("clinicalStatus")
                      .as_object()
                      .at("coding")
                      .as_array()
                      .at(0)
                      .as_object()
                      .at("code")),
              "active");
    const auto& ver =
        c.at("verificationStatus").as_object().at("coding").as_array().at(0).as_object();
    EXPECT_EQ(str(ver.at("system")), "http://terminology.hl7.org/CodeSystem/condition-ver-status");
    EXPECT_EQ(str(ver.at("code")), "provisional");
    EXPECT_EQ(str(c.at("subject").as_object().at("reference")), full_url_of(b, "Patient"));
    EXPECT_EQ(str(c.at("encounter").as_object().at("reference")), full_url_of(b, "Encounter"));
  }
}

TEST(VisitBundle, MedicationRequestPerPrescription) {
  const auto b = parse(build_visit_bundle(full_input()));
  const auto requests = resources_of(b, "MedicationRequest");
  ASSERT_EQ(requests.size(), 3u);
  const auto& m = requests[0];
  EXPECT_EQ(str(m.at("status")), "active");
  EXPECT_EQ(str(m.at("intent")), "order");
  EXPECT_EQ(str(m.at("medicationCodeableConcept").as_object().at("text")),
            "アモキシシリン・クラブラン酸");
  EXPECT_EQ(str(m.at("dosageInstruction").as_array().at(0).as_object().at("text")),
            "1回1錠 1日3回 毎食後");
  const auto& duration =
      m.at("dispenseRequest").as_object().at("expectedSupplyDuration").as_object();
  EXPECT_EQ(duration.at("value").to_number<int>(), 7);
  EXPECT_EQ(str(duration.at("unit")), "days");
  EXPECT_EQ(str(duration.at("system")), "http://unitsofmeasure.org");
  EXPECT_EQ(str(duration.at("code")), "d");
  EXPECT_EQ(str(m.at("subject").as_object().at("reference")), full_url_of(b, "Patient"));
  EXPECT_EQ(str(m.at("encounter").as_object().at("reference")), full_url_of(b, "Encounter"));
  EXPECT_EQ(str(m.at("requester").as_object().at("reference")),
            str(b.at("entry").as_array().at(2).as_object().at("fullUrl")));
  EXPECT_EQ(str(m.at("authoredOn")), "2024-07-01T14:00:00Z");
  EXPECT_EQ(requests[2]
                .at("dispenseRequest")
                .as_object()
                .at("expectedSupplyDuration")
                .as_object()
                .at("value")
                .to_number<int>(),
            2);
}

TEST(VisitBundle, NarrativesEscapeMarkup) {
  FhirInput in = full_input();
  in.summary.set_findings("<script>alert('x')</script> & \"quoted\"\n2行目");
  in.summary.set_diagnoses(0, "肺炎 <b>疑い</b>");
  in.patient.set_name("山田 & <i>花子</i>");
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  // No narrative anywhere carries the user's markup.
  std::vector<std::string> divs;
  collect_divs(b, divs);
  EXPECT_GE(divs.size(), 11u + 7u);
  for (const auto& div : divs) {
    EXPECT_EQ(div.find("<script"), std::string::npos) << div;
    EXPECT_EQ(div.find("<b>疑い"), std::string::npos) << div;
    EXPECT_EQ(div.find("<i>"), std::string::npos) << div;
  }
  const auto& c = resource_at(b, 0);
  const auto* findings = section_titled(c, "所見");
  ASSERT_NE(findings, nullptr);
  const std::string div = str(findings->at("text").as_object().at("div"));
  EXPECT_NE(div.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"),
            std::string::npos)
      << div;
  EXPECT_NE(div.find("<br/>2行目"), std::string::npos) << div;
  EXPECT_EQ(str(findings->at("text").as_object().at("status")), "additional");
  const auto* dx = section_titled(c, "診断");
  ASSERT_NE(dx, nullptr);
  EXPECT_NE(str(dx->at("text").as_object().at("div")).find("肺炎 &lt;b&gt;疑い&lt;/b&gt;"),
            std::string::npos);
  // Plain JSON strings keep the text as written (JSON-escaped only).
  const auto p = resources_of(b, "Patient").at(0);
  EXPECT_EQ(str(p.at("name").as_array().at(0).as_object().at("text")), "山田 & <i>花子</i>");
  EXPECT_NE(str(p.at("text").as_object().at("div")).find("山田 &amp; &lt;i&gt;花子&lt;/i&gt;"),
            std::string::npos);
  EXPECT_EQ(str(resources_of(b, "Condition").at(0).at("code").as_object().at("text")),
            "肺炎 <b>疑い</b>");
}

TEST(VisitBundle, JapaneseTextSurvivesVerbatim) {
  const std::string out = build_visit_bundle(full_input());
  // UTF-8 is written as is, not as \u escapes.
  EXPECT_NE(out.find("八王子夜間往診センター"), std::string::npos);
  EXPECT_NE(out.find("往診サマリー"), std::string::npos);
  const auto b = parse(out);
  const auto org = resources_of(b, "Organization").at(0);
  EXPECT_EQ(str(org.at("name")), "八王子夜間往診センター");
  const auto* instructions = section_titled(resource_at(b, 0), "ケアチーム");
  ASSERT_NE(instructions, nullptr);
  EXPECT_NE(str(instructions->at("text").as_object().at("div"))
                .find("明朝、訪問看護でバイタル確認をお願いします。"),
            std::string::npos);
}

TEST(VisitBundle, InvalidUtf8AndControlCharactersAreReplaced) {
  FhirInput in = full_input();
  in.summary.set_treatment(std::string("点滴\xC3(\x01)\xFF") + "終了");
  const std::string out = build_visit_bundle(in);
  const auto b = parse(out);  // Boost.JSON rejects invalid UTF-8
  expect_valid_document(b);
  const auto* treatment = section_titled(resource_at(b, 0), "処置");
  ASSERT_NE(treatment, nullptr);
  EXPECT_NE(str(treatment->at("text").as_object().at("div"))
                .find("点滴\xEF\xBF\xBD(\xEF\xBF\xBD)\xEF\xBF\xBD終了"),
            std::string::npos);
}

TEST(VisitBundle, DeterministicForTheSameInput) {
  const FhirInput in = full_input();
  const std::string a = build_visit_bundle(in);
  EXPECT_EQ(a, build_visit_bundle(in));
  EXPECT_EQ(a, build_visit_bundle(full_input()));

  // Another deployment base gives other UUIDs; another visit another document.
  FhirInput other_base = full_input();
  other_base.id_base = "https://other.example.jp";
  const auto b1 = parse(a);
  const auto b2 = parse(build_visit_bundle(other_base));
  EXPECT_NE(str(b1.at("id")), str(b2.at("id")));
  EXPECT_NE(full_url_of(b1, "Patient"), full_url_of(b2, "Patient"));

  FhirInput other_visit = full_input();
  other_visit.visit.set_id("v-101");
  other_visit.summary.set_id("s-56");
  const auto b3 = parse(build_visit_bundle(other_visit));
  EXPECT_NE(str(b1.at("id")), str(b3.at("id")));
  EXPECT_NE(full_url_of(b1, "Composition"), full_url_of(b3, "Composition"));
  EXPECT_NE(full_url_of(b1, "Encounter"), full_url_of(b3, "Encounter"));
  // The same patient keeps the same UUID across visits.
  EXPECT_EQ(full_url_of(b1, "Patient"), full_url_of(b3, "Patient"));

  // A trailing slash on the base does not change anything.
  FhirInput slash = full_input();
  slash.id_base = "https://oshin.example.jp/";
  EXPECT_EQ(a, build_visit_bundle(slash));
}

TEST(VisitBundle, TimestampIsTheParameterOnly) {
  FhirInput later = full_input();
  later.timestamp = from_unix_ms(1719846000123);  // 15:00:00.123Z
  const auto b1 = parse(build_visit_bundle(full_input()));
  const auto b2 = parse(build_visit_bundle(later));
  EXPECT_EQ(str(b2.at("timestamp")), "2024-07-01T15:00:00.123Z");
  // Same document, assembled at another time.
  EXPECT_EQ(str(b1.at("identifier").as_object().at("value")),
            str(b2.at("identifier").as_object().at("value")));
  EXPECT_EQ(b1.at("entry"), b2.at("entry"));
}

TEST(VisitBundle, DeceasedSetsDeceasedDateTime) {
  FhirInput in = full_input();
  in.summary.set_disposition(v1::DECEASED);
  auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  auto p = resources_of(b, "Patient").at(0);
  EXPECT_EQ(str(p.at("deceasedDateTime")), "2024-07-01T13:50:30.250Z");
  const auto e = resources_of(b, "Encounter").at(0);
  EXPECT_EQ(str(e.at("hospitalization")
                    .as_object()
                    .at("dischargeDisposition")
                    .as_object()
                    .at("coding")
                    .as_array()
                    .at(0)
                    .as_object()
                    .at("code")),
            "exp");

  // Not completed yet: the summary time.
  in.visit.set_status(v1::Visit::ON_SITE);
  in.visit.mutable_history()->RemoveLast();
  b = parse(build_visit_bundle(in));
  p = resources_of(b, "Patient").at(0);
  EXPECT_EQ(str(p.at("deceasedDateTime")), "2024-07-01T14:00:00Z");
}

TEST(VisitBundle, TransferNamesTheDestination) {
  FhirInput in = full_input();
  in.summary.set_disposition(v1::TRANSFERRED_TO_HOSPITAL);
  in.summary.set_destination("東京医療センター");
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  const auto e = resources_of(b, "Encounter").at(0);
  const auto& disposition =
      e.at("hospitalization").as_object().at("dischargeDisposition").as_object();
  EXPECT_EQ(str(disposition.at("coding").as_array().at(0).as_object().at("code")), "other-hcf");
  EXPECT_NE(str(disposition.at("text")).find("東京医療センター"), std::string::npos);
  const auto* section = section_titled(resource_at(b, 0), "転帰");
  ASSERT_NE(section, nullptr);
  EXPECT_NE(str(section->at("text").as_object().at("div")).find("東京医療センター"),
            std::string::npos);
  EXPECT_FALSE(resources_of(b, "Patient").at(0).contains("deceasedDateTime"));
}

TEST(VisitBundle, MissingOptionalDataStillValid) {
  FhirInput in = full_input();
  in.summary.clear_prescriptions();
  in.summary.clear_destination();
  in.summary.clear_findings();
  in.summary.set_treatment("   ");
  in.summary.set_disposition(v1::DISPOSITION_UNSPECIFIED);
  in.patient.clear_location();
  in.patient.clear_address();
  in.patient.set_birth_date("");
  in.patient.set_sex(v1::Patient::SEX_UNSPECIFIED);
  in.primary_doctor.Clear();
  in.visit.clear_chief_complaint();
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);

  EXPECT_TRUE(resources_of(b, "MedicationRequest").empty());
  EXPECT_EQ(resources_of(b, "Practitioner").size(), 1u);
  EXPECT_EQ(resources_of(b, "Condition").size(), 2u);
  const auto& c = resource_at(b, 0);
  EXPECT_EQ(c.at("section").as_array().size(), 7u);
  const auto* rx = section_titled(c, "処方");
  ASSERT_NE(rx, nullptr);
  EXPECT_FALSE(rx->contains("entry"));
  EXPECT_EQ(
      str(rx->at("emptyReason").as_object().at("coding").as_array().at(0).as_object().at("code")),
      "nilknown");
  const auto* follow = section_titled(c, "かかりつけ医");
  ASSERT_NE(follow, nullptr);
  EXPECT_FALSE(follow->contains("entry"));

  const auto p = resources_of(b, "Patient").at(0);
  EXPECT_EQ(str(p.at("gender")), "unknown");
  EXPECT_FALSE(p.contains("birthDate"));
  EXPECT_FALSE(p.contains("address"));
  EXPECT_FALSE(p.contains("generalPractitioner"));
  const auto e = resources_of(b, "Encounter").at(0);
  EXPECT_FALSE(e.contains("hospitalization"));
  EXPECT_FALSE(e.contains("reasonCode"));
}

TEST(VisitBundle, BlankDiagnosesAndDruglessPrescriptionsAreSkipped) {
  FhirInput in = full_input();
  in.summary.add_diagnoses("  ");
  add_prescription(in.summary, "", "1錠", 3);
  in.summary.clear_created_at();
  in.patient.set_birth_date("1938-02-30");  // not a date
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  EXPECT_EQ(resources_of(b, "Condition").size(), 2u);
  EXPECT_EQ(resources_of(b, "MedicationRequest").size(), 3u);
  EXPECT_FALSE(resources_of(b, "Patient").at(0).contains("birthDate"));
  // No summary time: the Composition is dated with the bundle timestamp.
  EXPECT_EQ(str(resource_at(b, 0).at("date")), "2024-07-01T14:05:00Z");
}

TEST(VisitBundle, PrimaryDoctorOnCallIsOnePractitioner) {
  FhirInput in = full_input();
  in.primary_doctor = in.on_call_doctor;
  const auto b = parse(build_visit_bundle(in));
  expect_valid_document(b);
  EXPECT_EQ(resources_of(b, "Practitioner").size(), 1u);
}

TEST(VisitBundle, EmptyInputStillYieldsADocument) {
  const auto b = parse(build_visit_bundle(FhirInput{}));
  expect_valid_document(b);
  EXPECT_EQ(str(b.at("timestamp")), "1970-01-01T00:00:00Z");
}

}  // namespace
}  // namespace oshin::fhir
