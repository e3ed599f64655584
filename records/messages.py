"""Messages left on the service's phone line for the ward (campaigns/inbound.py).

A message from a patient's number is a call on that patient: one patient turn (the transcript, the
recording) on a call record of their ward and newest discharge, and a nurse task in the review queue,
so it is seen, played and closed like any other call. A message from any other number is kept with
the number (the web UI shows it masked). Both are a `WardMessage` row; storing one is audited, and so
is every read of one (api/routers/web.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from records.audit import SYSTEM_ACTOR, record_audit
from records.reasons import reason as task_reason
from records.schema import CallSession, Discharge, Patient, ReviewItem, Turn, WardMessage, utcnow

_TASK_PRIORITY = 2   # as the campaign's nurse tasks: after red and yellow flags
MESSAGE_EXPECTING = "ward_message"   # the `expecting` of a message's patient turn


@dataclass(frozen=True)
class LeftMessage:
    """What the line heard: the caller's number, the recording (a path under data_dir/audio, or None
    when nothing was said) and its transcript."""

    caller_number: str
    language: str
    transcript: str
    audio_ref: str | None
    duration_s: float
    confidence: float | None = None
    patient_id: int | None = None


def store_message(session: Session, message: LeftMessage, *, now: dt.datetime | None = None) -> WardMessage:
    """Keep a message (committed): a known patient's also as a call with a nurse task."""
    now = now or utcnow()
    call_id = None
    if message.patient_id is not None:
        patient = session.get(Patient, message.patient_id)
        discharge_id = session.scalar(select(Discharge.id).where(Discharge.patient_id == patient.id)
                                      .order_by(Discharge.discharged_on.desc()).limit(1))
        call = CallSession(patient_id=patient.id, discharge_id=discharge_id, ward_id=patient.ward_id, channel="sip",
                           language=message.language, status="ended", state={}, started_at=now, ended_at=now)
        session.add(call)
        session.flush()
        session.add(Turn(call_id=call.id, seq=0, speaker="patient", text=message.transcript,
                         expecting=MESSAGE_EXPECTING, audio_ref=message.audio_ref, asr_confidence=message.confidence,
                         started_at=now, ended_at=now))
        session.add(ReviewItem(call_id=call.id, patient_id=patient.id, ward_id=patient.ward_id, priority=_TASK_PRIORITY,
                               level="task", reason=task_reason("task_voice_message"), created_at=now, updated_at=now))
        call_id = call.id
    row = WardMessage(received_at=now, caller_number=message.caller_number, patient_id=message.patient_id,
                      call_id=call_id, language=message.language, transcript=message.transcript,
                      audio_ref=message.audio_ref, duration_s=round(message.duration_s, 1))
    session.add(row)
    session.flush()
    record_audit(session, actor=SYSTEM_ACTOR, action="record", resource="ward_message", resource_id=row.id,
                 patient_id=message.patient_id,
                 detail="message from a patient's number" if message.patient_id else "message from an unknown number")
    session.commit()
    return row


def unmatched_messages(session: Session, *, limit: int = 200) -> list[WardMessage]:
    """Messages from numbers on no patient record, newest first."""
    return list(session.scalars(select(WardMessage).where(WardMessage.patient_id.is_(None))
                                .order_by(WardMessage.received_at.desc(), WardMessage.id.desc()).limit(limit)))
