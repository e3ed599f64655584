"""Patients: create, list (own wards only), read. Every read and write is audited."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api.deps import CurrentUser, IdPath, Offset, ServicesDep, SessionDep, audit_denial, authorize_patient
from api.errors import SIGNED_IN, WITH_BODY, link, responses, with_links
from api.schemas import AnswerOut, PatientCreate, PatientOut, QuestionRequest
from records import store
from records.audit import record_audit
from records.schema import Patient

log = logging.getLogger(__name__)

router = APIRouter(prefix="/patients", tags=["patients"])


def _mrn_taken(mrn: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, f"a patient with MRN {mrn!r} is already registered")


_PATIENT_LINKS = {
    "ReadPatient": link("/patients/{patient_id}", "get", patient_id="$response.body#/id"),
    "AskQuestion": link("/patients/{patient_id}/questions", "post", patient_id="$response.body#/id"),
    "Unmask": link("/review/patients/{patient_id}/unmask", "post", patient_id="$response.body#/id"),
    "FhirPatient": link("/fhir/Patient/{patient_id}", "get", patient_id="$response.body#/id"),
}


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED,
             responses={**with_links(201, "The patient, registered", **_PATIENT_LINKS),
                        **responses(*WITH_BODY, 403, 404, 409)})
def create_patient(body: PatientCreate, request: Request, session: SessionDep, user: CurrentUser) -> PatientOut:
    try:
        ward = store.ward_by_code(session, code=body.ward_code)
    except store.UnknownWard:
        # A ward named in the body that does not exist is a missing record (as an unknown patient_id
        # is for POST /discharges), not malformed input: the document cannot list the wards.
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown ward_code {body.ward_code!r}") from None
    if not user.can_see_ward(ward.id):
        audit_denial(request, user, action="create", resource="patient", resource_id=None, patient_id=None)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may only register patients of your own wards")
    # An MRN names one patient across the hospital (a unique column): a second registration is a
    # conflict, not a server error. The check answers most cases; the constraint catches a race.
    if body.mrn is not None and session.scalar(select(Patient.id).where(Patient.mrn == body.mrn)) is not None:
        raise _mrn_taken(body.mrn)
    try:
        patient = store.create_patient(session, ward=ward, **body.model_dump(exclude={"ward_code"}))
    except IntegrityError:
        session.rollback()
        if body.mrn is not None:
            raise _mrn_taken(body.mrn) from None
        raise
    record_audit(session, actor=user.actor, action="create", resource="patient", resource_id=patient.id,
                 patient_id=patient.id)
    return PatientOut.from_row(patient)


@router.get("", response_model=list[PatientOut], responses={
    **with_links(200, "Patients of your wards (admin: all), by id", **{
        name: {**spec, "parameters": {"patient_id": "$response.body#/0/id"}} for name, spec in _PATIENT_LINKS.items()}),
    **responses(*SIGNED_IN)})
def list_patients(
    session: SessionDep,
    user: CurrentUser,
    ward: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[PatientOut]:
    ward_ids = None if user.is_admin else sorted(user.ward_ids)
    patients = store.list_patients(session, ward_ids=ward_ids, limit=limit, offset=offset, ward_code=ward)
    for patient in patients:
        record_audit(session, actor=user.actor, action="list", resource="patient", resource_id=patient.id,
                     patient_id=patient.id)
    return [PatientOut.from_row(p) for p in patients]


@router.get("/{patient_id}", response_model=PatientOut, responses=responses(*SIGNED_IN, 404))
def read_patient(patient_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> PatientOut:
    authorize_patient(request, session, user, patient_id, action="read")
    patient = session.get(Patient, patient_id)
    record_audit(session, actor=user.actor, action="read", resource="patient", resource_id=patient_id,
                 patient_id=patient_id)
    return PatientOut.from_row(patient)


@router.post("/{patient_id}/questions", response_model=AnswerOut, responses=responses(*WITH_BODY, 404))
async def ask_question(patient_id: IdPath, body: QuestionRequest, request: Request, session: SessionDep,
                       user: CurrentUser, services: ServicesDep) -> AnswerOut:
    """Answer a patient's question from that patient's own discharge orders (or hand it to a nurse).

    The whole answer (loading retrieval, retrieving, the optional model) has knowledge.answer_budget_s;
    past it the answer is "a nurse will call you back" (reason `answer_timeout`)."""
    from dialogs.answering import load_indexed_items

    authorize_patient(request, session, user, patient_id, action="question")
    patient = session.get(Patient, patient_id)
    language = body.language or patient.language
    items_by_id = load_indexed_items(session, patient_id=patient_id)
    budget = services.settings.knowledge.answer_budget_s
    try:
        answer = await asyncio.wait_for(
            asyncio.to_thread(_answer, services, patient_id=patient_id, question=body.question, language=language,
                              items_by_id=items_by_id),
            timeout=budget)
    except TimeoutError:
        log.warning("answer for patient %s not ready within %.1f s; nurse callback", patient_id, budget)
        answer = _nurse_callback(language)
    record_audit(session, actor=user.actor, action="question", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail=f"answered={answer.answered} reason={answer.reason}")
    return AnswerOut(text=answer.text, answered=answer.answered, sources=list(answer.sources), reason=answer.reason)


def _answer(services, *, patient_id: int, question: str, language: str, items_by_id: dict):  # noqa: ANN001, ANN202
    from knowledge.answers import answer_question

    return answer_question(patient_id=patient_id, question=question, language=language,
                           kb=services.knowledge_base(), llm=services.answer_model(), items_by_id=items_by_id)


def _nurse_callback(language: str):  # noqa: ANN202
    from knowledge.answers import NURSE_CALLBACK, Answer

    text = NURSE_CALLBACK["retrieval_unavailable"]["en" if language == "en" else "zh"]
    return Answer(text=text, answered=False, sources=(), reason="answer_timeout")
