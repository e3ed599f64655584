"""FHIR R4 export of follow-up calls (followup-outcome.md → FHIR), validated with `fhir.resources`.

One ended call becomes:
- Task — the call job (status from how the call ended, businessStatus = call_status);
- Communication — the call itself, with the transcript attached as text/plain (and each recorded
  patient turn as an audio/wav link to the nurse pages);
- QuestionnaireResponse — every outcome field the call learned, under its contract name;
- Observation — blood pressure panel (LOINC 85354-9 with 8480-6 / 8462-4 in mm[Hg]), glucose
  (15074-8, mmol/L), heart rate (8867-4), body temperature (8310-5), pain (72514-3), with
  interpretation codes from the configured flag thresholds where the contract has rules;
- Flag — the risk grade (red/yellow/blue/grey), and one Flag per red or yellow flag.

The models are `fhir.resources.R4B` (the R4 technical correction; these resources are unchanged
from R4), as in dialogs/preconsult_report.py. Phone and ID numbers are never exported: the MRN
identifies the patient.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.schema import CallSession, Outcome, OutcomeCorrection, Patient, ReviewItem, Turn, Ward

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
SYSTEM = "urn:suifang"  # code systems of the outcome contract: urn:suifang:<field>
QUESTIONNAIRE = "urn:suifang:questionnaire:followup-outcome"
MRN_SYSTEM = "urn:suifang:mrn"

RISK_GRADES = {
    "red": "critical value or red flag now",
    "yellow": "out of target or yellow flag",
    "blue": "stable, on target",
    "grey": "not enough information",
}
UNREACHED = ("no_answer", "busy", "voicemail", "wrong_person", "failed")
CODED_FIELDS = ("call_status", "respondent", "overall_condition", "medication_adherence", "wound", "risk_grade")
INTERPRETATION_TEXT = {"HH": "Critical high", "H": "High", "N": "Normal", "L": "Low", "LL": "Critical low"}
_SEVERITY = {"N": 0, "L": 1, "H": 1, "LL": 2, "HH": 2}


@dataclass(frozen=True)
class Thresholds:
    """The flag thresholds interpretation codes come from: those of the clinical rule table
    (dialogs/rules/clinical_rules.yaml, with a hospital's overrides), passed in by the caller."""

    systolic_red_high: float
    diastolic_red_high: float
    systolic_red_low: float
    systolic_yellow: float
    diastolic_yellow: float
    glucose_red_high: float
    glucose_red_low: float
    glucose_yellow: float

    @classmethod
    def from_values(cls, values: Mapping[str, float]) -> Thresholds:
        """From the rule table's named thresholds (ClinicalRules.thresholds)."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__})


class ExportError(LookupError):
    pass


# ----- small builders ------------------------------------------------------------------------------

def _instant(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(dt.timezone.utc).isoformat(timespec="seconds")


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return coding


def _interpretation(code: str) -> list[dict[str, Any]]:
    return [{"coding": [_coding(INTERPRETATION, code, INTERPRETATION_TEXT[code])], "text": INTERPRETATION_TEXT[code]}]


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def reading_interpretation(value: float, *, red_high: float, yellow: float, red_low: float | None = None) -> str:
    """HL7 interpretation of a home reading by the same thresholds the flag rules use."""
    if value >= red_high:
        return "HH"
    if red_low is not None and value < red_low:
        return "LL"
    return "H" if value >= yellow else "N"


def _worst(codes: Sequence[str]) -> str:
    return max(codes, key=lambda c: _SEVERITY[c]) if codes else "N"


# ----- resources -----------------------------------------------------------------------------------

def patient_resource(patient: Patient) -> dict[str, Any]:
    """The patient as FHIR Patient: MRN, name, sex, birth year, language, managing ward. No phone, no ID number."""
    resource: dict[str, Any] = {"resourceType": "Patient", "id": str(patient.id), "active": True,
                                "name": [{"text": patient.name}]}
    if patient.mrn:
        resource["identifier"] = [{"type": {"coding": [_coding(IDENTIFIER_TYPE, "MR", "Medical record number")]},
                                   "system": MRN_SYSTEM, "value": patient.mrn}]
    if patient.sex in ("male", "female", "other", "unknown"):
        resource["gender"] = patient.sex
    if patient.birth_year:
        resource["birthDate"] = f"{patient.birth_year:04d}"
    if patient.language:
        resource["communication"] = [{"language": {"coding": [_coding("urn:ietf:bcp:47", patient.language)]},
                                      "preferred": True}]
    if patient.ward is not None:
        resource["managingOrganization"] = {"display": f"{patient.ward.name} ({patient.ward.code})"}
    return _validated(resource)


@dataclass(frozen=True)
class CallData:
    call: CallSession
    outcome: Outcome
    turns: list[Turn]
    ward: Ward | None
    amended: bool
    review_status: str | None


def _task(d: CallData, subject: dict[str, Any], ref: str) -> dict[str, Any]:
    status = d.outcome.call_status
    task_status = ("in-progress" if d.call.status == "in_progress" else "completed" if status in ("completed", "partial")
                   else "rejected" if status == "refused" else "failed")
    task: dict[str, Any] = {
        "resourceType": "Task", "id": f"{ref}-task", "status": task_status, "intent": "order",
        "businessStatus": {"coding": [_coding(f"{SYSTEM}:call_status", status)], "text": status},
        "code": {"coding": [_coding("http://hl7.org/fhir/CodeSystem/task-code", "fulfill", "Fulfill the focal request")],
                 "text": "follow-up call"},
        "description": f"Follow-up call ({d.call.channel}, flow {d.call.flow_id or '-'})",
        "for": subject, "authoredOn": _instant(d.call.started_at),
        "executionPeriod": {k: v for k, v in (("start", _instant(d.call.started_at)),
                                              ("end", _instant(d.call.ended_at))) if v},
        "output": [{"type": {"text": "follow-up outcome"},
                    "valueReference": {"reference": f"QuestionnaireResponse/{ref}-qr"}}],
    }
    if d.call.ended_at:
        task["lastModified"] = _instant(d.call.ended_at)
    if d.ward is not None:
        task["owner"] = {"display": f"{d.ward.name} ({d.ward.code})"}
    return task


def transcript_text(turns: Sequence[Turn]) -> str:
    lines = []
    for turn in turns:
        who = "AI" if turn.speaker == "system" else "Patient"
        said = turn.text or ("[silence]" if any(e.get("type") == "silence" for e in turn.events or []
                                               if isinstance(e, dict)) else "")
        lines.append(f"{who}: {said}")
    return "\n".join(lines) + "\n"


def _communication(d: CallData, subject: dict[str, Any], ref: str, base_url: str) -> dict[str, Any]:
    status = d.outcome.call_status
    comm_status = ("in-progress" if d.call.status == "in_progress" else "completed" if status == "completed"
                   else "stopped" if status == "partial" else "not-done")
    payload: list[dict[str, Any]] = [{"contentAttachment": {
        "contentType": "text/plain; charset=utf-8", "language": d.call.language,
        "data": base64.b64encode(transcript_text(d.turns).encode("utf-8")).decode("ascii"),
        "title": "transcript", "creation": _instant(d.call.ended_at or d.call.started_at)}}]
    for turn in d.turns:
        if turn.audio_ref:
            payload.append({"contentAttachment": {"contentType": "audio/wav", "url": f"{base_url}/ui/turns/{turn.id}/audio",
                                                  "title": f"patient turn {turn.seq}"}})
    comm: dict[str, Any] = {
        "resourceType": "Communication", "id": ref, "status": comm_status,
        "basedOn": [{"reference": f"Task/{ref}-task"}],
        "category": [{"text": "follow-up call"}],
        "medium": [{"coding": [_coding(PARTICIPATION_MODE, "ONLINEWRIT", "online written")
                               if d.call.channel == "text" else _coding(PARTICIPATION_MODE, "PHONE", "telephone")]}],
        "subject": subject, "recipient": [subject],
        "sender": {"display": "Suifang follow-up assistant (AI)" + (f", {d.ward.team_name or d.ward.name}" if d.ward else "")},
        "sent": _instant(d.call.started_at), "payload": payload,
    }
    if d.call.ended_at:
        comm["received"] = _instant(d.call.ended_at)
    if comm_status == "not-done":
        comm["statusReason"] = {"coding": [_coding(f"{SYSTEM}:call_status", status)], "text": status}
    return comm


def _answer(field: str, value: Any) -> list[dict[str, Any]]:
    if isinstance(value, bool):
        return [{"valueBoolean": value}]
    if field in CODED_FIELDS:
        return [{"valueCoding": _coding(f"{SYSTEM}:{field}", str(value))}]
    if field in ("symptoms", "side_effects"):
        return [{"valueCoding": _coding(f"{SYSTEM}:symptom", str(v))} for v in value if v]
    if field == "missed_medications":
        return [{"valueString": str(v)} for v in value if str(v).strip()]
    if field == "blood_glucose":
        return [{"valueQuantity": _quantity(float(value), "mmol/L", "mmol/L")}]
    if field == "temperature":
        return [{"valueQuantity": _quantity(float(value), "°C", "Cel")}]
    if field == "heart_rate":
        return [{"valueQuantity": _quantity(int(value), "beats/min", "/min")}]
    if isinstance(value, int):
        return [{"valueInteger": value}]
    if isinstance(value, float):
        return [{"valueDecimal": value}]
    text = str(value).strip()
    return [{"valueString": text}] if text else []


def _qr_item(field: str, value: Any) -> dict[str, Any] | None:
    if field == "blood_pressure":
        children = [{"linkId": f"blood_pressure.{part}", "text": part,
                     "answer": [{"valueQuantity": _quantity(value[part], "mmHg", "mm[Hg]")}]}
                    for part in ("systolic", "diastolic") if isinstance(value, dict) and value.get(part) is not None]
        return {"linkId": field, "text": field, "item": children} if children else None
    if field == "questions":
        children = []
        for n, q in enumerate(value or [], start=1):
            parts = [("text", q.get("text")), ("answer", q.get("answer")), ("answered", q.get("answered"))]
            sub = [{"linkId": f"questions.{n}.{key}", "text": key, "answer": _answer(key, v)}
                   for key, v in parts if v not in (None, "")]
            sources = [s for s in q.get("sources") or [] if s is not None]
            if sources:
                sub.append({"linkId": f"questions.{n}.sources", "text": "sources (order item ids)",
                            "answer": [{"valueString": str(s)} for s in sources]})
            children.append({"linkId": f"questions.{n}", "text": f"question {n}", "item": [s for s in sub if s["answer"]]})
        return {"linkId": field, "text": field, "item": children} if children else None
    if field == "flags":
        children = []
        for n, f in enumerate(value or [], start=1):
            sub = [{"linkId": f"flags.{n}.level", "text": "level", "answer": [{"valueCoding": _coding(f"{SYSTEM}:flag_level", f["level"])}]},
                   {"linkId": f"flags.{n}.code", "text": "code", "answer": [{"valueCoding": _coding(f"{SYSTEM}:flag", f["code"])}]}]
            for key in ("reason", "evidence"):
                if str(f.get(key) or "").strip():
                    sub.append({"linkId": f"flags.{n}.{key}", "text": key, "answer": [{"valueString": str(f[key])}]})
            children.append({"linkId": f"flags.{n}", "text": f"flag {n}", "item": sub})
        return {"linkId": field, "text": field, "item": children} if children else None
    answers = _answer(field, value)
    return {"linkId": field, "text": field, "answer": answers} if answers else None


def _questionnaire_response(d: CallData, subject: dict[str, Any], ref: str) -> dict[str, Any]:
    from records.schema import OUTCOME_FIELDS

    items = []
    for field in OUTCOME_FIELDS:
        value = getattr(d.outcome, field)
        if value is None or value == [] or value == {}:
            continue  # a field the call never learned is absent, not guessed
        item = _qr_item(field, value)
        if item is not None:
            items.append(item)
    status = ("in-progress" if d.call.status == "in_progress" else "amended" if d.amended
              else "completed" if d.outcome.call_status == "completed" else "stopped")
    return {"resourceType": "QuestionnaireResponse", "id": f"{ref}-qr", "questionnaire": QUESTIONNAIRE,
            "status": status, "subject": subject, "authored": _instant(d.call.ended_at or d.call.started_at),
            "author": {"display": "Suifang follow-up assistant (AI)"},
            "source": subject, "item": items or [{"linkId": "call_status", "text": "call_status",
                                                  "answer": _answer("call_status", d.outcome.call_status)}]}


def _observation(d: CallData, subject: dict[str, Any], ref: str, suffix: str, *, category: str, code: str,
                 display: str, **value: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": f"{ref}-{suffix}", "status": "final",
            "category": [{"coding": [_coding(OBS_CATEGORY, category)]}],
            "code": {"coding": [_coding(LOINC, code, display)], "text": display},
            "subject": subject, "effectiveDateTime": _instant(d.call.started_at),
            "issued": _instant(d.call.ended_at or d.call.started_at),
            "performer": [subject],
            "derivedFrom": [{"reference": f"QuestionnaireResponse/{ref}-qr"}],
            "note": [{"text": "home reading reported by the patient on a follow-up call"}], **value}


def _observations(d: CallData, subject: dict[str, Any], ref: str, t: Thresholds) -> list[dict[str, Any]]:
    o = d.outcome
    out = []
    bp = o.blood_pressure or {}
    components, codes = [], []
    for part, loinc, display, limits in (
            ("systolic", "8480-6", "Systolic blood pressure",
             {"red_high": t.systolic_red_high, "yellow": t.systolic_yellow, "red_low": t.systolic_red_low}),
            ("diastolic", "8462-4", "Diastolic blood pressure",
             {"red_high": t.diastolic_red_high, "yellow": t.diastolic_yellow})):
        if bp.get(part) is not None:
            code = reading_interpretation(float(bp[part]), **limits)
            codes.append(code)
            components.append({"code": {"coding": [_coding(LOINC, loinc, display)], "text": display},
                               "valueQuantity": _quantity(bp[part], "mmHg", "mm[Hg]"),
                               "interpretation": _interpretation(code)})
    if components:
        out.append(_observation(d, subject, ref, "bp", category="vital-signs", code="85354-9",
                                display="Blood pressure panel with all children optional",
                                component=components, interpretation=_interpretation(_worst(codes))))
    if o.blood_glucose is not None:
        out.append(_observation(d, subject, ref, "glucose", category="laboratory", code="15074-8",
                                display="Glucose [Moles/volume] in Blood",
                                valueQuantity=_quantity(float(o.blood_glucose), "mmol/L", "mmol/L"),
                                interpretation=_interpretation(reading_interpretation(
                                    float(o.blood_glucose), red_high=t.glucose_red_high, yellow=t.glucose_yellow,
                                    red_low=t.glucose_red_low))))
    if o.heart_rate is not None:
        out.append(_observation(d, subject, ref, "heart-rate", category="vital-signs", code="8867-4",
                                display="Heart rate", valueQuantity=_quantity(int(o.heart_rate), "beats/min", "/min")))
    if o.temperature is not None:
        flagged = {f.get("code") for f in o.flags or []}
        temp_code = "HH" if "fever_high" in flagged else "H" if "fever" in flagged else "N"
        out.append(_observation(d, subject, ref, "temperature", category="vital-signs", code="8310-5",
                                display="Body temperature", valueQuantity=_quantity(float(o.temperature), "°C", "Cel"),
                                interpretation=_interpretation(temp_code)))
    if o.pain_score is not None:
        out.append(_observation(d, subject, ref, "pain", category="survey", code="72514-3",
                                display="Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                                valueInteger=int(o.pain_score)))
    return out


def _flags(d: CallData, subject: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    o = d.outcome
    # A nurse resolving the call's review item closes its flags; the grade stays the call's record.
    flag_status = "inactive" if d.review_status == "resolved" else "active"
    period = {"start": _instant(d.call.ended_at or d.call.started_at)}
    category = [{"coding": [_coding(FLAG_CATEGORY, "clinical", "Clinical")]}]
    author = {"display": "Suifang follow-up rules"}
    out = []
    if o.risk_grade:
        out.append({"resourceType": "Flag", "id": f"{ref}-grade", "status": "active", "category": category,
                    "code": {"coding": [_coding(f"{SYSTEM}:risk_grade", o.risk_grade, RISK_GRADES.get(o.risk_grade))],
                             "text": f"risk grade {o.risk_grade}: {RISK_GRADES.get(o.risk_grade, '')}".rstrip(": ")},
                    "subject": subject, "period": period, "author": author})
    for n, f in enumerate(o.flags or [], start=1):
        out.append({"resourceType": "Flag", "id": f"{ref}-flag-{n}", "status": flag_status, "category": category,
                    "code": {"coding": [_coding(f"{SYSTEM}:flag", f["code"]),
                                        _coding(f"{SYSTEM}:flag_level", f["level"])],
                             "text": f"{f['level']}: {f.get('reason') or f['code']}"},
                    "subject": subject, "period": period, "author": author})
    return out


def _validated(resource: dict[str, Any]) -> dict[str, Any]:
    from fhir.resources.R4B import get_fhir_model_class

    clean = _drop_none(resource)
    model = get_fhir_model_class(clean["resourceType"]).model_validate(clean)  # raises on anything FHIR rejects
    return model.model_dump(mode="json", exclude_none=True)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def call_resources(data: CallData, *, thresholds: Thresholds, base_url: str = "urn:suifang") -> list[dict[str, Any]]:
    subject = {"reference": f"Patient/{data.call.patient_id}"}
    ref = f"call-{data.call.id}"
    resources = [_task(data, subject, ref), _communication(data, subject, ref, base_url),
                 _questionnaire_response(data, subject, ref), *_observations(data, subject, ref, thresholds),
                 *_flags(data, subject, ref)]
    return [_validated(r) for r in resources]


# ----- reading the store ---------------------------------------------------------------------------

def load_call(session: Session, *, call_id: int) -> CallData:
    call = session.get(CallSession, call_id)
    outcome = session.scalar(select(Outcome).where(Outcome.call_id == call_id))
    if call is None or outcome is None:
        raise ExportError(f"call {call_id} has no outcome yet")
    amended = session.scalar(select(OutcomeCorrection.id).where(OutcomeCorrection.call_id == call_id).limit(1)) is not None
    review_status = session.scalar(select(ReviewItem.status).where(ReviewItem.call_id == call_id)
                                   .order_by(ReviewItem.id.desc()).limit(1))
    return CallData(call=call, outcome=outcome, turns=list(call.turns), ward=session.get(Ward, call.ward_id),
                    amended=amended, review_status=review_status)


def outcome_resources(session: Session, *, call_id: int, thresholds: Thresholds,
                      base_url: str = "urn:suifang") -> list[dict[str, Any]]:
    return call_resources(load_call(session, call_id=call_id), thresholds=thresholds, base_url=base_url)


def collection_bundle(resources: Sequence[dict[str, Any]], *, bundle_id: str,
                      base_url: str = "urn:suifang") -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    bundle = {"resourceType": "Bundle", "id": bundle_id, "type": "collection",
              "timestamp": _instant(dt.datetime.now(dt.timezone.utc)),
              "entry": [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]}
    return Bundle.model_validate(bundle).model_dump(mode="json", exclude_none=True)


def exportable_call_ids(session: Session, *, ward_ids: Sequence[int] | None = None, patient_id: int | None = None,
                        since: dt.datetime | None = None) -> list[int]:
    """Ended calls with an outcome, oldest first; ward_ids=None means every ward."""
    query = (select(CallSession.id).join(Outcome, Outcome.call_id == CallSession.id)
             .where(CallSession.status == "ended").order_by(CallSession.id))
    if ward_ids is not None:
        query = query.where(CallSession.ward_id.in_(list(ward_ids) or [-1]))
    if patient_id is not None:
        query = query.where(CallSession.patient_id == patient_id)
    if since is not None:
        query = query.where(CallSession.ended_at >= since)
    return list(session.scalars(query))


@dataclass(frozen=True)
class ExportedCall:
    call_id: int
    patient_id: int
    resources: list[dict[str, Any]]


def iter_export(session: Session, *, call_ids: Sequence[int], thresholds: Thresholds,
                base_url: str = "urn:suifang") -> Iterator[ExportedCall]:
    """Each call's resources in order, with the Patient first the first time a patient appears."""
    seen_patients: set[int] = set()
    for call_id in call_ids:
        data = load_call(session, call_id=call_id)
        patient_id = data.call.patient_id
        resources = []
        if patient_id not in seen_patients:
            seen_patients.add(patient_id)
            resources.append(patient_resource(session.get(Patient, patient_id)))
        resources.extend(call_resources(data, thresholds=thresholds, base_url=base_url))
        yield ExportedCall(call_id=call_id, patient_id=patient_id, resources=resources)
