"""FHIR R4 import: patients and discharges from a Bundle (Patient, Encounter, MedicationRequest,
CarePlan / ServiceRequest, and Condition / Procedure for the diagnosis and the operation).

Two steps, so a bad bundle never leaves half an import behind:
1. `parse_bundle` validates the bundle with `fhir.resources` (R4B models, as the rest of Suifang)
   and checks what an import needs (a phone to call, a discharge date, references that resolve),
   raising `BundleError` with the reason — built from resource ids and field names only, never
   from patient data. Nothing is written.
2. `import_bundle` writes patients and discharges into the caller's session without committing.

Structured data stays structured: each MedicationRequest becomes one medication item with the
dose, unit, route, frequency and duration of its dosage (the structurer only adds the generic
name and drug class), each ServiceRequest or CarePlan activity one revisit or re-examination
with its due date. The discharge's order text is written from the resources, one numbered line
each, and every item's span points at its line, so retrieval and the nurse pages work as for
typed orders. Free text (CarePlan description and notes) goes through the structurer, which
finds warning signs and instructions.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.ingest import ingest_drafts
from knowledge.structurer import FREQUENCIES, OrderItemDraft, detect_language, generic_name, structure_orders
from language.catalog import catalog
from records import store
from records.schema import Discharge, Patient, Ward
from suifang.config import Settings

BUNDLE_TYPES = ("transaction", "batch", "collection")
RESOURCE_TYPES = ("Patient", "Encounter", "MedicationRequest", "CarePlan", "ServiceRequest", "Condition", "Procedure")
SKIPPED_STATUSES = ("cancelled", "entered-in-error", "revoked", "not-done")
STRUCTURED_BY = "fhir+rules"

# SNOMED CT codes that make a ServiceRequest (or CarePlan activity) a revisit (复诊) rather than a re-exam.
REVISIT_CODES = {"390906007", "185389009", "3457005", "306206005", "11429006"}
REVISIT_WORDS = re.compile(r"复诊|随诊|门诊|follow[- ]?up|clinic|visit|appointment|referral", re.I)
ROUTE_CODES = {  # SNOMED CT route codes → structurer routes
    "26643006": "oral", "47625008": "iv", "78421000": "im", "34206005": "sc", "447694001": "inhaled",
    "18679011000001101": "inhaled", "6064005": "topical", "45890007": "topical", "37839007": "sublingual",
}
ROUTE_WORDS = (("oral", r"oral|mouth|口服|po\b"), ("iv", r"intravenous|\biv\b|静脉"), ("im", r"intramuscular|\bim\b|肌注|肌肉"),
               ("sc", r"subcutaneous|\bsc\b|皮下"), ("inhaled", r"inhal|吸入"), ("topical", r"topical|skin|外用|外敷"),
               ("sublingual", r"sublingual|舌下"))
PERIOD_UNITS = {"d": "D", "wk": "W", "mo": "M", "a": "Y", "day": "D", "days": "D", "week": "W", "weeks": "W",
                "month": "M", "months": "M", "year": "Y", "years": "Y"}
ID_NUMBER_TYPES = {"NI", "NNCHN", "CZ"}  # v2-0203 national / citizenship ids
LIMITS = {"name": 100, "phone": 20, "mrn": 32, "id_number": 32}


class BundleError(ValueError):
    """The bundle cannot be imported; the message names the entry and what is wrong or allowed."""


class WardNotAllowed(PermissionError):
    def __init__(self, ward_code: str) -> None:
        super().__init__(f"you may only import patients of your own wards (not {ward_code})")
        self.ward_code = ward_code


class PatientConflict(ValueError):
    pass


# ----- parsed form (no database) -------------------------------------------------------------------

@dataclass(frozen=True)
class PatientDraft:
    key: str
    fhir_id: str
    name: str
    phone: str
    mrn: str | None = None
    sex: str | None = None
    birth_year: int | None = None
    id_number: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class OrderLine:
    """One line of the discharge order text, from one resource; `item` is its structured form
    (None: free text, left to the structurer)."""

    text: str
    source: str  # e.g. MedicationRequest/med-1
    item: dict[str, Any] | None = None


@dataclass(frozen=True)
class DischargeDraft:
    key: str
    fhir_id: str
    patient_key: str
    ward_code: str | None
    discharged_on: dt.date
    admitted_on: dt.date | None = None
    department: str | None = None
    diagnosis: str = ""
    surgery: bool = False
    surgery_name: str | None = None
    attending_team: str | None = None
    lines: tuple[OrderLine, ...] = ()


@dataclass(frozen=True)
class ParsedBundle:
    patients: tuple[PatientDraft, ...]
    discharges: tuple[DischargeDraft, ...]
    skipped: tuple[str, ...] = ()  # resources left out on purpose (cancelled, entered in error)


@dataclass(frozen=True)
class ImportedDischarge:
    fhir_id: str
    discharge: Discharge
    created: bool  # False: the same discharge (patient, ward, date, orders) was imported before
    planned_calls: int


@dataclass
class ImportResult:
    patients: list[tuple[str, Patient, bool]] = field(default_factory=list)  # (fhir id, row, created)
    discharges: list[ImportedDischarge] = field(default_factory=list)
    skipped: tuple[str, ...] = ()


# ----- small readers ---------------------------------------------------------------------------------

def _text(concept: Any) -> str | None:
    """A CodeableConcept's text, else its first coding's display, else code."""
    if not isinstance(concept, dict):
        return None
    if str(concept.get("text") or "").strip():
        return str(concept["text"]).strip()
    for coding in concept.get("coding") or []:
        if str(coding.get("display") or "").strip():
            return str(coding["display"]).strip()
    for coding in concept.get("coding") or []:
        if coding.get("code"):
            return str(coding["code"])
    return None


def _codes(concepts: Any) -> set[str]:
    if isinstance(concepts, dict):
        concepts = [concepts]
    return {str(c.get("code")) for concept in concepts or [] if isinstance(concept, dict)
            for c in concept.get("coding") or [] if c.get("code")}


def _date(value: Any) -> dt.date | None:
    if not value:
        return None
    text = str(value)
    try:
        return dt.date.fromisoformat(text[:10]) if len(text) >= 10 else None
    except ValueError:
        return None


def _iso_period(duration: Any) -> str | None:
    """A FHIR Duration ({value: 2, code: wk}) → P2W."""
    if not isinstance(duration, dict) or duration.get("value") is None:
        return None
    unit = PERIOD_UNITS.get(str(duration.get("code") or duration.get("unit") or "").lower())
    value = float(duration["value"])
    if unit is None or value <= 0 or value != int(value):
        return None
    return f"P{int(value)}{unit}"


def _frequency(dosage: dict[str, Any]) -> str | None:
    if dosage.get("asNeededBoolean") or dosage.get("asNeededCodeableConcept"):
        return "prn"
    timing = dosage.get("timing") or {}
    for code in _codes(timing.get("code")):
        low = code.lower()
        if low in FREQUENCIES:
            return low
        if low in ("am", "pm"):
            return "qd"
    repeat = timing.get("repeat") or {}
    if repeat.get("count") == 1:
        return "once"
    when = {str(w).upper() for w in repeat.get("when") or []}
    if when & {"HS", "NIGHT", "PCV"} and (repeat.get("frequency") in (None, 1)):
        return "qn"
    frequency, period, unit = repeat.get("frequency") or 1, repeat.get("period"), repeat.get("periodUnit")
    if period is None or unit is None or float(period) <= 0:
        return None
    frequency, period = int(frequency), float(period)
    if unit == "h":
        if frequency == 1 and period in (4, 6, 8, 12):
            return f"q{int(period)}h"
        per_day = frequency * 24 / period
    elif unit == "d":
        per_day = frequency / period
    elif unit == "wk":
        per_day = frequency / (7 * period)
    else:
        return None
    for code, times in (("qd", 1), ("bid", 2), ("tid", 3), ("qid", 4), ("qod", 0.5), ("qw", 1 / 7)):
        if abs(per_day - times) < 1e-6:
            return code
    return None


def _route(dosage: dict[str, Any]) -> str | None:
    route = dosage.get("route")
    if not route:
        return None
    for code in _codes(route):
        if code in ROUTE_CODES:
            return ROUTE_CODES[code]
    words = _text(route) or ""
    for name, pattern in ROUTE_WORDS:
        if re.search(pattern, words, re.I):
            return name
    return "other"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# ----- resource mappers --------------------------------------------------------------------------------

def _medication_line(resource: dict[str, Any], ref: str, language: str) -> OrderLine:
    name = _text(resource.get("medicationCodeableConcept")) or str(
        (resource.get("medicationReference") or {}).get("display") or "").strip()
    if not name:
        raise BundleError(f"{ref}: no medication name (medicationCodeableConcept.text or .coding.display)")
    dosages = resource.get("dosageInstruction") or [{}]
    dosage = dosages[0]
    item: dict[str, Any] = {"kind": "medication", "name": name[:200]}
    dose_and_rate = (dosage.get("doseAndRate") or [{}])[0]
    quantity = dose_and_rate.get("doseQuantity")
    if quantity and quantity.get("value") is not None:
        item["dose"] = float(quantity["value"])
        unit = str(quantity.get("unit") or quantity.get("code") or "").strip()
        item["unit"] = unit[:16] or None
    item["route"] = _route(dosage)
    item["frequency"] = _frequency(dosage)
    dispense = resource.get("dispenseRequest") or {}
    repeat = (dosage.get("timing") or {}).get("repeat") or {}
    duration = _iso_period(repeat.get("boundsDuration")) or _iso_period(dispense.get("expectedSupplyDuration"))
    bounds_end = _date((repeat.get("boundsPeriod") or {}).get("end"))
    if duration is None and bounds_end is not None:
        duration = bounds_end.isoformat()
    if duration is None and "continuous" in _codes(resource.get("courseOfTherapyType")):
        duration = "long_term"
    item["duration"] = duration
    instructions = "; ".join(str(d.get("text")).strip() for d in dosages if str(d.get("text") or "").strip())
    if instructions:
        text = instructions if name in instructions else f"{name} {instructions}"
    else:
        dose = f"{_number(item['dose'])}{item.get('unit') or ''}" if item.get("dose") is not None else ""
        parts = [name, dose, item["route"] or "", item["frequency"] or "",
                 MESSAGES.raw("order_long_term", _lang(language)) if duration == "long_term" else duration or ""]
        text = " ".join(p for p in parts if p)
    return OrderLine(text=_one_line(text), source=ref, item={k: v for k, v in item.items() if v is not None})


MESSAGES = catalog("knowledge/data/messages.yaml")  # the order lines written when a resource has no text


def _lang(language: str) -> str:
    return "zh" if language == "zh" else "en"


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", "; ", text.strip())


def _when_of(resource: dict[str, Any], prefix: str) -> str | None:
    when = _date(resource.get(f"{prefix}DateTime")) or _date((resource.get(f"{prefix}Period") or {}).get("start"))
    if when is not None:
        return when.isoformat()
    timing = resource.get(f"{prefix}Timing") or {}
    repeat = timing.get("repeat") or {}
    period = _iso_period(repeat.get("boundsDuration"))
    if period:
        return period
    first = _date((timing.get("event") or [None])[0]) or _date((repeat.get("boundsPeriod") or {}).get("start"))
    if first is not None:
        return first.isoformat()
    scheduled = str(resource.get(f"{prefix}String") or "").strip()
    if re.fullmatch(r"P(?:\d+[YMWD])+", scheduled) or _date(scheduled):
        return scheduled
    return None


def _followup_line(*, kind: str, name: str | None, when: str | None, description: str | None, ref: str,
                   language: str) -> OrderLine:
    if description:
        text = description
    elif kind == "revisit":
        text = MESSAGES.text("order_revisit", _lang(language), name=name or "")
        text = text if language == "zh" else text.replace("  ", " ")
    else:
        text = MESSAGES.text("order_reexam", _lang(language), name=name)
    if when and not description:
        text += MESSAGES.text("order_when", _lang(language), when=when)
    item = {"kind": kind, "name": (name or None) and name[:200], "when": when}
    return OrderLine(text=_one_line(text), source=ref, item={k: v for k, v in item.items() if v is not None})


def _is_revisit(concepts: list[Any], words: str) -> bool:
    return bool(_codes(concepts) & REVISIT_CODES) or bool(REVISIT_WORDS.search(words or ""))


def _service_request_line(resource: dict[str, Any], ref: str, language: str) -> OrderLine:
    what = _text(resource.get("code"))
    revisit = _is_revisit([resource.get("code"), *(resource.get("category") or [])],
                          " ".join(filter(None, [what, *(_text(c) or "" for c in resource.get("category") or [])])))
    if revisit:
        department = (_text((resource.get("performerType"))) or _text((resource.get("locationCode") or [None])[0])
                      or None)
        name = department
    else:
        name = what
        if not name:
            raise BundleError(f"{ref}: a re-examination needs code.text or code.coding.display (what to re-examine)")
    notes = "; ".join(str(n.get("text")).strip() for n in resource.get("note") or [] if str(n.get("text") or "").strip())
    return _followup_line(kind="revisit" if revisit else "reexam", name=name, when=_when_of(resource, "occurrence"),
                          description=str(resource.get("patientInstruction") or "").strip() or notes or None,
                          ref=ref, language=language)


def _care_plan_lines(resource: dict[str, Any], ref: str, language: str) -> list[OrderLine]:
    lines: list[OrderLine] = []
    for free in [resource.get("description"), *(n.get("text") for n in resource.get("note") or [])]:
        if str(free or "").strip():
            lines.append(OrderLine(text=_one_line(str(free)), source=ref))
    for n, activity in enumerate(resource.get("activity") or []):
        detail = activity.get("detail")
        if not detail or activity.get("reference"):
            continue  # a referenced ServiceRequest in the bundle is imported on its own
        if detail.get("status") in SKIPPED_STATUSES:
            continue
        kind = detail.get("kind")
        what = _text(detail.get("code"))
        description = str(detail.get("description") or "").strip() or None
        where = str((detail.get("location") or {}).get("display") or "").strip() or None
        if kind == "Appointment" or (kind != "MedicationRequest" and _is_revisit([detail.get("code")], what or "")):
            lines.append(_followup_line(kind="revisit", name=where or (what if what and not REVISIT_WORDS.search(what) else None),
                                        when=_when_of(detail, "scheduled"), description=description,
                                        ref=f"{ref}#activity{n}", language=language))
        elif kind in ("ServiceRequest", "DiagnosticReport") and what:
            lines.append(_followup_line(kind="reexam", name=what, when=_when_of(detail, "scheduled"),
                                        description=description, ref=f"{ref}#activity{n}", language=language))
        elif description or what:
            lines.append(OrderLine(text=_one_line(description or what), source=f"{ref}#activity{n}"))
    return lines


# ----- the bundle ------------------------------------------------------------------------------------

def _fhir_errors(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return exc.__class__.__name__
    parts = []
    for error in errors()[:3]:
        loc = ".".join(str(p) for p in error.get("loc") or ())
        parts.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
    return "; ".join(parts)


def parse_bundle(data: Any) -> ParsedBundle:
    """Validate and read a Bundle; raises BundleError. Writes nothing."""
    from fhir.resources.R4B.bundle import Bundle

    if not isinstance(data, dict) or data.get("resourceType") != "Bundle":
        raise BundleError("expected a FHIR R4 Bundle (a JSON object with resourceType \"Bundle\")")
    if data.get("type") not in BUNDLE_TYPES:
        raise BundleError(f"Bundle.type {data.get('type')!r} cannot be imported; use one of {', '.join(BUNDLE_TYPES)}")
    for n, entry in enumerate(data.get("entry") or []):
        kind = (entry.get("resource") or {}).get("resourceType") if isinstance(entry, dict) else None
        if kind not in RESOURCE_TYPES:
            raise BundleError(f"Bundle.entry[{n}] is a {kind or 'entry without a resource'}; importable resource types: "
                              f"{', '.join(RESOURCE_TYPES)}")
    try:
        bundle = Bundle.model_validate(data)
    except Exception as exc:  # noqa: BLE001 - pydantic / fhir.resources validation errors
        raise BundleError(f"not a valid FHIR R4 Bundle: {_fhir_errors(exc)}") from None
    entries = [(e.get("fullUrl"), e["resource"]) for e in bundle.model_dump(mode="json", exclude_none=True).get("entry") or []]
    if not entries:
        raise BundleError("the Bundle has no entries")
    return _read_entries(entries)


def _read_entries(entries: list[tuple[str | None, dict[str, Any]]]) -> ParsedBundle:
    by_key: dict[str, tuple[str, dict[str, Any]]] = {}
    refs: list[tuple[str, dict[str, Any]]] = []
    for n, (full_url, resource) in enumerate(entries):
        kind = resource["resourceType"]
        ref = f"{kind}/{resource['id']}" if resource.get("id") else f"{kind} (entry {n})"
        if full_url:
            by_key[full_url] = (ref, resource)
        if resource.get("id"):
            by_key[f"{kind}/{resource['id']}"] = (ref, resource)
        refs.append((ref, resource))

    def resolve(reference: Any, expected: str, *, owner: str, what: str) -> str | None:
        if not reference:
            return None
        target = str(reference.get("reference") or "") if isinstance(reference, dict) else ""
        hit = by_key.get(target)
        if hit is None:
            hit = next((v for k, v in by_key.items() if target and target.endswith("/" + k) and "/" in k), None)
        if hit is None or hit[1]["resourceType"] != expected:
            raise BundleError(f"{owner}: {what} must reference an entry of this Bundle of type {expected}")
        return hit[0]

    patients = {ref: _patient(ref, r) for ref, r in refs if r["resourceType"] == "Patient"}
    if not patients:
        raise BundleError("the Bundle has no Patient")
    encounters: dict[str, dict[str, Any]] = {}
    encounter_patient: dict[str, str] = {}
    for ref, r in refs:
        if r["resourceType"] == "Encounter":
            encounters[ref] = r
            encounter_patient[ref] = resolve(r.get("subject"), "Patient", owner=ref, what="subject")  # type: ignore[assignment]
            if encounter_patient[ref] is None:
                raise BundleError(f"{ref}: subject must reference a Patient in this Bundle")
    by_patient: dict[str, list[str]] = {}
    for enc, pat in encounter_patient.items():
        by_patient.setdefault(pat, []).append(enc)

    def encounter_of(ref: str, r: dict[str, Any], subject_field: str = "subject") -> str:
        encounter = resolve(r.get("encounter"), "Encounter", owner=ref, what="encounter") if r.get("encounter") else None
        if encounter is not None:
            return encounter
        patient = resolve(r.get(subject_field), "Patient", owner=ref, what=subject_field)
        options = by_patient.get(patient or "", [])
        if patient is None or len(options) != 1:
            raise BundleError(f"{ref}: give encounter (the discharge Encounter it belongs to); its subject has "
                              f"{len(options)} Encounters in this Bundle")
        return options[0]

    lines: dict[str, list[OrderLine]] = {e: [] for e in encounters}
    diagnoses: dict[str, list[str]] = {e: [] for e in encounters}
    surgeries: dict[str, str] = {}
    skipped: list[str] = []
    for ref, r in refs:
        kind = r["resourceType"]
        if kind in ("Patient", "Encounter"):
            continue
        if r.get("status") in SKIPPED_STATUSES:
            skipped.append(ref)
            continue
        encounter = encounter_of(ref, r)
        language = patients[encounter_patient[encounter]].language or "zh"
        if kind == "MedicationRequest":
            lines[encounter].append(_medication_line(r, ref, language))
        elif kind == "ServiceRequest":
            lines[encounter].append(_service_request_line(r, ref, language))
        elif kind == "CarePlan":
            lines[encounter].extend(_care_plan_lines(r, ref, language))
        elif kind == "Condition":
            if _text(r.get("code")):
                diagnoses[encounter].append(_text(r.get("code")))  # type: ignore[arg-type]
        elif kind == "Procedure":
            surgeries[encounter] = _text(r.get("code")) or "surgery"

    discharges = []
    for ref, r in encounters.items():
        period = r.get("period") or {}
        discharged_on = _date(period.get("end"))
        if discharged_on is None:
            raise BundleError(f"{ref}: period.end (the discharge date) is required")
        reasons = [_text(c) for c in r.get("reasonCode") or []]
        diagnosis = "；".join(dict.fromkeys(d for d in [*diagnoses[ref], *reasons] if d))
        team = next((str(p["individual"]["display"]) for p in r.get("participant") or []
                     if (p.get("individual") or {}).get("display")), None)
        service = _text(r.get("serviceType"))
        discharges.append(DischargeDraft(
            key=ref, fhir_id=str(r.get("id") or ref), patient_key=encounter_patient[ref], ward_code=_ward_code(r),
            discharged_on=discharged_on, admitted_on=_date(period.get("start")), department=service and service[:100],
            diagnosis=diagnosis[:500], surgery=ref in surgeries, surgery_name=surgeries.get(ref, None) and surgeries[ref][:200],
            attending_team=team and team[:100], lines=tuple(lines[ref])))
    return ParsedBundle(patients=tuple(patients.values()), discharges=tuple(discharges), skipped=tuple(skipped))


def _ward_code(encounter: dict[str, Any]) -> str | None:
    for location in encounter.get("location") or []:
        target = location.get("location") or {}
        code = (target.get("identifier") or {}).get("value") or target.get("display")
        if code:
            return str(code).strip()
    return None


def _patient(ref: str, r: dict[str, Any]) -> PatientDraft:
    names = r.get("name") or []
    official = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    name = str(official.get("text") or "").strip()
    if not name:
        family, given = str(official.get("family") or ""), " ".join(official.get("given") or [])
        han = re.search(r"[\u4e00-\u9fff]", family + given)
        name = (family + given) if han else f"{given} {family}".strip()
    if not name:
        raise BundleError(f"{ref}: name (text, or family and given) is required")
    phone = next((str(t["value"]).strip() for t in r.get("telecom") or []
                  if t.get("system") == "phone" and str(t.get("value") or "").strip()), None)
    if phone is None:
        raise BundleError(f"{ref}: telecom with system \"phone\" is required (the follow-up call dials it)")
    from records.identifiers import ID_NUMBER_PATTERN, PHONE_PATTERN  # the same rules as POST /patients

    phone = re.sub(r"[\s()]", "", phone)
    if not PHONE_PATTERN.match(phone):
        raise BundleError(f"{ref}: the phone telecom must be a mainland mobile (11 digits, 1[3-9]…), "
                          "a landline (0xx-xxxxxxxx) or E.164 (+…)")
    typed_mrn = untyped = id_number = None
    for identifier in r.get("identifier") or []:
        codes = _codes(identifier.get("type"))
        value = str(identifier.get("value") or "").strip()
        if not value:
            continue
        if codes & ID_NUMBER_TYPES:
            id_number = id_number or value
        elif "MR" in codes:
            typed_mrn = typed_mrn or value
        elif not codes:
            untyped = untyped or value
    mrn = typed_mrn or untyped  # an identifier of type MR, else the first one without a type
    language = None
    for communication in r.get("communication") or []:
        for code in _codes(communication.get("language")):
            if code.lower()[:2] in ("zh", "en"):
                language = code.lower()[:2]
                break
        if language:
            break
    if id_number is not None and not ID_NUMBER_PATTERN.match(id_number):
        raise BundleError(f"{ref}: a national identifier must be an 18-character resident ID (17 digits and a digit or X)")
    birth = str(r.get("birthDate") or "")
    draft = PatientDraft(key=ref, fhir_id=str(r.get("id") or ref), name=name, phone=phone, mrn=mrn,
                         sex=r.get("gender") if r.get("gender") in ("male", "female") else None,
                         birth_year=int(birth[:4]) if birth[:4].isdigit() else None, id_number=id_number,
                         language=language or detect_language(name))
    for attribute, limit in LIMITS.items():
        value = getattr(draft, attribute)
        if value is not None and len(value) > limit:
            raise BundleError(f"{ref}: {attribute} is longer than {limit} characters")
    return draft


# ----- writing ---------------------------------------------------------------------------------------

def _order_text(lines: Sequence[OrderLine]) -> tuple[str, list[int]]:
    text, starts = "", []
    for n, line in enumerate(lines, start=1):
        prefix = f"{n}. "
        starts.append(len(text) + len(prefix))
        text += prefix + line.text + "\n"
    return text.rstrip("\n"), starts


def order_drafts(lines: Sequence[OrderLine], *, language: str) -> tuple[str, list[OrderItemDraft], list[str]]:
    """The order text and its items: structured resources mapped field by field, free text structured."""
    text, starts = _order_text(lines)
    drafts: list[OrderItemDraft] = []
    unparsed: list[str] = []
    for line, start in zip(lines, starts, strict=True):
        end = start + len(line.text)

        def shifted(d: OrderItemDraft, start: int = start) -> OrderItemDraft:
            return replace(d, span_start=d.span_start + start, span_end=d.span_end + start)

        if line.item is None:
            structured = structure_orders(line.text, language=language)
            drafts.extend(shifted(d) for d in structured.items)
            unparsed.extend(structured.unparsed_lines)
            continue
        fields = dict(line.item)
        kind = fields.pop("kind")
        if kind == "medication":
            # The structurer reads the line for generic name, class and anything the resource left
            # out (say a route only in the dosage text); the resource's own fields win.
            found = next((d for d in structure_orders(line.text, language=language).items if d.kind == "medication"), None)
            base = found or OrderItemDraft(kind="medication", text=line.text, span_start=0, span_end=0)
            drafts.append(replace(base, text=line.text, span_start=start, span_end=end, source="rules",
                                  generic_name=generic_name(fields["name"]), **fields))
        else:
            drafts.append(OrderItemDraft(kind=kind, text=line.text, span_start=start, span_end=end, **fields))
    return text, drafts, unparsed


def import_bundle(session: Session, *, parsed: ParsedBundle, settings: Settings, may_use_ward: Callable[[Ward], bool],
                  default_ward: str | None = None) -> ImportResult:
    """Write the parsed bundle into `session` (flushed, not committed; the caller commits or rolls back).

    Raises BundleError (unknown ward), WardNotAllowed, PatientConflict."""
    wards = {w.code: w for w in session.scalars(select(Ward))}
    allowed = sorted(code for code, w in wards.items() if may_use_ward(w))

    def ward(code: str | None, owner: str) -> Ward:
        code = code or default_ward
        if not code:
            raise BundleError(f"{owner}: no ward; give Encounter.location.location.identifier.value or ?ward=, "
                              f"one of {', '.join(allowed) or '(none)'}")
        if code not in wards:
            raise BundleError(f"{owner}: unknown ward {code!r}; use one of {', '.join(allowed) or '(none)'}")
        if not may_use_ward(wards[code]):
            raise WardNotAllowed(code)
        return wards[code]

    discharge_wards = {d.key: ward(d.ward_code, d.key) for d in parsed.discharges}
    result = ImportResult(skipped=parsed.skipped)
    patients: dict[str, Patient] = {}
    for draft in parsed.patients:
        latest = max((d for d in parsed.discharges if d.patient_key == draft.key), key=lambda d: d.discharged_on,
                     default=None)
        home = discharge_wards[latest.key] if latest is not None else ward(None, draft.key)
        existing = session.scalar(select(Patient).where(Patient.mrn == draft.mrn)) if draft.mrn else None
        if existing is not None:
            if not may_use_ward(existing.ward):
                raise PatientConflict(f"{draft.key}: its MRN is already registered to a ward you cannot access")
            patients[draft.key] = existing
            result.patients.append((draft.fhir_id, existing, False))
            continue
        patient = store.create_patient(session, ward=home, name=draft.name, phone=draft.phone, sex=draft.sex,
                                       birth_year=draft.birth_year, id_number=draft.id_number, mrn=draft.mrn,
                                       language=draft.language or "zh")
        patients[draft.key] = patient
        result.patients.append((draft.fhir_id, patient, True))
    for draft in parsed.discharges:
        patient = patients[draft.patient_key]
        language = patient.language or "zh"
        text, items, unparsed = order_drafts(draft.lines, language=language)
        home = discharge_wards[draft.key]
        same = session.scalar(select(Discharge).where(
            Discharge.patient_id == patient.id, Discharge.discharged_on == draft.discharged_on,
            Discharge.ward_id == home.id, Discharge.order_text == text).order_by(Discharge.id))
        if same is not None:  # the same discharge sent again (an EHR retrying): keep the one we have
            result.discharges.append(ImportedDischarge(draft.fhir_id, same, created=False, planned_calls=0))
            continue
        discharge = store.create_discharge(
            session, patient=patient, department=draft.department or home.department, diagnosis=draft.diagnosis,
            discharged_on=draft.discharged_on, admitted_on=draft.admitted_on, order_text=text, language=language,
            surgery=draft.surgery, surgery_name=draft.surgery_name, attending_team=draft.attending_team or home.team_name)
        discharge.ward_id = home.id
        plan = ingest_drafts(session, discharge=discharge, drafts=items, unparsed_lines=unparsed,
                             structured_by=STRUCTURED_BY, settings=settings, knowledge_base=None)
        result.discharges.append(ImportedDischarge(draft.fhir_id, discharge, created=True,
                                                   planned_calls=len(plan.calls)))
    session.flush()
    return result

