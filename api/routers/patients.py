"""Patients: create, list (own wards only), read. Every read and write is audited."""

from __future__ import annotations

from typing import Annotated

import asyncio

from fastapi import APIRouter, HTTPException, Query, Request, status

from api.deps import CurrentUser, SessionDep, audit_denial, authorize_patient
from api.schemas import AnswerOut, PatientCreate, PatientOut, QuestionRequest
from records import store
from records.audit import record_audit
from records.schema import Patient

router = APIRouter(prefix="/patients", tags=["patients"])


@router.post("", response_model=PatientOut, status_code=status.HTTP_201_CREATED)
def create_patient(body: PatientCreate, request: Request, session: SessionDep, user: CurrentUser) -> PatientOut:
    try:
        ward = store.ward_by_code(session, code=body.ward_code)
    except store.UnknownWard:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown ward_code {body.ward_code!r}") from None
    if not user.can_see_ward(ward.id):
        audit_denial(request, user, action="create", resource="patient", resource_id=None, patient_id=None)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "you may only register patients of your own wards")
    patient = store.create_patient(session, ward=ward, **body.model_dump(exclude={"ward_code"}))
    record_audit(session, actor=user.actor, action="create", resource="patient", resource_id=patient.id,
                 patient_id=patient.id)
    return PatientOut.from_row(patient)


@router.get("", response_model=list[PatientOut])
def list_patients(
    session: SessionDep,
    user: CurrentUser,
    ward: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PatientOut]:
    ward_ids = None if user.is_admin else sorted(user.ward_ids)
    patients = store.list_patients(session, ward_ids=ward_ids, limit=limit, offset=offset, ward_code=ward)
    for patient in patients:
        record_audit(session, actor=user.actor, action="list", resource="patient", resource_id=patient.id,
                     patient_id=patient.id)
    return [PatientOut.from_row(p) for p in patients]


@router.get("/{patient_id}", response_model=PatientOut)
def read_patient(patient_id: int, request: Request, session: SessionDep, user: CurrentUser) -> PatientOut:
    authorize_patient(request, session, user, patient_id, action="read")
    patient = session.get(Patient, patient_id)
    record_audit(session, actor=user.actor, action="read", resource="patient", resource_id=patient_id,
                 patient_id=patient_id)
    return PatientOut.from_row(patient)


@router.post("/{patient_id}/questions", response_model=AnswerOut)
async def ask_question(patient_id: int, body: QuestionRequest, request: Request, session: SessionDep,
                       user: CurrentUser) -> AnswerOut:
    """Answer a patient's question from that patient's own discharge orders (or hand it to a nurse)."""
    from dialogs.answering import load_indexed_items
    from knowledge.answers import answer_question

    authorize_patient(request, session, user, patient_id, action="question")
    services = request.app.state.services
    patient = session.get(Patient, patient_id)
    items_by_id = load_indexed_items(session, patient_id=patient_id)
    knowledge_base = await asyncio.to_thread(services.knowledge_base)
    llm = await asyncio.to_thread(services.answer_model)
    answer = await asyncio.to_thread(answer_question, patient_id=patient_id, question=body.question,
                                     language=body.language or patient.language, kb=knowledge_base, llm=llm,
                                     items_by_id=items_by_id)
    record_audit(session, actor=user.actor, action="question", resource="patient", resource_id=patient_id,
                 patient_id=patient_id, detail=f"answered={answer.answered} reason={answer.reason}")
    return AnswerOut(text=answer.text, answered=answer.answered, sources=list(answer.sources), reason=answer.reason)
