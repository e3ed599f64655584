"""Discharge ingest: structure the order text, store the items, plan the calls, index the items.

The raw order text is stored before anything is parsed and never changed; lines the structurer
could not read are kept on the discharge for a nurse to see."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from knowledge.plans import booking_url, draft_plan, due_date
from records.schema import Discharge, FollowupPlan, OrderItem, ScheduledCall
from suifang.config import Settings

if TYPE_CHECKING:
    from knowledge.structurer import OrderItemDraft

log = logging.getLogger(__name__)


def ingest_discharge(session: Session, *, discharge: Discharge, settings: Settings, llm: Any = None,
                     knowledge_base: Any = None) -> FollowupPlan:
    from knowledge.structurer import structure_orders

    structured = structure_orders(discharge.order_text, language=discharge.language or None, llm=llm,
                                 discharge_date=discharge.discharged_on)
    discharge.language = discharge.language or structured.language
    structured_by = "rules+llm" if any(i.source == "llm" for i in structured.items) else "rules"
    return ingest_drafts(session, discharge=discharge, drafts=structured.items,
                         unparsed_lines=structured.unparsed_lines, structured_by=structured_by, settings=settings,
                         knowledge_base=knowledge_base)


def ingest_drafts(session: Session, *, discharge: Discharge, drafts: Sequence[OrderItemDraft],
                  unparsed_lines: Sequence[str], structured_by: str, settings: Settings,
                  knowledge_base: Any = None) -> FollowupPlan:
    """Store already-structured items (from the structurer, or from FHIR resources), plan the calls, index."""
    discharge.unparsed_lines = list(unparsed_lines)
    discharge.structured_by = structured_by
    patient_ref = discharge.patient.mrn or str(discharge.patient_id)
    items = [_order_item(draft, seq, discharge, settings, patient_ref) for seq, draft in enumerate(drafts)]
    discharge.items = items
    session.flush()

    plan = _plan(session, discharge, items, settings)
    if knowledge_base is not None:
        index_items(knowledge_base, discharge=discharge, items=items)
    log.info("discharge %s ingested (%s): %d items, %d unparsed lines, plan %s with %d calls",
             discharge.id, structured_by, len(items), len(unparsed_lines), plan.kind, len(plan.calls))
    return plan


def _order_item(draft: OrderItemDraft, seq: int, discharge: Discharge, settings: Settings,
                patient_ref: str) -> OrderItem:
    due = due_date(draft.when, start=discharge.discharged_on) if draft.kind in ("revisit", "reexam") else None
    link = None
    if draft.kind in ("revisit", "reexam"):
        department = draft.name if draft.kind == "revisit" and draft.name else discharge.department
        link = booking_url(settings.knowledge.booking_url_template, department=department, date=due,
                           patient_ref=patient_ref)
    return OrderItem(
        patient_id=discharge.patient_id, seq=seq, kind=draft.kind, name=draft.name,
        generic_name=draft.generic_name, drug_class=draft.drug_class, dose=draft.dose,
        dose_text=draft.dose_text, unit=draft.unit, route=draft.route, frequency=draft.frequency,
        duration=draft.duration, when=draft.when, due_date=due, symptom_code=draft.symptom_code,
        booking_url=link, text=draft.text, span_start=draft.span_start, span_end=draft.span_end,
        source=draft.source,
    )


def _plan(session: Session, discharge: Discharge, items: list[OrderItem], settings: Settings) -> FollowupPlan:
    draft = draft_plan(
        surgery=discharge.surgery, chronic=discharge.chronic, diagnosis=discharge.diagnosis,
        item_due_dates=[(i.kind, i.due_date) for i in items if i.due_date is not None],
        surgical_days=settings.plans.surgical_days, medical_days=settings.plans.medical_days,
        chronic_every_days=settings.plans.chronic_every_days, chronic_count=settings.plans.chronic_count,
    )
    plan = FollowupPlan(discharge_id=discharge.id, patient_id=discharge.patient_id, kind=draft.kind,
                        revisit_due=draft.revisit_due, reexam_due=draft.reexam_due)
    plan.calls = [
        ScheduledCall(patient_id=discharge.patient_id, day_offset=day,
                      due_date=discharge.discharged_on + dt.timedelta(days=day))
        for day in draft.call_days
    ]
    session.add(plan)
    session.flush()
    return plan


def index_items(knowledge_base: Any, *, discharge: Discharge, items: list[OrderItem]) -> None:
    knowledge_base.index_patient_items(
        patient_id=discharge.patient_id, discharge_id=discharge.id,
        items=[indexed_item(i) for i in items],
    )


def indexed_item(item: OrderItem) -> Any:
    from knowledge.retrieval import IndexedItem

    return IndexedItem(
        item_id=item.id, kind=item.kind, text=item.text, name=item.name, generic_name=item.generic_name,
        dose=item.dose, dose_text=item.dose_text, unit=item.unit, route=item.route, frequency=item.frequency,
        duration=item.duration, when=item.when, due_date=item.due_date.isoformat() if item.due_date else None,
    )
