"""Calls to the service's number: who is calling, by their number.

A patient calling back (their number is on exactly one patient record) continues their follow-up: a
new call on their newest discharge, taking the place of their next scheduled follow-up call when one
is waiting, so the dispatcher does not ring them again for it. Any other number hears that this line
only serves the hospital's follow-up calls and is asked to call the ward; nothing about any patient
is said, and nothing is stored but the event."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from typing import Any

from sqlalchemy import select

from campaigns.call_session import CallTarget
from dialogs.flows import call_messages

log = logging.getLogger(__name__)

MATCH_DIGITS = 11     # a mainland mobile number; the trunk may add 0, 86 or +86 in front
UNKNOWN_CALLER = call_messages().texts("unknown_caller")   # dialogs/flows/messages.yaml


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number or "")


def find_caller(session_factory: Any, number: str, *, today: dt.date | None = None) -> CallTarget | None:
    """The call target of a patient calling back from `number`, or None (unknown, or shared by
    several patients: then nobody's follow-up is opened)."""
    from records.schema import Discharge, FollowupPlan, Patient, ScheduledCall

    digits = _digits(number)
    if len(digits) < 7:
        return None
    key = digits[-MATCH_DIGITS:]
    with session_factory() as session:
        candidates = session.scalars(select(Patient).where(Patient.phone.like(f"%{key[-7:]}"))).all()
        matches = [p for p in candidates if _digits(p.phone)[-MATCH_DIGITS:] == key]
        if len(matches) != 1:
            return None
        patient = matches[0]
        if patient.do_not_call:
            return None
        discharge = session.scalar(select(Discharge).where(Discharge.patient_id == patient.id)
                                   .order_by(Discharge.discharged_on.desc()).limit(1))
        if discharge is None:
            return None
        waiting = session.scalar(select(ScheduledCall.id).join(FollowupPlan, ScheduledCall.plan_id == FollowupPlan.id)
                                 .where(FollowupPlan.discharge_id == discharge.id, ScheduledCall.status == "scheduled")
                                 .order_by(ScheduledCall.due_date).limit(1))
        return CallTarget(patient_id=patient.id, discharge_id=discharge.id, language=patient.language,
                          scheduled_call_id=waiting, call_date=today or dt.date.today())


async def decline_unknown(line: Any, *, voice: Any, settings: Any, handle: Any) -> None:
    """Tell an unknown caller what this line is (in Mandarin, then English) and hang up."""
    for language in ("zh", "en"):
        hospital = settings.dialog.hospital_name_zh if language == "zh" else settings.dialog.hospital_name_en
        text = UNKNOWN_CALLER[language].format(hospital=hospital)
        for sentence in voice.sentences(text, language):
            await line.play(await asyncio.to_thread(voice.synthesize_phone, sentence, language))
    await line.hangup()
    log.info("an inbound call from a number on no patient record was told to call the ward")
    while True:
        kind, _ = await asyncio.wait_for(handle.inbox.get(), timeout=120)
        if kind == "hangup":
            return
        if kind == "ended":
            return
