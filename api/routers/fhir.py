"""FHIR R4 exchange: import patients and discharges from a Bundle, export call outcomes.

- POST /fhir/Bundle                    import (nurse or admin; only into the user's own wards)
- GET  /fhir/Patient/{id}              the patient (MRN, name, sex, birth year; no phone or ID number)
- GET  /fhir/Patient/{id}/$everything  the patient and every ended call's resources, as a collection Bundle
- GET  /fhir/outcomes/{call_id}        one call: Task, Communication, QuestionnaireResponse, Observations, Flags

Access and audit as in the other routers: another ward's patient or call is a 404 with a denial
in the audit trail; every export and import is audited per patient. See records/fhir_export.py and
knowledge/fhir_import.py for the mappings."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import CurrentUser, IdPath, ServicesDep, SessionDep, audit_denial, authorize_patient, not_found
from api.errors import SIGNED_IN, responses
from api.schemas import ORDER_LINE_MAX
from api.routers.calls import authorize_call
from api.routers.review import audit_separately
from records import fhir_export
from records.audit import record_audit
from records.schema import Patient
from suifang.services import Services

log = logging.getLogger(__name__)

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
IMPORT_ROLES = ("nurse", "admin")


class ImportedPatientOut(BaseModel):
    fhir_id: str
    patient_id: int
    created: bool


class ImportedDischargeOut(BaseModel):
    fhir_id: str
    discharge_id: int
    patient_id: int
    created: bool  # false: this discharge was imported before and is left as it was
    items: int
    scheduled_calls: int
    unparsed_lines: list[str]


class ImportOut(BaseModel):
    patients: list[ImportedPatientOut]
    discharges: list[ImportedDischargeOut]
    skipped: list[str]


def _fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON)


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _thresholds(request: Request) -> fhir_export.Thresholds:
    return fhir_export.Thresholds.from_values(request.app.state.settings.clinical_rules().thresholds)


# Bounds on what one import may ask of the order structurer, whose work grows with the square of a
# text's length: entries, characters per text, and the sum of squared text lengths (≈ 3 s of
# structuring at worst). Narrative XHTML (`div`) and attachment `data` are never structured.
MAX_ENTRIES = 500
MAX_TEXT_WORK = 30_000_000
MAX_DEPTH = 32  # FHIR resources nest a few levels; deeper is not a resource
_UNSTRUCTURED_KEYS = frozenset({"div", "data"})


def check_bundle_size(data: Any) -> None:
    """Raise HTTPException 422 when the bundle is beyond what one request may structure."""
    if not isinstance(data, dict):
        return  # parse_bundle says what is wrong with it
    entries = data.get("entry")
    if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"the bundle has {len(entries)} entries; the limit is {MAX_ENTRIES}: split it")
    work = 0
    stack: list[tuple[str, int, Any]] = [("Bundle", 0, data)]
    while stack:
        path, depth, node = stack.pop()
        if isinstance(node, (dict, list)) and depth >= MAX_DEPTH:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                f"the bundle nests deeper than {MAX_DEPTH} levels at {path[:200]}")
        if isinstance(node, dict):
            stack.extend((f"{path}.{key}", depth + 1, value) for key, value in node.items()
                         if key not in _UNSTRUCTURED_KEYS)
            stack.extend((f"{path} (a key)", depth + 1, key) for key in node)
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", depth + 1, value) for i, value in enumerate(node))
        elif isinstance(node, str):
            if "\x00" in node:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"{path[:200]} contains a NUL character")
            if len(node) > ORDER_LINE_MAX:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                    f"{path[:200]} is {len(node):,} characters; the limit is {ORDER_LINE_MAX:,} per text")
            work += len(node) ** 2
    if work > MAX_TEXT_WORK:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            "the bundle carries more long text than one import structures; split it into smaller bundles")


def _bundle_schema() -> dict[str, Any]:
    """What the document can say of an importable Bundle: its type, entries that each carry a
    resource of an importable type, and a Patient among them. The rest (each resource valid FHIR R4,
    references resolving to entries of the same Bundle, a known ward) is checked on import: 422 with
    the reason."""
    from knowledge.fhir_import import BUNDLE_TYPES, RESOURCE_TYPES

    resource = {"type": "object", "required": ["resourceType"],
                "properties": {"resourceType": {"enum": list(RESOURCE_TYPES)}}}
    entry = {"type": "object", "required": ["resource"], "properties": {"resource": resource}}
    patient_entry = {"properties": {"resource": {"properties": {"resourceType": {"const": "Patient"}}}}}
    return {"type": "object", "required": ["resourceType", "type", "entry"],
            "description": f"a FHIR R4 Bundle ({', '.join(BUNDLE_TYPES)}) of {', '.join(RESOURCE_TYPES)} resources, "
                           f"a Patient among them, at most {MAX_ENTRIES} entries, each text at most {ORDER_LINE_MAX} "
                           "characters; each resource valid FHIR R4 and its references to entries of this Bundle",
            "properties": {"resourceType": {"const": "Bundle"}, "type": {"enum": list(BUNDLE_TYPES)},
                           "entry": {"type": "array", "minItems": 1, "maxItems": MAX_ENTRIES, "items": entry,
                                     "contains": patient_entry}}}


_BUNDLE_BODY = {"requestBody": {"required": True, "content": {
    media: {"schema": _bundle_schema()} for media in (FHIR_JSON, "application/json")}}}


@router.post("/Bundle", response_model=ImportOut, status_code=status.HTTP_201_CREATED, openapi_extra=_BUNDLE_BODY,
             responses=responses(400, 401, 403, 409, 413, 422))
async def import_bundle(request: Request, session: SessionDep, user: CurrentUser, services: ServicesDep,
                        ward: Annotated[str | None, Query(max_length=32, description="ward code for entries "
                                                          "whose Encounter names no ward")] = None) -> ImportOut:
    """Import a FHIR R4 Bundle (transaction, batch or collection) of Patient, Encounter,
    MedicationRequest, CarePlan, ServiceRequest, Condition and Procedure resources.

    All or nothing: a bundle that fails any check is refused with 4xx and the reason, and nothing is stored."""
    from knowledge.fhir_import import BundleError, PatientConflict, WardNotAllowed, import_bundle

    if user.role not in IMPORT_ROLES:
        audit_denial(request, user, action="import", resource="fhir_bundle", resource_id=None, patient_id=None)
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"importing needs the role {' or '.join(IMPORT_ROLES)}")
    try:
        data = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not JSON; send a FHIR Bundle "
                            f"(Content-Type {FHIR_JSON} or application/json)") from None
    check_bundle_size(data)
    try:
        parsed = await asyncio.to_thread(_parse, data)
        result = await asyncio.to_thread(import_bundle, session, parsed=parsed, settings=services.settings,
                                         may_use_ward=lambda w: user.can_see_ward(w.id), default_ward=ward)
    except BundleError as exc:
        session.rollback()
        audit_separately(request, user, action="import", resource="fhir_bundle", outcome="failed", detail=str(exc))
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except WardNotAllowed as exc:
        session.rollback()
        audit_denial(request, user, action="import", resource="fhir_bundle", resource_id=exc.ward_code, patient_id=None)
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except PatientConflict as exc:
        session.rollback()
        audit_separately(request, user, action="import", resource="fhir_bundle", outcome="failed", detail=str(exc))
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    for _fhir_id, patient, created in result.patients:
        record_audit(session, actor=user.actor, action="import" if created else "match", resource="patient",
                     resource_id=patient.id, patient_id=patient.id, detail="fhir")
    for imported in result.discharges:
        record_audit(session, actor=user.actor, action="import" if imported.created else "match", resource="discharge",
                     resource_id=imported.discharge.id, patient_id=imported.discharge.patient_id, detail="fhir")
    out = ImportOut(
        patients=[ImportedPatientOut(fhir_id=f, patient_id=p.id, created=c) for f, p, c in result.patients],
        discharges=[ImportedDischargeOut(fhir_id=i.fhir_id, discharge_id=i.discharge.id, patient_id=i.discharge.patient_id,
                                         created=i.created, items=len(i.discharge.items), scheduled_calls=i.planned_calls,
                                         unparsed_lines=list(i.discharge.unparsed_lines or []))
                    for i in result.discharges],
        skipped=list(result.skipped))
    new_discharges = [i.discharge.id for i in result.discharges if i.created]
    session.commit()
    # Retrieval is indexed after the commit (the index is not transactional); a failure leaves the
    # records in place and questions go to a nurse, as for POST /discharges.
    if new_discharges:
        future = services.index_later(lambda: _index(services, new_discharges))
        await asyncio.wait([asyncio.wrap_future(future)], timeout=services.settings.knowledge.index_wait_s)
    return out


def _parse(data: Any) -> Any:
    """knowledge.fhir_import.parse_bundle, with a value of the wrong type anywhere ("entry": 5) taken
    for what it is, malformed input (BundleError, 422), not a server error. The traceback is logged
    for the parser's owners."""
    from knowledge.fhir_import import BundleError, parse_bundle

    try:
        return parse_bundle(data)
    except BundleError:
        raise
    except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
        log.warning("FHIR bundle of an unexpected shape (%s)", exc.__class__.__name__, exc_info=True)
        raise BundleError("the body is not shaped like a FHIR R4 Bundle (a field has the wrong type, "
                          f"{exc.__class__.__name__}); check it against the R4 Bundle schema") from None


