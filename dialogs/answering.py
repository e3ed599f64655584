"""Patient questions during a call → grounded answers from that patient's own order items."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dialogs.context import CallContext
from dialogs.engine import AnswerResult
from knowledge.ingest import indexed_item
from records.schema import Discharge, OrderItem


def load_indexed_items(session: Session, *, patient_id: int) -> dict[int, Any]:
    """The patient's order items (latest discharge first) keyed by id, as the knowledge layer wants them."""
    rows = session.scalars(
        select(OrderItem).join(Discharge, OrderItem.discharge_id == Discharge.id)
        .where(OrderItem.patient_id == patient_id).order_by(Discharge.discharged_on.desc(), OrderItem.seq))
    return {row.id: indexed_item(row) for row in rows}


def make_answerer_factory(*, session_factory: sessionmaker[Session], knowledge_base: Any,
                          llm: Any) -> Callable[[CallContext], Callable[[str, str], AnswerResult]]:
    from knowledge.answers import answer_question

    def factory(context: CallContext) -> Callable[[str, str], AnswerResult]:
        with session_factory() as session:
            items_by_id = load_indexed_items(session, patient_id=context.patient_id)

        def answer(question: str, language: str) -> AnswerResult:
            result = answer_question(patient_id=context.patient_id, question=question, language=language,
                                     kb=knowledge_base, llm=llm, items_by_id=items_by_id)
            return AnswerResult(text=result.text, answered=result.answered, sources=tuple(result.sources))

        return answer

    return factory
