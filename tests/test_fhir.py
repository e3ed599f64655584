"""FHIR R4 exchange over the API, on SQLite and PostgreSQL: a Bundle imported, a simulated call run on
the imported discharge, its outcome exported — every resource validated with fhir.resources (R4B);
bad bundles refused whole with the reason; ward access, audit, and the `suifang export` NDJSON."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import func, select

from evaluation.followup import SimulatedPatient
from records.schema import AuditEvent, Discharge, OrderItem, Patient
from tests.test_foundation import patient_id_by_mrn

BUNDLE = json.loads((Path(__file__).parent / "data" / "fhir-discharge-bundle.json").read_text(encoding="utf-8"))
LOINC = "http://loinc.org"

# 赵志强, hypertension and diabetes: home BP 190/100 (systolic critical), glucose 3.2 mmol/L (critical low).
PERSONA = {
    "identity_verified": "对，我是赵志强，58年的",
    "overall_condition": "差不多",
    "medication_adherence": "药都按时吃的",
    "symptoms": "没有什么不舒服",
    "blood_pressure": "今天早上量的190/100",
    "blood_glucose": "空腹血糖3.2",
    "temperature": "三十六度五",
    "revisit_aware": "知道，下周去心内科",
    "revisit_booked": "约好了",
    "reexam_done": "还没到时间",
    "questions": "没有了",
    "satisfaction": "满意，五分",
    "feedback": "没有",
    "default": "没有了",
}


def _db(client):  # noqa: ANN001, ANN202
    return client.app.state.session_factory()


def _count(client, model) -> int:  # noqa: ANN001
    with _db(client) as session:
        return session.scalar(select(func.count()).select_from(model))


def _bundle(mrn: str, phone: str = "13800000099") -> dict:
    bundle = copy.deepcopy(BUNDLE)
    patient = bundle["entry"][0]["resource"]
    patient["identifier"][0]["value"] = mrn
    patient["telecom"][0]["value"] = phone
    return bundle


def _post(client, headers, body, **params):  # noqa: ANN001, ANN003, ANN202
    return client.post("/fhir/Bundle", content=json.dumps(body, ensure_ascii=False), params=params,
                       headers={**headers, "Content-Type": "application/fhir+json"})


def _validate_bundle(body: dict) -> list[dict]:
    Bundle.model_validate(body)
    resources = [entry["resource"] for entry in body["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resources


def _run_call(client, headers, patient_id: int) -> int:  # noqa: ANN001
    persona = SimulatedPatient({"persona": PERSONA})
    opened = client.post("/calls", json={"patient_id": patient_id}, headers=headers)
    assert opened.status_code == 201, opened.text
    reply, call_id = opened.json(), opened.json()["call_id"]
    for _ in range(40):
        if reply["done"]:
            break
        action, text = persona.respond(reply["expecting"])
        body = {"text": text} if action == "say" else {"silence": True}
        reply = client.post(f"/calls/{call_id}/turns", json=body, headers=headers).json()
    assert reply["done"], "the simulated call did not end"
    return call_id


# ----- import --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imported(client, nurse_card) -> dict:  # noqa: ANN001
    response = _post(client, nurse_card, _bundle("FHIR0001"))
    assert response.status_code == 201, response.text
    return response.json()


def test_import_keeps_structured_orders_and_plans_calls(client, nurse_card, imported) -> None:  # noqa: ANN001
    assert [p["created"] for p in imported["patients"]] == [True]
    assert imported["skipped"] == ["MedicationRequest/m3"]  # cancelled: not an order to ask about
    (discharge_out,) = imported["discharges"]
    assert discharge_out["fhir_id"] == "e1" and discharge_out["scheduled_calls"] > 0
    with _db(client) as session:
        patient = session.get(Patient, imported["patients"][0]["patient_id"])
        assert (patient.name, patient.mrn, patient.sex, patient.birth_year, patient.language) == (
            "赵志强", "FHIR0001", "male", 1958, "zh")
        assert patient.ward.code == "CARD-1"
        discharge = session.get(Discharge, discharge_out["discharge_id"])
        assert discharge.discharged_on.isoformat() == "2026-11-10" and discharge.admitted_on.isoformat() == "2026-11-02"
        assert discharge.diagnosis == "高脂血症；高血压3级(很高危) 2型糖尿病" and discharge.department == "心血管内科"
        assert discharge.structured_by == "fhir+rules"
        items = list(session.scalars(select(OrderItem).where(OrderItem.discharge_id == discharge.id)
                                     .order_by(OrderItem.seq)))
        meds = {i.generic_name: i for i in items if i.kind == "medication"}
        assert set(meds) == {"阿司匹林", "替格瑞洛"}  # the cancelled clopidogrel is not imported
        aspirin, ticagrelor = meds["阿司匹林"], meds["替格瑞洛"]
        assert (aspirin.dose, aspirin.unit, aspirin.route, aspirin.frequency, aspirin.duration, aspirin.drug_class) == (
            100, "mg", "oral", "qd", "long_term", "antiplatelet")
        assert (ticagrelor.dose, ticagrelor.frequency, ticagrelor.duration) == (90, "bid", "P12M")
        revisit = next(i for i in items if i.kind == "revisit")
        assert (revisit.name, revisit.due_date.isoformat()) == ("心内科", "2026-11-17") and revisit.booking_url
        reexams = {i.name: i.due_date.isoformat() for i in items if i.kind == "reexam"}
        assert reexams == {"血脂": "2026-12-10", "肝功能": "2026-12-10"}
        assert {i.symptom_code for i in items if i.kind == "warning_sign"} == {"chest_pain", "melena"}
        # Every item's span points at its own words in the stored order text.
        for item in items:
            assert discharge.order_text[item.span_start:item.span_end] == item.text
    # Indexed for retrieval after the commit: the patient's questions are answered from these orders.
    answer = client.post(f"/patients/{patient.id}/questions", json={"question": "阿司匹林怎么吃？"}, headers=nurse_card)
    assert answer.status_code == 200, answer.text
    assert answer.json()["answered"] and aspirin.id in answer.json()["sources"]
    audits = [(a.action, a.resource) for a in _audit(client, patient_id=imported["patients"][0]["patient_id"])]
    assert ("import", "patient") in audits and ("import", "discharge") in audits


def _audit(client, **filters) -> list[AuditEvent]:  # noqa: ANN001, ANN003
    with _db(client) as session:
        query = select(AuditEvent)
        for key, value in filters.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.scalars(query.order_by(AuditEvent.id)))


def test_round_trip_import_call_export_validates(client, nurse_card, imported) -> None:  # noqa: ANN001
    patient_id = imported["patients"][0]["patient_id"]
    call_id = _run_call(client, nurse_card, patient_id)
    outcome = client.get(f"/outcomes/{call_id}", headers=nurse_card).json()
    assert outcome["blood_pressure"] == {"systolic": 190, "diastolic": 100} and outcome["blood_glucose"] == 3.2

    response = client.get(f"/fhir/outcomes/{call_id}", headers=nurse_card)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/fhir+json")
    resources = _validate_bundle(response.json())
    by_id = {r["id"]: r for r in resources}
    ref = f"call-{call_id}"
    assert {r["resourceType"] for r in resources} == {"Task", "Communication", "QuestionnaireResponse", "Observation", "Flag"}

    task = by_id[f"{ref}-task"]
    assert task["status"] == "completed" and task["businessStatus"]["coding"][0]["code"] == outcome["call_status"]
    assert task["for"] == {"reference": f"Patient/{patient_id}"}

    communication = by_id[ref]
    transcript = base64.b64decode(communication["payload"][0]["contentAttachment"]["data"]).decode("utf-8")
    assert "Patient: 今天早上量的190/100" in transcript and transcript.startswith("AI: ")

    answers = {item["linkId"]: item for item in by_id[f"{ref}-qr"]["item"]}
    assert answers["call_status"]["answer"][0]["valueCoding"]["code"] == outcome["call_status"]
    assert answers["identity_verified"]["answer"] == [{"valueBoolean": True}]
    assert answers["blood_glucose"]["answer"][0]["valueQuantity"] == {
        "value": 3.2, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"}
    assert "pain_score" not in answers  # never asked: absent, not guessed

    bp = by_id[f"{ref}-bp"]
    assert bp["code"]["coding"][0] == {"system": LOINC, "code": "85354-9",
                                       "display": "Blood pressure panel with all children optional"}
    components = {c["code"]["coding"][0]["code"]: c for c in bp["component"]}
    assert components["8480-6"]["valueQuantity"]["value"] == 190
    assert components["8480-6"]["valueQuantity"]["code"] == "mm[Hg]"
    assert components["8480-6"]["interpretation"][0]["coding"][0]["code"] == "HH"  # ≥ 180: critical
    assert components["8462-4"]["interpretation"][0]["coding"][0]["code"] == "H"   # 100–109: high
    assert bp["interpretation"][0]["coding"][0]["code"] == "HH"
    glucose = by_id[f"{ref}-glucose"]
    assert glucose["code"]["coding"][0]["code"] == "15074-8"
    assert glucose["valueQuantity"]["code"] == "mmol/L" and glucose["interpretation"][0]["coding"][0]["code"] == "LL"

    grade = by_id[f"{ref}-grade"]
    assert grade["code"]["coding"][0]["code"] == outcome["risk_grade"] == "red"
    flag_codes = {r["code"]["coding"][0]["code"] for r in resources if r["id"].startswith(f"{ref}-flag-")}
    assert flag_codes == {f["code"] for f in outcome["flags"]} >= {"bp_critical_high", "glucose_low"}

    # The patient and everything at once.
    patient = client.get(f"/fhir/Patient/{patient_id}", headers=nurse_card).json()
    get_fhir_model_class("Patient").model_validate(patient)
    assert patient["identifier"][0]["value"] == "FHIR0001" and "telecom" not in patient  # no phone leaves
    everything = _validate_bundle(client.get(f"/fhir/Patient/{patient_id}/$everything", headers=nurse_card).json())
    assert everything[0]["resourceType"] == "Patient" and f"{ref}-qr" in {r["id"] for r in everything}
    exports = [a for a in _audit(client, patient_id=patient_id, action="export")]
    assert {a.resource for a in exports} == {"outcome", "patient"} and all(a.outcome == "allowed" for a in exports)


def test_reimport_matches_patient_and_discharge(client, nurse_card, imported) -> None:  # noqa: ANN001
    """An EHR sending the same bundle again gets the same records back, not copies; a new
    discharge of the same patient (by MRN) is added to that patient."""
    before = (_count(client, Patient), _count(client, Discharge))
    response = _post(client, nurse_card, _bundle("FHIR0001"))
    assert response.status_code == 201, response.text
    body = response.json()
    patient_id = imported["patients"][0]["patient_id"]
    assert body["patients"][0] == {"fhir_id": "p1", "patient_id": patient_id, "created": False}
    assert body["discharges"][0]["discharge_id"] == imported["discharges"][0]["discharge_id"]
    assert body["discharges"][0]["created"] is False
    assert (_count(client, Patient), _count(client, Discharge)) == before
    later = _bundle("FHIR0001")
    later["entry"][1]["resource"]["period"] = {"start": "2026-11-15", "end": "2026-11-20"}
    again = _post(client, nurse_card, later).json()
    assert again["discharges"][0]["created"] is True and again["discharges"][0]["patient_id"] == patient_id
    assert _count(client, Discharge) == before[1] + 1


# ----- refusals ------------------------------------------------------------------------------------

def _broken(change) -> dict:  # noqa: ANN001
    bundle = _bundle("FHIR0900")
    change(bundle)
    return bundle


def _drop_phone(b: dict) -> None:
    b["entry"][0]["resource"]["telecom"] = [{"system": "email", "value": "x@example.org"}]


def _second_patient_without_phone(b: dict) -> None:
    second = copy.deepcopy(b["entry"][0])
    second["fullUrl"] = "urn:uuid:7d3c1a52-0001-4c6e-9a55-0000000000ff"
    second["resource"].update(id="p2", telecom=[])
    second["resource"]["identifier"][0]["value"] = "FHIR0901"
    b["entry"].append(second)


BAD_BUNDLES = [
    ("not a bundle", {"resourceType": "Patient", "id": "x"}, 422, "expected a FHIR R4 Bundle"),
    ("search set", _broken(lambda b: b.update(type="searchset")), 422, "use one of transaction, batch, collection"),
    ("observation", _broken(lambda b: b["entry"].append({"resource": {"resourceType": "Observation", "id": "o",
                                                                      "status": "final", "code": {"text": "x"}}})),
     422, "importable resource types: Patient, Encounter, MedicationRequest"),
    ("bad birth date", _broken(lambda b: b["entry"][0]["resource"].update(birthDate="12 April")), 422,
     "not a valid FHIR R4 Bundle"),
    ("no phone", _broken(_drop_phone), 422, 'telecom with system "phone" is required'),
    ("bad phone", _broken(lambda b: b["entry"][0]["resource"]["telecom"][0].update(value="12")), 422, "mainland mobile"),
    ("no discharge date", _broken(lambda b: b["entry"][1]["resource"]["period"].pop("end")), 422, "period.end"),
    ("dangling reference", _broken(lambda b: b["entry"][2]["resource"].update(encounter={"reference": "Encounter/nope"})),
     422, "MedicationRequest/m1: encounter must reference an entry of this Bundle of type Encounter"),
    ("unknown ward", _broken(lambda b: b["entry"][1]["resource"]["location"][0]["location"].update(
        identifier={"value": "ICU-9"})), 422, "unknown ward 'ICU-9'; use one of CARD-1"),
    ("second patient bad", _broken(_second_patient_without_phone), 422, "Patient/p2: telecom"),
]


@pytest.mark.parametrize(("name", "body", "code", "reason"), BAD_BUNDLES, ids=[b[0] for b in BAD_BUNDLES])
def test_bad_bundles_are_refused_whole_with_the_reason(client, nurse_card, name, body, code, reason) -> None:  # noqa: ANN001
    before = (_count(client, Patient), _count(client, Discharge), _count(client, OrderItem))
    response = _post(client, nurse_card, body)
    assert response.status_code == code, response.text
    assert reason in response.json()["detail"]
    assert (_count(client, Patient), _count(client, Discharge), _count(client, OrderItem)) == before
    failed = _audit(client, action="import", resource="fhir_bundle", outcome="failed")
    assert failed and reason.split(";")[0][:20] in (failed[-1].detail or "")


def test_not_json_is_a_400(client, nurse_card) -> None:  # noqa: ANN001
    response = client.post("/fhir/Bundle", content=b"{not json", headers={**nurse_card, "Content-Type": "application/fhir+json"})
    assert response.status_code == 400 and "not JSON" in response.json()["detail"]


def test_conflict_half_way_leaves_nothing_behind(client, nurse_card) -> None:  # noqa: ANN001
    """The first patient is written and flushed before the second turns out to be another ward's
    patient (MRN of SURG-2's 李秀英): the whole import is rolled back."""
    bundle = _bundle("FHIR0950")
    second = copy.deepcopy(bundle["entry"][0])
    second["fullUrl"] = "urn:uuid:7d3c1a52-0001-4c6e-9a55-0000000000ee"
    second["resource"].update(id="p2")
    second["resource"]["identifier"][0]["value"] = "DEMO0003"
    bundle["entry"].append(second)
    before = (_count(client, Patient), _count(client, Discharge), _count(client, OrderItem))
    response = _post(client, nurse_card, bundle, ward="CARD-1")
    assert response.status_code == 409 and "ward you cannot access" in response.json()["detail"]
    assert (_count(client, Patient), _count(client, Discharge), _count(client, OrderItem)) == before
    with _db(client) as session:
        assert session.scalar(select(Patient).where(Patient.mrn == "FHIR0950")) is None


def test_import_only_into_own_wards(client, nurse_surg, admin) -> None:  # noqa: ANN001
    before = _count(client, Patient)
    response = _post(client, nurse_surg, _bundle("FHIR0960"))
    assert response.status_code == 403 and "own wards" in response.json()["detail"]
    assert _count(client, Patient) == before
    denied = _audit(client, action="import", resource="fhir_bundle", outcome="denied")
    assert denied and denied[-1].resource_id == "CARD-1"
    # Without a ward on the Encounter, ?ward= decides; the admin may use any ward.
    bundle = _bundle("FHIR0961", phone="13800000098")
    bundle["entry"][1]["resource"].pop("location")
    assert _post(client, nurse_surg, bundle).status_code == 422  # no ward anywhere: the reason names SURG-2
    response = _post(client, admin, bundle, ward="SURG-2")
    assert response.status_code == 201, response.text
    with _db(client) as session:
        assert session.get(Patient, response.json()["patients"][0]["patient_id"]).ward.code == "SURG-2"


# ----- access ----------------------------------------------------------------------------------------

def test_fhir_reads_need_sign_in_and_the_right_ward(client, nurse_card, nurse_surg, admin) -> None:  # noqa: ANN001
    wang = patient_id_by_mrn(client, "DEMO0001")
    assert client.get(f"/fhir/Patient/{wang}").status_code == 401
    assert client.post("/fhir/Bundle", json=_bundle("FHIR0970")).status_code == 401
    response = client.get(f"/fhir/Patient/{wang}", headers=nurse_surg)
    assert response.status_code == 404 and response.json()["detail"] == "patient not found"
    assert client.get(f"/fhir/Patient/{wang}/$everything", headers=nurse_surg).status_code == 404
    denied = _audit(client, patient_id=wang, action="export", outcome="denied")
    assert len(denied) >= 2
    with _db(client) as session:
        from records.schema import CallSession

        call_id = session.scalar(select(CallSession.id).where(CallSession.patient_id == wang))
    assert client.get(f"/fhir/outcomes/{call_id}", headers=nurse_surg).status_code == 404
    assert client.get(f"/fhir/outcomes/{call_id}", headers=admin).status_code == 200
    assert client.get("/fhir/outcomes/999999", headers=admin).status_code == 404


# ----- CLI -------------------------------------------------------------------------------------------

def test_cli_export_writes_valid_ndjson(client, settings, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from typer.testing import CliRunner

    from suifang.cli import app

    monkeypatch.setenv("SUIFANG__DATABASE__URL", settings.database.url)
    out = tmp_path / "outcomes.ndjson"
    result = CliRunner().invoke(app, ["export", "--out", str(out), "--since", "2020-01-01", "--ward", "CARD-1"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    for resource in lines:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kinds = {r["resourceType"] for r in lines}
    assert {"Patient", "Task", "Communication", "QuestionnaireResponse", "Flag"} <= kinds
    assert "SURG" not in out.read_text(encoding="utf-8")  # only CARD-1's calls
    assert not [r for r in lines if r["resourceType"] == "Patient" and r.get("telecom")]
    bad = CliRunner().invoke(app, ["export", "--out", str(out), "--ward", "NOPE"])
    assert bad.exit_code == 2 and "use one of CARD-1, SURG-2" in bad.output
