"""Discharges: created with the raw order text, structured at once; read back with items and plan.

Structuring is bounded: the text is capped at the edge (api/schemas.py: characters in all and per
line), structured in a worker process that is stopped after knowledge.structuring_timeout_s
(api/structuring.py), and a text yielding more than knowledge.max_order_items items is refused.
A refused text is a 422 with the reason, and nothing is stored."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, HTTPException, Request, status
from sqlalchemy import select

from api.deps import CurrentUser, IdPath, ServicesDep, SessionDep, authorize_patient, not_found
from api.errors import SIGNED_IN, WITH_BODY, link, responses, with_links
from api.schemas import DischargeCreate, DischargeOut, OrderItemOut, PlanOut
from api.structuring import StructuringFailed, StructuringTimeout
from knowledge.ingest import indexed_item, ingest_drafts
from records import store
from records.audit import record_audit
from records.schema import Discharge, Patient

log = logging.getLogger(__name__)

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


@router.post("", response_model=DischargeOut, status_code=status.HTTP_201_CREATED,
             responses={**with_links(201, "The discharge with its structured items and follow-up plan",
                                     ReadDischarge=link("/discharges/{discharge_id}", "get", discharge_id="$response.body#/id")),
                        **responses(*WITH_BODY, 404)})
async def create_discharge(body: DischargeCreate, request: Request, session: SessionDep,
                           user: CurrentUser, services: ServicesDep) -> DischargeOut:
    authorize_patient(request, session, user, body.patient_id, action="create", resource="discharge",
                      resource_id=None)
    knowledge = services.settings.knowledge
    patient = session.get(Patient, body.patient_id)
    language = body.language or _guess_language(body.order_text, patient.language)
    workers = services.structuring_workers()
    try:
        structured = await asyncio.to_thread(workers.structure, body.order_text, language=language,
                                             timeout_s=knowledge.structuring_timeout_s)
    except StructuringTimeout:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"order_text could not be structured within {knowledge.structuring_timeout_s:g} s; "
                            "send shorter orders, one order per line") from None
    except StructuringFailed as exc:
        log.error("structuring failed: %s", exc)
        raise
    if len(structured.items) > knowledge.max_order_items:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"order_text yields {len(structured.items)} order items; the limit is "
                            f"{knowledge.max_order_items}: send the discharge orders only")
    discharge = store.create_discharge(
        session, patient=patient, language=language,
        **body.model_dump(exclude={"patient_id", "language"}),
    )
    # The raw text is committed before the items, plan and index are written.
    session.commit()
    structured_by = "rules+llm" if any(i.source == "llm" for i in structured.items) else "rules"
    await asyncio.to_thread(ingest_drafts, session, discharge=discharge, drafts=structured.items,
                            unparsed_lines=structured.unparsed_lines, structured_by=structured_by,
                            settings=services.settings, knowledge_base=None)
    record_audit(session, actor=user.actor, action="create", resource="discharge", resource_id=discharge.id,
                 patient_id=discharge.patient_id)
    session.commit()
    await index_within(services, patient_id=discharge.patient_id, discharge_id=discharge.id,
                       items=[indexed_item(i) for i in discharge.items])
    return discharge_out(session, discharge)


async def index_within(services, *, patient_id: int, discharge_id: int, items: list) -> None:  # noqa: ANN001
    """Index the items for retrieval, waiting at most knowledge.index_wait_s: embedding a long item
    takes seconds on a CPU, so longer indexing goes on after the answer (questions asked meanwhile
    are handed to a nurse, as when nothing is indexed)."""
    def work() -> None:
        knowledge_base = _knowledge_base_or_none(services)
        if knowledge_base is not None:
            knowledge_base.index_patient_items(patient_id=patient_id, discharge_id=discharge_id, items=items)

    future = services.index_later(work)
    done, _ = await asyncio.wait([asyncio.wrap_future(future)], timeout=services.settings.knowledge.index_wait_s)
    if not done:
        log.info("discharge %s: indexing %d items goes on after the answer", discharge_id, len(items))


def _knowledge_base_or_none(services):  # noqa: ANN001, ANN202
    try:
        return services.knowledge_base()
    except Exception:  # noqa: BLE001 - retrieval is optional for storing orders; answers will say so
        log.exception("knowledge base unavailable; items stored but not indexed")
        return None


def _guess_language(text: str, fallback: str) -> str:
    han = sum(1 for ch in text if 0x4E00 <= ord(ch) <= 0x9FFF)
    latin = sum(1 for ch in text if ch.isascii() and ch.isalpha())
    if han == 0 and latin == 0:
        return fallback
    return "zh" if han * 2 >= latin * 0.5 else "en"


@router.get("/{discharge_id}", response_model=DischargeOut, responses=responses(*SIGNED_IN, 404))
def read_discharge(discharge_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> DischargeOut:
    patient_id = session.scalar(select(Discharge.patient_id).where(Discharge.id == discharge_id))
    if patient_id is None:
        raise not_found("discharge")
    authorize_patient(request, session, user, patient_id, action="read", resource="discharge",
                      resource_id=discharge_id)
    discharge = session.get(Discharge, discharge_id)
    record_audit(session, actor=user.actor, action="read", resource="discharge", resource_id=discharge_id,
                 patient_id=discharge.patient_id)
    return discharge_out(session, discharge)