def _index(services: Services, discharge_ids: list[int]) -> None:
    from knowledge.ingest import index_items
    from records.schema import Discharge

    try:
        knowledge_base = services.knowledge_base()
    except Exception:  # noqa: BLE001
        log.exception("knowledge base unavailable; imported items stored but not indexed")
        return
    with services.session_factory() as session:
        for discharge_id in discharge_ids:
            discharge = session.get(Discharge, discharge_id)
            if discharge is not None:  # stored by the import just before
                index_items(knowledge_base, discharge=discharge, items=list(discharge.items))


_FHIR_OK = {200: {"description": "a FHIR R4 resource", "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}


@router.get("/Patient/{patient_id}", response_class=JSONResponse, responses={**_FHIR_OK, **responses(*SIGNED_IN, 404)})
def read_patient(patient_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> JSONResponse:
    authorize_patient(request, session, user, patient_id, action="export")
    patient = session.get(Patient, patient_id)
    record_audit(session, actor=user.actor, action="export", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail="fhir Patient")
    return _fhir(fhir_export.patient_resource(patient))


@router.get("/Patient/{patient_id}/$everything", response_class=JSONResponse,
            responses={**_FHIR_OK, **responses(*SIGNED_IN, 404)})
def patient_everything(patient_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> JSONResponse:
    authorize_patient(request, session, user, patient_id, action="export")
    patient = session.get(Patient, patient_id)
    resources = [fhir_export.patient_resource(patient)]
    call_ids = fhir_export.exportable_call_ids(session, patient_id=patient_id)
    for call_id in call_ids:
        resources += fhir_export.outcome_resources(session, call_id=call_id, thresholds=_thresholds(request),
                                                   base_url=_base_url(request))
    record_audit(session, actor=user.actor, action="export", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail=f"fhir $everything, {len(call_ids)} calls")
    return _fhir(fhir_export.collection_bundle(resources, bundle_id=f"patient-{patient_id}-everything",
                                               base_url=_base_url(request)))


@router.get("/outcomes/{call_id}", response_class=JSONResponse, responses={**_FHIR_OK, **responses(*SIGNED_IN, 404)})
def call_outcome(call_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> JSONResponse:
    patient_id = authorize_call(request, session, user, call_id, action="export")
    try:
        resources = fhir_export.outcome_resources(session, call_id=call_id, thresholds=_thresholds(request),
                                                  base_url=_base_url(request))
    except fhir_export.ExportError:
        raise not_found("outcome") from None
    record_audit(session, actor=user.actor, action="export", resource="outcome", resource_id=call_id,
                 patient_id=patient_id, detail="fhir")
    return _fhir(fhir_export.collection_bundle(resources, bundle_id=f"call-{call_id}", base_url=_base_url(request)))
