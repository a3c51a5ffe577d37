#pragma once

#include <string>

#include "oshin/common/clock.hpp"
#include "oshin/v1/accounts.pb.h"
#include "oshin/v1/patients.pb.h"
#include "oshin/v1/summary.pb.h"
#include "oshin/v1/visits.pb.h"

namespace oshin::fhir {

/// Everything the FHIR document of one visit is built from. The caller loads it; building is
/// pure (no I/O, no clock).
struct FhirInput {
  v1::Visit visit;           ///< Encounter: status, period (ON_SITE / COMPLETED history times)
  v1::Patient patient;       ///< Patient (the Composition subject)
  v1::VisitSummary summary;  ///< Composition sections, Conditions, MedicationRequests
  /// The on-call DOCTOR who wrote the summary: Composition author and attester, Encounter
  /// participant, Condition recorder, MedicationRequest requester.
  v1::User on_call_doctor;
  /// The patient's PRIMARY_DOCTOR: Patient.generalPractitioner and the entry of the follow-up
  /// section. An empty id means none (no second Practitioner entry).
  v1::User primary_doctor;
  /// The house-call center: Composition.custodian, Encounter.serviceProvider.
  v1::Organization center;
  /// Bundle.timestamp: when the document is assembled (the only input-dependent time that is
  /// not read from the records; pass the injected clock's now()).
  SystemTime timestamp{};
  /// Absolute URI of this deployment (e.g. "https://oshin.example.jp", no trailing slash
  /// needed). Namespace of the entry UUIDs and base of the identifier systems
  /// ("<id_base>/patients", "/users", "/organizations", "/visits", "/summaries"). Keep it
  /// stable: changing it changes every UUID.
  std::string id_base = "urn:oshin";
};

/// The FHIR R4 document Bundle (`application/fhir+json`, compact JSON, UTF-8) of a visit:
/// Composition (LOINC 57133-1, first entry), Patient, Practitioner(s), Organization, Encounter
/// (class HH), one Condition per non-blank diagnosis and one MedicationRequest per prescription
/// with a non-blank drug. Every fullUrl is "urn:uuid:<v5 UUID>" derived from id_base and the
/// oshin ids, and every reference points at one of them, so the same input gives byte-identical
/// output. Free text is kept as valid UTF-8 (invalid bytes and control characters become
/// U+FFFD) and HTML-escaped in the XHTML narratives; blank strings are left out, as FHIR allows
/// no empty values. Pure and thread-safe; throws nothing but std::bad_alloc.
std::string build_visit_bundle(const FhirInput& in);

}  // namespace oshin::fhir
