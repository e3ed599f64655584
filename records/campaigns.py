"""Call campaigns in the record store: which scheduled calls are due, one try at a time.

Every transition is a short transaction that checks the state it expects, so it is safe to repeat:
a try is claimed once (row lock with SKIP LOCKED on PostgreSQL, a compare-and-set on the scheduled
call, a unique try key everywhere), started once, and finished once. A try whose worker stops
renewing its lease is recovered by `recover_expired` — never while the lease is live.
Time is always passed in (`now`), never read here."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from campaigns.windows import RETRYABLE_STATUSES, TERMINAL_STATUSES, CallingPolicy
from records.reasons import reason as task_reason
from records.schema import (
    CallAttempt,
    CallSession,
    FollowupPlan,
    Outcome,
    Patient,
    ReviewItem,
    ScheduledCall,
)

log = logging.getLogger(__name__)

LIVE_STATUSES = ("leased", "calling", "placed")
_TASK_PRIORITY = 2


@dataclass(frozen=True)
class AttemptTicket:
    key: str
    scheduled_call_id: int
    try_number: int


@dataclass(frozen=True)
class CallRequest:
    """What a worker needs to place one try. `to_number` is patient data: never log it."""

    key: str
    scheduled_call_id: int
    patient_id: int
    discharge_id: int
    try_number: int
    to_number: str
    language: str
    call_date: dt.date
    resume_call_id: int | None  # a call cut off on an earlier try: continue it, answers kept


@dataclass(frozen=True)
class RecoveredAttempt:
    key: str
    scheduled_call_id: int
    call_id: int | None
    final: bool  # no tries left: the caller closes the call


def attempt_key(*, scheduled_call_id: int, try_number: int) -> str:
    return f"sc{scheduled_call_id}-t{try_number}"


def cancel_refused(session: Session) -> int:
    """A patient who refused (do_not_call) is not called again: their pending calls are cancelled."""
    refused = select(Patient.id).where(Patient.do_not_call.is_(True))
    result = session.execute(update(ScheduledCall)
                             .where(ScheduledCall.status == "scheduled", ScheduledCall.patient_id.in_(refused))
                             .values(status="cancelled").execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount or 0


def queued_attempts(session: Session) -> int:
    """Tries claimed but not yet started by a worker (the dispatcher's back-pressure)."""
    return session.scalar(select(func.count()).select_from(CallAttempt).where(CallAttempt.status == "leased")) or 0


def live_attempts(session: Session) -> int:
    """Tries claimed and not yet finished (waiting for a worker, ringing or talking)."""
    return session.scalar(select(func.count()).select_from(CallAttempt)
                          .where(CallAttempt.status.in_(LIVE_STATUSES))) or 0


def claim_due_calls(session: Session, *, policy: CallingPolicy, now: dt.datetime, worker_id: str,
                    limit: int) -> list[AttemptTicket]:
    """Claim up to `limit` due calls as new tries (committed). Empty outside the calling windows."""
    if limit <= 0 or not policy.may_call(now):
        return []
    rows = session.execute(
        select(ScheduledCall.id, ScheduledCall.attempts, ScheduledCall.patient_id)
        .join(Patient, Patient.id == ScheduledCall.patient_id)
        .where(ScheduledCall.status == "scheduled", ScheduledCall.due_date <= policy.local_date(now),
               or_(ScheduledCall.next_attempt_at.is_(None), ScheduledCall.next_attempt_at <= now),
               Patient.do_not_call.is_(False))
        .order_by(ScheduledCall.due_date, ScheduledCall.id)
        .limit(limit)
        .with_for_update(of=ScheduledCall, skip_locked=True)
    ).all()
    tickets = []
    try:
        for call_id, attempts, patient_id in rows:
            # Compare-and-set: on SQLite (no row locks) a racing dispatcher's update matches no row.
            claimed = session.execute(
                update(ScheduledCall)
                .where(ScheduledCall.id == call_id, ScheduledCall.status == "scheduled",
                       ScheduledCall.attempts == attempts)
                .values(status="dispatched", attempts=attempts + 1)
                .execution_options(synchronize_session=False))
            if claimed.rowcount != 1:
                continue
            try_number = attempts + 1
            key = attempt_key(scheduled_call_id=call_id, try_number=try_number)
            session.add(CallAttempt(key=key, scheduled_call_id=call_id, patient_id=patient_id, try_number=try_number,
                                    status="leased", worker_id=worker_id, lease_expires_at=now + policy.lease,
                                    created_at=now, updated_at=now))
            tickets.append(AttemptTicket(key=key, scheduled_call_id=call_id, try_number=try_number))
        session.commit()
    except (IntegrityError, OperationalError):
        # Another dispatcher won this batch (SQLite: "database is locked"); nothing was claimed.
        session.rollback()
        log.info("claim lost a race; retrying on the next tick")
        return []
    return tickets


def start_attempt(session: Session, *, key: str, worker_id: str, now: dt.datetime,
                  policy: CallingPolicy) -> CallRequest | None:
    """Take a claimed try for this worker. None when it is not waiting to start (already started by
    a duplicate delivery, finished, or recovered) — the caller then does nothing."""
    attempt = session.scalar(select(CallAttempt).where(CallAttempt.key == key).with_for_update())
    if attempt is None or attempt.status != "leased":
        session.rollback()
        return None
    attempt.status, attempt.worker_id = "calling", worker_id
    attempt.lease_expires_at, attempt.updated_at = now + policy.lease, now
    scheduled = session.get(ScheduledCall, attempt.scheduled_call_id)
    plan = session.get(FollowupPlan, scheduled.plan_id)
    patient = session.get(Patient, attempt.patient_id)
    resume_call_id = session.scalar(
        select(CallAttempt.call_id).join(CallSession, CallSession.id == CallAttempt.call_id)
        .where(CallAttempt.scheduled_call_id == scheduled.id, CallAttempt.try_number < attempt.try_number,
               CallSession.status == "in_progress")
        .order_by(CallAttempt.try_number.desc()).limit(1))
    request = CallRequest(key=key, scheduled_call_id=scheduled.id, patient_id=patient.id,
                          discharge_id=plan.discharge_id, try_number=attempt.try_number, to_number=patient.phone,
                          language=patient.language, call_date=policy.local_date(now),
                          resume_call_id=resume_call_id)
    session.commit()
    return request


def renew_lease(session: Session, *, key: str, worker_id: str, now: dt.datetime, policy: CallingPolicy,
                call_id: int | None = None) -> bool:
    """The worker's heartbeat. False when the try is no longer this worker's (it was recovered)."""
    values: dict = {"lease_expires_at": now + policy.lease, "updated_at": now}
    if call_id is not None:
        values["call_id"] = call_id
    result = session.execute(update(CallAttempt)
                             .where(CallAttempt.key == key, CallAttempt.status == "calling",
                                    CallAttempt.worker_id == worker_id)
                             .values(**values).execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1


def mark_placed(session: Session, *, key: str, worker_id: str, telephony_sid: str, now: dt.datetime,
                policy: CallingPolicy) -> bool:
    """A carrier (Twilio) took the call; its status callback finishes the try."""
    result = session.execute(update(CallAttempt)
                             .where(CallAttempt.key == key, CallAttempt.status == "calling",
                                    CallAttempt.worker_id == worker_id)
                             .values(status="placed", telephony_sid=telephony_sid[:64], updated_at=now,
                                     lease_expires_at=now + policy.placed_call_timeout)
                             .execution_options(synchronize_session=False))
    session.commit()
    return result.rowcount == 1


def record_result(session: Session, *, key: str, call_status: str, now: dt.datetime, policy: CallingPolicy,
                  call_id: int | None = None, telephony_sid: str | None = None,
                  retryable: bool | None = None) -> str | None:
    """Finish a try: 'retry' (rescheduled on the ladder), 'unreached' (last try: no_answer outcome and a
    nurse task written), 'stopped' (`not_found`: the number is empty or suspended — no more tries, a
    nurse task to check the number), 'done', or None when the try was already finished (a repeated
    callback)."""
    attempt = session.scalar(select(CallAttempt).where(CallAttempt.key == key).with_for_update())
    if attempt is None or attempt.status not in LIVE_STATUSES:
        session.rollback()
        return None
    attempt.status, attempt.call_status, attempt.ended_at, attempt.updated_at = "done", call_status, now, now
    attempt.call_id = call_id or attempt.call_id
    attempt.telephony_sid = telephony_sid or attempt.telephony_sid
    scheduled = session.get(ScheduledCall, attempt.scheduled_call_id, with_for_update=True)
    patient = session.get(Patient, attempt.patient_id)
    if retryable is None:
        retryable = call_status in RETRYABLE_STATUSES
    decision = "done"
    if call_status in TERMINAL_STATUSES:
        _close_not_found(session, scheduled=scheduled, patient=patient, call_id=attempt.call_id,
                         tries=attempt.try_number, now=now)
        decision = "stopped"
    elif retryable and attempt.try_number < policy.max_tries and not patient.do_not_call:
        scheduled.status = "scheduled"
        scheduled.next_attempt_at = policy.retry_at(tries_done=attempt.try_number, ended_at=now)
        decision = "retry"
    elif retryable:
        _close_unreached(session, scheduled=scheduled, patient=patient, tries=attempt.try_number, now=now)
        decision = "unreached"
    else:
        scheduled.status = "done"
    if call_status == "refused" or patient.do_not_call:
        patient.do_not_call = True
        session.execute(update(ScheduledCall)
                        .where(ScheduledCall.patient_id == patient.id, ScheduledCall.status == "scheduled")
                        .values(status="cancelled").execution_options(synchronize_session=False))
    session.commit()
    return decision


def finish_live_try(session: Session, *, scheduled_call_id: int, call_status: str, call_id: int | None,
                    now: dt.datetime, policy: CallingPolicy) -> str | None:
    """The phone line knows how a try ended before the carrier's status callback does (it heard a
    carrier announcement or a machine): finish the scheduled call's live try with that outcome (the
    callback then finds it finished). None when no try of this call is live."""
    key = session.scalar(select(CallAttempt.key)
                         .where(CallAttempt.scheduled_call_id == scheduled_call_id,
                                CallAttempt.status.in_(LIVE_STATUSES))
                         .order_by(CallAttempt.try_number.desc()).limit(1))
    if key is None:
        session.rollback()
        return None
    return record_result(session, key=key, call_status=call_status, now=now, policy=policy, call_id=call_id)


def recover_expired(session: Session, *, now: dt.datetime, policy: CallingPolicy) -> list[RecoveredAttempt]:
    """The sweep: tries whose lease ran out (the worker died) are marked lost and the call goes back
    to the queue at the next calling time; with no tries left the caller closes it."""
    attempts = list(session.scalars(
        select(CallAttempt).where(CallAttempt.status.in_(LIVE_STATUSES), CallAttempt.lease_expires_at < now)
        .order_by(CallAttempt.id).with_for_update(skip_locked=True)))
    recovered = []
    for attempt in attempts:
        attempt.status, attempt.ended_at, attempt.updated_at = "lost", now, now
        scheduled = session.get(ScheduledCall, attempt.scheduled_call_id, with_for_update=True)
        final = attempt.try_number >= policy.max_tries
        if final:
            scheduled.status = "done"
        elif scheduled.status == "dispatched":
            scheduled.status = "scheduled"
            scheduled.next_attempt_at = policy.next_calling_time(now)
        recovered.append(RecoveredAttempt(key=attempt.key, scheduled_call_id=scheduled.id, call_id=attempt.call_id,
                                          final=final))
    session.commit()
    if recovered:
        log.warning("recovered %d tries whose worker stopped: %s", len(recovered), [r.key for r in recovered])
    return recovered


def _ended_call(session: Session, *, scheduled: ScheduledCall, patient: Patient, now: dt.datetime) -> CallSession:
    """The call record of a try that reached nobody."""
    plan = session.get(FollowupPlan, scheduled.plan_id)
    call = CallSession(patient_id=patient.id, discharge_id=plan.discharge_id, ward_id=patient.ward_id,
                       scheduled_call_id=scheduled.id, channel="phone", language=patient.language,
                       status="ended", state={}, started_at=now, ended_at=now)
    session.add(call)
    session.flush()
    return call


def _nurse_task(session: Session, *, call: CallSession, patient: Patient, reason: str, now: dt.datetime) -> None:
    session.add(ReviewItem(call_id=call.id, patient_id=patient.id, ward_id=patient.ward_id, priority=_TASK_PRIORITY,
                           level="task", reason=reason, created_at=now, updated_at=now))


def _close_unreached(session: Session, *, scheduled: ScheduledCall, patient: Patient, tries: int,
                     now: dt.datetime) -> None:
    # The outcome the spec asks for after the last try, and a nurse task, in the same transaction.
    call = _ended_call(session, scheduled=scheduled, patient=patient, now=now)
    session.add(Outcome(call_id=call.id, patient_id=patient.id, call_status="no_answer", flags=[],
                        needs_callback=True, evidence={}, created_at=now))
    _nurse_task(session, call=call, patient=patient, reason=task_reason("task_no_answer", tries=tries), now=now)
    scheduled.status = "done"


def _close_not_found(session: Session, *, scheduled: ScheduledCall, patient: Patient, call_id: int | None,
                     tries: int, now: dt.datetime) -> None:
    # The carrier says the number does not exist (空号) or is suspended (停机): stop the ladder, keep
    # the call the phone line wrote (its outcome is `failed`) or write one, and open a nurse task.
    call = session.get(CallSession, call_id) if call_id else None
    if call is None:
        call = _ended_call(session, scheduled=scheduled, patient=patient, now=now)
    outcome = session.scalar(select(Outcome).where(Outcome.call_id == call.id))
    if outcome is None:
        session.add(Outcome(call_id=call.id, patient_id=patient.id, call_status="failed", flags=[],
                            needs_callback=True, evidence={}, created_at=now))
    else:
        outcome.needs_callback = True
    _nurse_task(session, call=call, patient=patient, now=now,
                reason=task_reason("task_not_in_service", tries=tries))
    scheduled.status = "done"
