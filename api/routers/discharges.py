"""Discharges: created with the raw order text, structured at once; read back with items and plan."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, status
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep, authorize_patient, not_found
from api.schemas import DischargeCreate, DischargeOut, OrderItemOut, PlanOut
from knowledge.ingest import ingest_discharge
from records import store
from records.audit import record_audit
from records.schema import Discharge, Patient

router = APIRouter(prefix="/discharges", tags=["discharges"])


def discharge_out(session, discharge: Discharge) -> DischargeOut:  # noqa: ANN001
    plan = store.plan_for_discharge(session, discharge_id=discharge.id)
    return DischargeOut(
        id=discharge.id, patient_id=discharge.patient_id, department=discharge.department,
        diagnosis=discharge.diagnosis, admitted_on=discharge.admitted_on, discharged_on=discharge.discharged_on,
        surgery=discharge.surgery, attending_team=discharge.attending_team, language=discharge.language,
        order_text=discharge.order_text, structured_by=discharge.structured_by,
        unparsed_lines=list(discharge.unparsed_lines or []),
        items=[OrderItemOut.model_validate(i) for i in discharge.items],
        plan=PlanOut.model_validate(plan) if plan else None,
    )


@router.post("", response_model=DischargeOut, status_code=status.HTTP_201_CREATED)
async def create_discharge(body: DischargeCreate, request: Request, session: SessionDep,
                           user: CurrentUser) -> DischargeOut:
    authorize_patient(request, session, user, body.patient_id, action="create", resource="discharge",
                      resource_id=None)
    services = request.app.state.services
    patient = session.get(Patient, body.patient_id)
    language = body.language or _guess_language(body.order_text, patient.language)
    discharge = store.create_discharge(
        session, patient=patient, language=language,
        **body.model_dump(exclude={"patient_id", "language"}),
    )
    # The raw text is committed before structuring, so nothing is lost if structuring fails.
    session.commit()
    knowledge_base = await asyncio.to_thread(_knowledge_base_or_none, services)
    await asyncio.to_thread(ingest_discharge, session, discharge=discharge, settings=services.settings,
                            llm=None, knowledge_base=knowledge_base)
    record_audit(session, actor=user.actor, action="create", resource="discharge", resource_id=discharge.id,
                 patient_id=discharge.patient_id)
    session.commit()
    return discharge_out(session, discharge)


def _knowledge_base_or_none(services):  # noqa: ANN001, ANN202
    try:
        return services.knowledge_base()
    except Exception:  # noqa: BLE001 - retrieval is optional for storing orders; answers will say so
        import logging

        logging.getLogger(__name__).exception("knowledge base unavailable; items stored but not indexed")
        return None


def _guess_language(text: str, fallback: str) -> str:
    han = sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if han == 0 and latin == 0:
        return fallback
    return "zh" if han * 2 >= latin * 0.5 else "en"


@router.get("/{discharge_id}", response_model=DischargeOut)
def read_discharge(discharge_id: int, request: Request, session: SessionDep, user: CurrentUser) -> DischargeOut:
    patient_id = session.scalar(select(Discharge.patient_id).where(Discharge.id == discharge_id))
    if patient_id is None:
        raise not_found("discharge")
    authorize_patient(request, session, user, patient_id, action="read", resource="discharge",
                      resource_id=discharge_id)
    discharge = session.get(Discharge, discharge_id)
    record_audit(session, actor=user.actor, action="read", resource="discharge", resource_id=discharge_id,
                 patient_id=patient_id)
    return discharge_out(session, discharge)
