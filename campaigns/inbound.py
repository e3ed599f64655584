"""Calls to the service's number: who is calling, by their number.

A patient calling back (their number is on exactly one patient record) with a follow-up call waiting
continues their follow-up: a new call on their newest discharge, taking the place of that waiting call,
so the dispatcher does not ring them again for it. A patient with no follow-up waiting, and any other
number, may leave a message for the ward (`take_message`): a short prompt from the catalog
(dialogs/flows/messages.yaml: `leave_message`, or `unknown_caller` in Mandarin then English, which says
nothing about any patient), a tone, then the recording until `campaigns.sip.message_silence_s` of
silence after speech, `message_max_s`, or the hang-up. It is transcribed off the event loop and stored
(records/messages.py): a known patient's as a call on that patient with a nurse task in the review
queue, an unknown number's as a ward message with the number (shown masked)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from sqlalchemy import select

from campaigns.call_session import CallTarget
from dialogs.flows import call_messages
from language.words import word_list

log = logging.getLogger(__name__)

MATCH_DIGITS = 11     # a mainland mobile number; the trunk may add 0, 86 or +86 in front
UNKNOWN_CALLER = call_messages().texts("unknown_caller")   # dialogs/flows/messages.yaml
LEAVE_MESSAGE = call_messages().texts("leave_message")
MESSAGE_RECEIVED = call_messages().texts("message_received")
# Told to the recogniser before a message: the words messages to a ward are made of, so a symptom on a
# narrow, noisy line is written as the symptom (咳嗽, not a homophone) for the nurse who reads it.
MESSAGE_CONTEXT = {language: " ".join(word_list(f"message_context_{language}")) for language in ("zh", "en")}
TONE_HZ, TONE_S = 1000, 0.5     # the tone after which the caller speaks
ASR_RATE = 16000


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


def tone() -> bytes:
    """The tone before the recording: 1 kHz, 0.5 s, at -12 dBFS, 8 kHz μ-law."""
    from models import audio

    t = np.arange(int(audio.PHONE_RATE * TONE_S)) / audio.PHONE_RATE
    return audio.float_to_mulaw((0.25 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32))


# (kind, 8 kHz μ-law frame): "frame", "ended" when the line is gone, "" when nothing came within the timeout
NextEvent = Callable[[float], Awaitable[tuple[str, bytes | None]]]


async def take_message(line: Any, next_event: NextEvent, *, voice: Any, settings: Any, session_factory: Any,
                       number: str, target: CallTarget | None) -> int | None:
    """Prompt, tone, record, thank, hang up; then transcribe and store the message. `target` is the
    known patient calling (None: a number on no patient record). Returns the stored message's id, or
    None when the caller said nothing or hung up before the tone."""
    c = settings.campaigns.sip
    if target is None:
        prompts = [(lang, UNKNOWN_CALLER[lang]) for lang in ("zh", "en")]
        language = "zh"   # a number on no record: the line's first language
    else:
        language = target.language or "zh"
        prompts = [(language, LEAVE_MESSAGE[language])]
    # Synthesized whole before any of it plays: the prompt and the tone reach the caller without a gap.
    audio = [await asyncio.to_thread(voice.synthesize_phone, sentence, lang) for lang, text in prompts
             for sentence in voice.sentences(text.format(hospital=_hospital(settings, lang)), lang)]
    for piece in [*audio, tone()]:
        await line.play(piece)
    if not await _played(line, next_event):
        log.info("an inbound caller hung up before the tone")
        return None
    heard, hung_up = await _record(next_event, voice, silence_s=c.message_silence_s, max_s=c.message_max_s)
    if not hung_up:
        for lang in ([language] if target is not None else ["zh", "en"]):
            await _say(line, voice, MESSAGE_RECEIVED[lang], lang)
        await line.hangup()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (await next_event(0.2))[0] != "ended":
            pass   # the thanks are played, then the line hangs up
    if heard is None:
        log.info("an inbound caller left no message")
        return None
    transcript = await asyncio.to_thread(voice.transcribe, heard, language, context=MESSAGE_CONTEXT.get(language))
    audio_ref = await asyncio.to_thread(_store_audio, settings, voice, heard)
    from records.messages import LeftMessage, store_message

    message = LeftMessage(caller_number=number, language=language, transcript=transcript.text.strip(),
                          audio_ref=audio_ref, duration_s=heard.size / ASR_RATE, confidence=transcript.confidence,
                          patient_id=target.patient_id if target is not None else None)

    def store() -> int:
        with session_factory() as session:
            return store_message(session, message).id

    message_id = await asyncio.to_thread(store)
    log.info("message %s left on the line (%.0f s, %s)", message_id, message.duration_s,
             "a patient's number" if target is not None else "a number on no patient record")
    return message_id


def _hospital(settings: Any, language: str) -> str:
    return settings.dialog.hospital_name_zh if language == "zh" else settings.dialog.hospital_name_en


async def _say(line: Any, voice: Any, text: str, language: str) -> None:
    for sentence in voice.sentences(text, language):
        await line.play(await asyncio.to_thread(voice.synthesize_phone, sentence, language))


async def _played(line: Any, next_event: NextEvent) -> bool:
    """Until everything queued has been played (what the caller sends meanwhile is not the message);
    False if the line ended first."""
    drained = asyncio.ensure_future(line.drained())
    try:
        while not drained.done():
            kind, _ = await next_event(0.05)
            if kind == "ended":
                return False
        return True
    finally:
        drained.cancel()


async def _record(next_event: NextEvent, voice: Any, *, silence_s: float, max_s: float) -> tuple[np.ndarray | None, bool]:
    """The caller's message as 16 kHz audio (None if no speech began within twice `silence_s`), and
    whether they hung up. Ends at `silence_s` of silence after speech, at `max_s`, or at the hang-up."""
    detector = voice.end_of_turn_detector(silence_ms=int(silence_s * 1000))
    decode = voice.phone_decoder()
    pieces: list[np.ndarray] = []
    spoke = False
    began = time.monotonic()
    hung_up = False
    while True:
        kind, frame = await next_event(0.2)
        if kind == "ended":
            hung_up = True
            break
        if kind == "frame" and frame:
            pcm = decode(frame)
            pieces.append(pcm)
            events = detector.feed(pcm)
            spoke = spoke or "speech_start" in events or detector.in_speech
            if "end_of_turn" in events:
                break
        elapsed = time.monotonic() - began
        if elapsed >= max_s or (not spoke and elapsed >= 2 * silence_s):
            break
    if not spoke or not pieces:
        return None, hung_up
    return np.concatenate(pieces)[: int(max_s * ASR_RATE)], hung_up


def _store_audio(settings: Any, voice: Any, audio: np.ndarray) -> str:
    """The recording under data_dir/audio/messages; its path relative to data_dir/audio."""
    directory = settings.data_path("audio", "messages")
    directory.mkdir(parents=True, exist_ok=True)
    name = f"message-{uuid.uuid4().hex}.wav"
    voice.write_wav(directory / name, audio, ASR_RATE)
    return f"messages/{name}"
