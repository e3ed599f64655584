"""Call outcomes: the structured record each follow-up call leaves (followup-outcome.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CurrentUser, IdPath, SessionDep, not_found
from api.errors import SIGNED_IN, responses
from api.routers.calls import authorize_call
from api.schemas import OutcomeOut
from records import store
from records.audit import record_audit

router = APIRouter(prefix="/outcomes", tags=["outcomes"])


@router.get("/{call_id}", response_model=OutcomeOut, responses=responses(*SIGNED_IN, 404))
def read_outcome(call_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> OutcomeOut:
    patient_id = authorize_call(request, session, user, call_id, action="read")
    outcome = store.outcome_of_call(session, call_id=call_id)
    if outcome is None:
        raise not_found("outcome")
    record_audit(session, actor=user.actor, action="read", resource="outcome", resource_id=call_id,
                 patient_id=patient_id)
    return OutcomeOut.model_validate(outcome)
