"""Follow-up calls: list (own wards), read with the turn-by-turn transcript."""

from __future__ import annotations

from typing import Annotated, Literal

import asyncio

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy import select

from api.deps import CurrentUser, IdPath, Offset, ServicesDep, SessionDep, authorize_patient, not_found
from api.errors import SIGNED_IN, WITH_BODY, link, responses, with_links
from api.schemas import DB_INT_MAX, CallOut, CallReply, CallStart, CallSummary, PatientTurn, TurnOut
from records import store
from records.audit import record_audit
from records.schema import CallSession

router = APIRouter(prefix="/calls", tags=["calls"])


def authorize_call(request: Request, session, user, call_id: int, *, action: str) -> int:  # noqa: ANN001
    patient_id = session.scalar(select(CallSession.patient_id).where(CallSession.id == call_id))
    if patient_id is None:
        raise not_found("call")
    authorize_patient(request, session, user, patient_id, action=action, resource="call", resource_id=call_id)
    return patient_id


@router.get("", response_model=list[CallSummary], responses=responses(*SIGNED_IN))
def list_calls(
    session: SessionDep,
    user: CurrentUser,
    patient_id: Annotated[int | None, Query(ge=1, le=DB_INT_MAX)] = None,
    status: Annotated[Literal["in_progress", "ended"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[CallSummary]:
    ward_ids = None if user.is_admin else sorted(user.ward_ids)
    calls = store.list_calls(session, ward_ids=ward_ids, patient_id=patient_id, status=status,
                             limit=limit, offset=offset)
    for call in calls:
        record_audit(session, actor=user.actor, action="list", resource="call", resource_id=call.id,
                     patient_id=call.patient_id)
    return [CallSummary.model_validate(c) for c in calls]


@router.get("/{call_id}", response_model=CallOut, responses=responses(*SIGNED_IN, 404))
def read_call(call_id: IdPath, request: Request, session: SessionDep, user: CurrentUser) -> CallOut:
    patient_id = authorize_call(request, session, user, call_id, action="read")
    call = session.get(CallSession, call_id)
    record_audit(session, actor=user.actor, action="read", resource="call", resource_id=call_id,
                 patient_id=patient_id)
    summary = CallSummary.model_validate(call).model_dump()
    return CallOut(**summary, turns=[TurnOut.model_validate(t) for t in call.turns])


_CALL_LINKS = {
    "ReadCall": link("/calls/{call_id}", "get", call_id="$response.body#/call_id"),
    "PostTurn": link("/calls/{call_id}/turns", "post", call_id="$response.body#/call_id"),
    "ReadOutcome": link("/outcomes/{call_id}", "get", call_id="$response.body#/call_id"),
    "FhirOutcome": link("/fhir/outcomes/{call_id}", "get", call_id="$response.body#/call_id"),
    "CorrectOutcome": link("/review/calls/{call_id}/corrections", "post", call_id="$response.body#/call_id"),
}


@router.post("", response_model=CallReply, status_code=status.HTTP_201_CREATED,
             responses={**with_links(201, "The call, opened: its first prompt", **_CALL_LINKS),
                        **responses(*WITH_BODY, 404)})
async def start_call(body: CallStart, request: Request, session: SessionDep, user: CurrentUser,
                     services: ServicesDep) -> CallReply:
    """Start a text follow-up call (a nurse testing a flow, or the chat channel)."""
    from dialogs.flows import FlowError
    from dialogs.runner import CallRunner

    authorize_patient(request, session, user, body.patient_id, action="call", resource="call", resource_id=None)
    # Model loading blocks: keep it off the event loop.
    answerer_factory = await asyncio.to_thread(services.answerer_factory)
    llm_fallback = await asyncio.to_thread(services.llm_fallback)
    semantic = await asyncio.to_thread(services.semantic_matcher)
    second_reader = await asyncio.to_thread(services.second_reader)
    try:
        runner = await asyncio.to_thread(
            CallRunner.open, session_factory=services.session_factory, flows=services.flows,
            settings=services.settings, patient_id=body.patient_id, discharge_id=body.discharge_id,
            channel="text", call_date=body.call_date, answerer_factory=answerer_factory,
            llm_fallback=llm_fallback, language=body.language, flow_id=body.flow_id, semantic=semantic,
            second_reader=second_reader)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except FlowError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    reply = await asyncio.to_thread(runner.start)
    services.active_calls[runner.call_id] = runner
    record_audit(session, actor=user.actor, action="call", resource="call", resource_id=runner.call_id,
                 patient_id=body.patient_id)
    return CallReply(call_id=runner.call_id, say=reply.say, expecting=reply.expecting, done=reply.done)


@router.post("/{call_id}/turns", response_model=CallReply,
             responses={**with_links(200, "The reply to the turn", **_CALL_LINKS), **responses(*WITH_BODY, 404, 409)})
async def post_turn(call_id: IdPath, body: PatientTurn, request: Request, session: SessionDep,
                    user: CurrentUser, services: ServicesDep) -> CallReply:
    from dialogs.runner import CallRunner

    patient_id = authorize_call(request, session, user, call_id, action="turn")
    call = session.get(CallSession, call_id)
    if call.status != "in_progress":
        raise HTTPException(status.HTTP_409_CONFLICT, "this call has ended")
    if body.text is None and not body.silence and not body.hangup:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "send text, silence: true or hangup: true")
    runner = services.active_calls.get(call_id)
    if runner is None:  # e.g. after a restart: resume from the stored state
        answerer_factory = await asyncio.to_thread(services.answerer_factory)
        llm_fallback = await asyncio.to_thread(services.llm_fallback)
        semantic = await asyncio.to_thread(services.semantic_matcher)
        second_reader = await asyncio.to_thread(services.second_reader)
        runner = await asyncio.to_thread(
            CallRunner.resume, session_factory=services.session_factory, flows=services.flows,
            settings=services.settings, call_id=call_id, answerer_factory=answerer_factory,
            llm_fallback=llm_fallback, semantic=semantic, second_reader=second_reader)
        services.active_calls[call_id] = runner
    record_audit(session, actor=user.actor, action="turn", resource="call", resource_id=call_id,
                 patient_id=patient_id)
    if body.hangup:
        outcome = await asyncio.to_thread(runner.hangup)
        services.active_calls.pop(call_id, None)
        return CallReply(call_id=call_id, say="", expecting=None, done=True, call_status=outcome["call_status"])
    if body.silence:
        reply = await asyncio.to_thread(runner.silence)
    else:
        reply = await asyncio.to_thread(runner.handle, body.text or "")  # text is set: checked above
    status_ = None
    if reply.done:
        services.active_calls.pop(call_id, None)
        status_ = runner.engine.state.status
    return CallReply(call_id=call_id, say=reply.say, expecting=reply.expecting, done=reply.done, call_status=status_)
